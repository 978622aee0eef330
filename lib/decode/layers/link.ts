/**
 * Link layers of the decoded-packet tree: Ethernet (+802.1Q/802.1ad tags, VN-Tag, 802.1ah PBB,
 * Cisco FabricPath), FDDI, Linux SLL and SLL2, NULL/LOOP, NFLOG and raw IP. Each hands the rest of the frame to the EtherType dispatcher.
 */
import { addLayer, stop, type LayerObject, type PacketContext } from './context.js'
import { macString, textString } from './format.js'
import { dispatchEtherType } from './dispatch.js'
import { decodeLlc } from './llc.js'
import * as L from '../constants/link-types.js'
import {
  ETHERNET_MAX_LENGTH, ETHERTYPE_FABRICPATH, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_PBB_ITAG, ETHERTYPE_VLAN, ETHERTYPE_VNTAG,
  etherTypes, isVlanTag,
} from '../constants/ethertypes.js'
import { MAX_VLAN_TAGS, nflogLittleEndian } from '../summary-link.js'

export function decodeLink(ctx: PacketContext, linktype: number): void {
  const { data } = ctx
  const end = data.length
  switch (linktype) {
    case L.LINKTYPE_ETHERNET: return ethernet(ctx, end)
    case L.LINKTYPE_FDDI: return fddi(ctx, end)
    case L.LINKTYPE_RAW: case L.LINKTYPE_RAW_BSD12: case L.LINKTYPE_RAW_BSD14: return rawIp(ctx, 0, end)
    case L.LINKTYPE_IPV4: return dispatchEtherType(ctx, ETHERTYPE_IPV4, 0, end)
    case L.LINKTYPE_IPV6: return dispatchEtherType(ctx, ETHERTYPE_IPV6, 0, end)
    case L.LINKTYPE_LINUX_SLL: {
      if (end < 16) return stop(ctx, 'Linux_SLL', 'truncated header', 0)
      const alen = data.readUInt16BE(4)
      const type = data.readUInt16BE(14)
      addLayer(ctx, 'Linux_SLL', {
        Packet_Type: data.readUInt16BE(0), ARPHRD_Type: data.readUInt16BE(2),
        Source_Address: macString(data, 6, Math.min(alen, 8)), Protocol: type,
      })
      return sllNext(ctx, type, 16, end)
    }
    case L.LINKTYPE_LINUX_SLL2: {
      if (end < 20) return stop(ctx, 'Linux_SLL2', 'truncated header', 0)
      const type = data.readUInt16BE(0)
      addLayer(ctx, 'Linux_SLL2', {
        Protocol: type, Interface_Index: data.readUInt32BE(4), ARPHRD_Type: data.readUInt16BE(8),
        Packet_Type: data[10], Source_Address: macString(data, 12, Math.min(data[11], 8)),
      })
      return sllNext(ctx, type, 20, end)
    }
    case L.LINKTYPE_NULL: case L.LINKTYPE_LOOP: {
      const name = linktype === L.LINKTYPE_NULL ? 'Null' : 'Loop'
      if (end < 4) return stop(ctx, name, 'truncated header', 0)
      let af = linktype === L.LINKTYPE_LOOP ? data.readUInt32BE(0) : data.readUInt32LE(0)
      if (af > 0xffff) af = data.readUInt32BE(0)
      addLayer(ctx, name, { Address_Family: af })
      if (af === L.AF_INET) return dispatchEtherType(ctx, ETHERTYPE_IPV4, 4, end)
      if (L.isAfInet6(af)) return dispatchEtherType(ctx, ETHERTYPE_IPV6, 4, end)
      return stop(ctx, name, `unknown address family ${af}`, 0)
    }
    case L.LINKTYPE_NFLOG: return nflog(ctx, end)
    default:
      return stop(ctx, 'Link', `unsupported link type ${linktype}`, 0)
  }
}

function ethernet(ctx: PacketContext, end: number): void {
  const { data } = ctx
  if (end < 14) return stop(ctx, 'Ethernet', 'truncated header', 0)
  let type = data.readUInt16BE(12)
  const eth: LayerObject = { Destination_Address: macString(data, 0), Source_Address: macString(data, 6) }
  addLayer(ctx, 'Ethernet', eth)
  Object.assign(eth, typeField(type))
  let off = 14
  // Tags and data-centre encapsulations, in any order and nesting (as summary-link.ts walks them).
  for (let tags = 0; ; tags++) {
    const name = tagLayerName(type)
    if (name === null) break
    if (tags >= MAX_VLAN_TAGS) return stop(ctx, name, 'too many tags', off)
    if (type === ETHERTYPE_VNTAG) {
      if (off + 6 > end) return stop(ctx, name, 'truncated tag', off)
      const w = data.readUInt32BE(off)
      type = data.readUInt16BE(off + 4)
      addLayer(ctx, name, {
        Direction: w >>> 31, Pointer: (w >>> 30) & 1, Destination_VIF: (w >>> 16) & 0x3fff, Looped: (w >>> 15) & 1,
        Version: (w >>> 12) & 3, Source_VIF: w & 0x0fff, ...typeField(type),
      })
      off += 6
    } else if (type === ETHERTYPE_PBB_ITAG) {
      if (off + 18 > end) return stop(ctx, name, 'truncated I-TAG', off)
      const w = data.readUInt32BE(off)
      type = data.readUInt16BE(off + 16)
      addLayer(ctx, name, {
        Priority: w >>> 29, DEI: (w >>> 28) & 1, UCA: (w >>> 27) & 1, I_SID: w & 0xffffff,
        Customer_Destination_Address: macString(data, off + 4), Customer_Source_Address: macString(data, off + 10), ...typeField(type),
      })
      off += 18
    } else if (type === ETHERTYPE_FABRICPATH) {
      if (off + 16 > end) return stop(ctx, name, 'truncated header', off)
      const w = data.readUInt16BE(off)
      type = data.readUInt16BE(off + 14)
      addLayer(ctx, name, {
        FTag: w >> 6, TTL: w & 0x3f,
        Inner_Destination_Address: macString(data, off + 2), Inner_Source_Address: macString(data, off + 8), ...typeField(type),
      })
      off += 16
    } else {
      if (off + 4 > end) return stop(ctx, name, 'truncated tag', off)
      const tci = data.readUInt16BE(off)
      type = data.readUInt16BE(off + 2)
      addLayer(ctx, name, { Priority: tci >> 13, DEI: (tci >> 12) & 1, VLAN_ID: tci & 0x0fff, ...typeField(type) })
      off += 4
    }
  }
  if (type <= ETHERNET_MAX_LENGTH) return decodeLlc(ctx, off, Math.min(end, off + type))
  dispatchEtherType(ctx, type, off, end)
}

function tagLayerName(type: number): string | null {
  if (type === ETHERTYPE_VLAN) return 'IEEE_802_1Q'
  if (isVlanTag(type)) return 'IEEE_802_1ad'
  if (type === ETHERTYPE_VNTAG) return 'VN_Tag'
  if (type === ETHERTYPE_PBB_ITAG) return 'IEEE_802_1ah'
  if (type === ETHERTYPE_FABRICPATH) return 'Cisco_FabricPath'
  return null
}

/** FDDI: frame control, then destination and source addresses as they are on the wire, then 802.2 LLC. */
function fddi(ctx: PacketContext, end: number): void {
  const { data } = ctx
  if (end < 13) return stop(ctx, 'FDDI', 'truncated header', 0)
  addLayer(ctx, 'FDDI', { Frame_Control: data[0], Destination_Address: macString(data, 1), Source_Address: macString(data, 7) })
  decodeLlc(ctx, 13, end)
}

/** An EtherType field, or the 802.3 length that takes its place. */
function typeField(type: number): LayerObject {
  if (type <= ETHERNET_MAX_LENGTH) return { Length: type }
  return { Type: type, Type_Name: etherTypes.name(type) ?? null }
}

/** SLL protocol values below 0x0600 are Linux's ETH_P_* pseudo-types: 0x0004 means an 802.2 LLC frame. */
function sllNext(ctx: PacketContext, type: number, off: number, end: number): void {
  if (type === 0x0004) return decodeLlc(ctx, off, end)
  dispatchEtherType(ctx, type, off, end)
}

function rawIp(ctx: PacketContext, off: number, end: number): void {
  if (off >= end) return stop(ctx, 'Raw', 'empty packet', off)
  const v = ctx.data[off] >> 4
  if (v === 4) return dispatchEtherType(ctx, ETHERTYPE_IPV4, off, end)
  if (v === 6) return dispatchEtherType(ctx, ETHERTYPE_IPV6, off, end)
  stop(ctx, 'Raw', `unknown IP version ${v}`, off)
}

/** NFLOG: header, then TLVs in the capturing host's byte order; the packet is NFULA_PAYLOAD. */
function nflog(ctx: PacketContext, end: number): void {
  const { data } = ctx
  if (end < 4) return stop(ctx, 'NFLOG', 'truncated header', 0)
  const little = nflogLittleEndian(data, end)
  const layer = addLayer(ctx, 'NFLOG', { Address_Family: data[0], Version: data[1], Resource_ID: data.readUInt16BE(2) })
  let off = 4
  for (let n = 0; off + 4 <= end && n < 64; n++) {
    const tlen = little ? data.readUInt16LE(off) : data.readUInt16BE(off)
    const ttype = (little ? data.readUInt16LE(off + 2) : data.readUInt16BE(off + 2)) & 0x7fff
    if (tlen < 4) return stop(ctx, 'NFLOG', 'bad TLV length', off)
    if (off + tlen > end) return stop(ctx, 'NFLOG', 'truncated TLV', off)
    const v = off + 4, vend = off + tlen
    if (ttype === L.NFULA_PREFIX) layer.Prefix = textString(data, v, vend)
    else if (ttype === L.NFULA_MARK && tlen >= 8) layer.Mark = data.readUInt32BE(v)
    else if (ttype === L.NFULA_IFINDEX_INDEV && tlen >= 8) layer.Input_Interface = data.readUInt32BE(v)
    else if (ttype === L.NFULA_IFINDEX_OUTDEV && tlen >= 8) layer.Output_Interface = data.readUInt32BE(v)
    else if (ttype === L.NFULA_UID && tlen >= 8) layer.UID = data.readUInt32BE(v)
    else if (ttype === L.NFULA_GID && tlen >= 8) layer.GID = data.readUInt32BE(v)
    else if (ttype === L.NFULA_PAYLOAD) {
      if (data[0] === L.AF_INET) return dispatchEtherType(ctx, ETHERTYPE_IPV4, v, vend)
      if (data[0] === L.AF_INET6_LINUX) return dispatchEtherType(ctx, ETHERTYPE_IPV6, v, vend)
      return rawIp(ctx, v, vend)
    }
    off += (tlen + 3) & ~3
  }
  stop(ctx, 'NFLOG', 'no payload TLV', off)
}

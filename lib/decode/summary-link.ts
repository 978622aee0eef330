/**
 * Link layers for the summary decoder: leaves the cursor on the network layer with its EtherType
 * (raw-IP link types are mapped to the IPv4/IPv6 EtherType from the version nibble).
 */
import type { PacketSummary } from './summary.js'
import type { DecodeCursor } from './cursor.js'
import * as L from './constants/link-types.js'
import {
  ETHERTYPE_FABRICPATH, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_PBB_ITAG, ETHERTYPE_VNTAG, ETHERNET_MAX_LENGTH, isVlanTag,
} from './constants/ethertypes.js'

/** More stacked tags than any real network uses: stops a crafted frame of repeated tags early. */
export const MAX_VLAN_TAGS = 8
/**
 * Decodes the frame in `data[c.offset, c.end)` (a whole buffer, or one record inside a receive
 * buffer or batch). Returns false (with out.error set, or with type -1 for a non-IP frame) when
 * there is no network layer to decode.
 */
export function decodeLinkSummary(linktype: number, data: Buffer, out: PacketSummary, c: DecodeCursor): boolean {
  const b = c.offset
  const len = c.end - b
  switch (linktype) {
    case L.LINKTYPE_ETHERNET: {
      if (len < 14) { out.error = 'ethernet: truncated header'; return false }
      const end = c.end
      let off = b + 12
      let type = (data[off] << 8) | data[off + 1]
      off += 2
      // Tags and data-centre encapsulations before the network layer, in any order and nesting.
      for (let tags = 0; ; tags++) {
        let skip: number
        if (isVlanTag(type)) {
          skip = 4
          if (off + 4 <= end) out.vlan = ((data[off] << 8) | data[off + 1]) & 0x0fff
        } else if (type === ETHERTYPE_VNTAG) {
          skip = 6
        } else if (type === ETHERTYPE_PBB_ITAG) {
          skip = 18 // I-TAG (priority, DEI, UCA, I-SID), customer destination and source
        } else if (type === ETHERTYPE_FABRICPATH) {
          skip = 16 // FTag and TTL, the original frame's destination and source
        } else {
          break
        }
        if (tags >= MAX_VLAN_TAGS) { out.error = `${tagLabel(type)}: too many tags`; return false }
        if (off + skip > end) { out.error = `${tagLabel(type)}: truncated ${skip === 4 ? 'tag' : 'header'}`; return false }
        type = (data[off + skip - 2] << 8) | data[off + skip - 1]
        off += skip
      }
      if (type <= ETHERNET_MAX_LENGTH) return llcSnap(data, off, end, c)
      c.offset = off; c.type = type
      return true
    }
    case L.LINKTYPE_FDDI:
      if (len < 13) { out.error = 'fddi: truncated header'; return false }
      return llcSnap(data, b + 13, c.end, c)
    case L.LINKTYPE_RAW: case L.LINKTYPE_RAW_BSD12: case L.LINKTYPE_RAW_BSD14:
      return rawIp(data, b, c.end, out, c)
    case L.LINKTYPE_IPV4:
      c.type = ETHERTYPE_IPV4; return true
    case L.LINKTYPE_IPV6:
      c.type = ETHERTYPE_IPV6; return true
    case L.LINKTYPE_LINUX_SLL:
      if (len < 16) { out.error = 'sll: truncated header'; return false }
      c.offset = b + 16; c.type = (data[b + 14] << 8) | data[b + 15]
      return true
    case L.LINKTYPE_LINUX_SLL2:
      if (len < 20) { out.error = 'sll2: truncated header'; return false }
      c.offset = b + 20; c.type = (data[b] << 8) | data[b + 1]
      return true
    case L.LINKTYPE_NULL: {
      if (len < 4) { out.error = 'null: truncated header'; return false }
      // Host byte order of the capturing machine: an AF value never needs the high 16 bits.
      let af = data.readUInt32LE(b)
      if (af > 0xffff) af = data.readUInt32BE(b)
      return afToType(af, 'null: unknown address family', out, c)
    }
    case L.LINKTYPE_LOOP:
      if (len < 4) { out.error = 'loop: truncated header'; return false }
      return afToType(data.readUInt32BE(b), 'loop: unknown address family', out, c)
    case L.LINKTYPE_NFLOG:
      return nflog(data, b, c.end, out, c)
    default:
      out.error = 'link: unsupported link type'
      return false
  }
}

function tagLabel(type: number): string {
  return type === ETHERTYPE_VNTAG ? 'vntag' : type === ETHERTYPE_PBB_ITAG ? 'pbb' : type === ETHERTYPE_FABRICPATH ? 'fabricpath' : 'vlan'
}

/** 802.2 LLC: only SNAP with an EtherType (OUI 0) leads to a network layer the summary knows. */
function llcSnap(data: Buffer, off: number, end: number, c: DecodeCursor): boolean {
  c.type = -1
  if (off + 8 <= end && data[off] === 0xaa && data[off + 1] === 0xaa && data[off + 2] === 0x03 &&
      data[off + 3] === 0 && data[off + 4] === 0 && data[off + 5] === 0) {
    c.offset = off + 8; c.type = (data[off + 6] << 8) | data[off + 7]
    return true
  }
  return false
}

function rawIp(data: Buffer, off: number, end: number, out: PacketSummary, c: DecodeCursor): boolean {
  if (off >= end) { out.error = 'raw: empty packet'; return false }
  const v = data[off] >> 4
  if (v === 4) c.type = ETHERTYPE_IPV4
  else if (v === 6) c.type = ETHERTYPE_IPV6
  else { out.error = 'raw: unknown IP version'; return false }
  c.offset = off
  return true
}

/** NULL/LOOP: the 4-byte address family header is followed by the IP packet. */
function afToType(af: number, unknown: string, out: PacketSummary, c: DecodeCursor): boolean {
  c.offset += 4
  if (af === L.AF_INET) { c.type = ETHERTYPE_IPV4; return true }
  if (L.isAfInet6(af)) { c.type = ETHERTYPE_IPV6; return true }
  out.error = unknown
  return false
}

/**
 * NFLOG (LINKTYPE_NFLOG): 4-byte header (family, version, resource id) then TLVs whose length and
 * type are in the capturing host's byte order, each padded to 4 bytes; the packet is NFULA_PAYLOAD.
 */
function nflog(data: Buffer, b: number, end: number, out: PacketSummary, c: DecodeCursor): boolean {
  if (end - b < 4) { out.error = 'nflog: truncated header'; return false }
  const family = data[b]
  const little = nflogLittleEndian(data, end, b)
  let off = b + 4
  for (let n = 0; off + 4 <= end && n < 64; n++) {
    const tlen = little ? data.readUInt16LE(off) : data.readUInt16BE(off)
    const ttype = (little ? data.readUInt16LE(off + 2) : data.readUInt16BE(off + 2)) & 0x7fff
    if (tlen < 4) { out.error = 'nflog: bad TLV length'; return false }
    if (off + tlen > end) { out.error = 'nflog: truncated TLV'; return false }
    if (ttype === L.NFULA_PAYLOAD) {
      c.end = off + tlen
      if (family === L.AF_INET) { c.offset = off + 4; c.type = ETHERTYPE_IPV4; return true }
      if (family === L.AF_INET6_LINUX) { c.offset = off + 4; c.type = ETHERTYPE_IPV6; return true }
      return rawIp(data, off + 4, c.end, out, c)
    }
    off += (tlen + 3) & ~3
  }
  out.error = 'nflog: no payload'
  return false
}

/** NFULA_* types are small (under 32 today); a larger one means the byte order guess is wrong. */
const NFULA_TYPE_LIMIT = 0x40

/**
 * Picks the TLV byte order: the one under which the first TLV's length fits the record and its
 * type is a plausible NFULA_* value (length alone is ambiguous for records over 2 KiB).
 */
export function nflogLittleEndian(data: Buffer, end: number, b = 0): boolean {
  const len = end - b
  if (len < 8) return true
  const fits = (tlen: number, ttype: number): boolean => tlen >= 4 && 4 + tlen <= len && (ttype & 0x7fff) < NFULA_TYPE_LIMIT
  if (fits(data.readUInt16LE(b + 4), data.readUInt16LE(b + 6))) return true
  return !fits(data.readUInt16BE(b + 4), data.readUInt16BE(b + 6))
}

import { LINKTYPE } from './linktypes.js'

/**
 * Where the IP packet starts inside a frame of `linktype`, so frames from any sender can go into a
 * LINKTYPE_RAW stream; -1 when the frame carries no IPv4/IPv6 (ARP, STP, 802.11 management...).
 */
export function ipOffset(linktype: number, d: Buffer): number {
  switch (linktype) {
    case LINKTYPE.RAW: case LINKTYPE.IPV4: case LINKTYPE.IPV6: case 12: case 14:
      return isIp(d, 0) ? 0 : -1
    case LINKTYPE.ETHERNET: {
      let o = 12
      let type = d.length >= 14 ? d.readUInt16BE(12) : 0
      // 802.1Q, 802.1ad and the old QinQ tag: skip each 4-byte tag.
      while ((type === 0x8100 || type === 0x88a8 || type === 0x9100) && o + 6 <= d.length) {
        o += 4
        type = d.readUInt16BE(o)
      }
      return ipByEthertype(type, d, o + 2)
    }
    case LINKTYPE.LINUX_SLL:
      return d.length >= 16 ? ipByEthertype(d.readUInt16BE(14), d, 16) : -1
    case LINKTYPE.LINUX_SLL2:
      return d.length >= 20 ? ipByEthertype(d.readUInt16BE(0), d, 20) : -1
    case LINKTYPE.NULL: case LINKTYPE.LOOP: {
      if (d.length < 4) return -1
      // NULL stores the address family in the writer's byte order; try both.
      const af = linktype === LINKTYPE.LOOP ? d.readUInt32BE(0) : d.readUInt32LE(0) > 0xffff ? d.readUInt32BE(0) : d.readUInt32LE(0)
      return af === 2 || af === 10 || af === 24 || af === 28 || af === 30 ? (isIp(d, 4) ? 4 : -1) : -1
    }
    case LINKTYPE.NFLOG:
      return nflogPayloadOffset(d)
    default:
      return -1
  }
}

/** Link types ipOffset() can unwrap: their IP packets fit a LINKTYPE_RAW or LINKTYPE_NFLOG stream. */
const IP_CARRIERS = new Set<number>([
  LINKTYPE.RAW, LINKTYPE.IPV4, LINKTYPE.IPV6, 12, 14, LINKTYPE.ETHERNET, LINKTYPE.LINUX_SLL,
  LINKTYPE.LINUX_SLL2, LINKTYPE.NULL, LINKTYPE.LOOP, LINKTYPE.NFLOG,
])

/** True when frames of `linktype` may carry IPv4/IPv6 that ipOffset() finds (a RAW stream keeps those). */
export function carriesIp(linktype: number): boolean {
  return IP_CARRIERS.has(linktype)
}

function isIp(d: Buffer, o: number): boolean {
  if (o >= d.length) return false
  const v = d[o]! >> 4
  return v === 4 || v === 6
}

function ipByEthertype(type: number, d: Buffer, o: number): number {
  return (type === 0x0800 || type === 0x86dd) && isIp(d, o) ? o : -1
}

/** Offset of NFULA_PAYLOAD's value in a whole LINKTYPE_NFLOG record (host-endian TLVs). */
export function nflogPayloadOffset(d: Buffer): number {
  let o = 4
  while (o + 4 <= d.length) {
    const len = d.readUInt16LE(o)
    const type = d.readUInt16LE(o + 2) & 0x3fff
    if (len < 4 || o + len > d.length) return -1
    if (type === 9) return isIp(d, o + 4) ? o + 4 : -1
    o += (len + 3) & ~3
  }
  return -1
}

/** Length of NFULA_PAYLOAD in a whole NFLOG record whose payload value starts at `off`. */
export function nflogPayloadLength(d: Buffer, off: number): number {
  return d.readUInt16LE(off - 4) - 4
}

/** A minimal LINKTYPE_NFLOG header (family from the IP version, version 0, group 0). */
export function writeSyntheticNflogHeader(b: Buffer, o: number, ipVersion: number): number {
  b[o] = ipVersion === 6 ? 10 : 2
  b[o + 1] = 0
  b.writeUInt16BE(0, o + 2)
  return o + 4
}

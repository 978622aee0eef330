/**
 * IPv4 and IPv6 (with its extension-header chain) for the summary decoder: fills addresses,
 * protocol and length, checks the IPv4 header checksum, and leaves the cursor on the transport.
 */
import type { PacketSummary } from './summary.js'
import { countChecksum, type DecodeCursor } from './cursor.js'
import { onesSum, sumIsValid } from './checksum.js'
import { IPPROTO_AH, IPPROTO_FRAGMENT, IPPROTO_HOPOPTS, IPPROTO_ROUTING, isIpv6ExtensionHeader } from './constants/ip-protocols.js'

/**
 * Upper bound on IPv6 extension headers walked in one packet. RFC 8200 allows each header once
 * (destination options twice); the bound turns a crafted chain into an error instead of a long walk.
 */
export const MAX_IPV6_EXT_HEADERS = 16

function copyBytes(src: Buffer, from: number, dst: Buffer, n: number): void {
  for (let i = 0; i < n; i++) dst[i] = src[from + i]
}

/** Returns true when a transport header follows at c.offset (type = protocol). */
export function decodeIpv4Summary(data: Buffer, out: PacketSummary, c: DecodeCursor, verify: boolean): boolean {
  const off = c.offset
  if (off + 20 > c.end) { out.error = 'ipv4: truncated header'; return false }
  if (data[off] >> 4 !== 4) { out.error = 'ipv4: bad version'; return false }
  const ihl = (data[off] & 0x0f) * 4
  const total = (data[off + 2] << 8) | data[off + 3]
  // The fixed 20 bytes are readable: keep addresses and protocol even if the options are damaged.
  out.ipVersion = 4
  copyBytes(data, off + 12, out.src, 4)
  copyBytes(data, off + 16, out.dst, 4)
  out.protocol = data[off + 9]
  out.ipLength = total
  if (ihl < 20) { out.error = 'ipv4: bad header length'; return false }
  if (off + ihl > c.end) { out.error = 'ipv4: truncated options'; return false }
  // Total length 0 is a segmentation-offload super-packet captured on the sending host (TSO, BIG
  // TCP): its real length is what was captured, and its checksums are left for the NIC to fill.
  const tso = total === 0
  if (verify) {
    if (tso) c.ckSkipped++
    else countChecksum(c, sumIsValid(onesSum(data, off, off + ihl, 0)))
  }
  if (!tso && total < ihl) { out.error = 'ipv4: bad total length'; return false }
  const frag = (data[off + 6] << 8) | data[off + 7]
  out.fragmented = (frag & 0x3fff) !== 0
  if ((frag & 0x1fff) !== 0) { out.fragment = true; return false }
  const ipEnd = tso ? c.end : off + total
  c.partial = tso || (frag & 0x2000) !== 0
  c.complete = !c.partial && ipEnd <= c.end
  if (ipEnd < c.end) c.end = ipEnd // link-layer padding is not part of the datagram
  c.srcOff = off + 12; c.dstOff = off + 16
  c.l4Length = ipEnd - off - ihl
  c.offset = off + ihl
  c.type = out.protocol
  return true
}

export function decodeIpv6Summary(data: Buffer, out: PacketSummary, c: DecodeCursor, verify: boolean): boolean {
  const off = c.offset
  if (off + 40 > c.end) { out.error = 'ipv6: truncated header'; return false }
  if (data[off] >> 4 !== 6) { out.error = 'ipv6: bad version'; return false }
  const plen = (data[off + 4] << 8) | data[off + 5]
  let nh = data[off + 6]
  out.ipVersion = 6
  copyBytes(data, off + 8, out.src, 16)
  copyBytes(data, off + 24, out.dst, 16)
  out.ipLength = 40 + plen
  out.protocol = nh
  let ipEnd = off + 40 + plen
  // Payload length 0 with hop-by-hop options is a jumbogram (RFC 2675, also Linux BIG TCP): the
  // length is in the Jumbo Payload option; without one, take what was captured, unverified.
  if (plen === 0 && nh === IPPROTO_HOPOPTS) {
    const jumbo = jumboPayloadLength(data, off + 40, c.end)
    if (jumbo >= 0) ipEnd = off + 40 + jumbo
    else { ipEnd = c.end; c.partial = true }
  }
  c.complete = !c.partial && ipEnd <= c.end
  if (ipEnd < c.end) c.end = ipEnd
  c.srcOff = off + 8; c.dstOff = off + 24
  let p = off + 40
  for (let n = 0; isIpv6ExtensionHeader(nh); n++) {
    if (n >= MAX_IPV6_EXT_HEADERS) { out.error = 'ipv6: too many extension headers'; return false }
    if (p + 8 > c.end) { out.error = 'ipv6: truncated extension header'; return false }
    const hlen = nh === IPPROTO_AH ? (data[p + 1] + 2) * 4 : nh === IPPROTO_FRAGMENT ? 8 : (data[p + 1] + 1) * 8
    if (p + hlen > c.end) { out.error = 'ipv6: extension header runs past the end'; return false }
    if (nh === IPPROTO_ROUTING) routingDestination(data, p, hlen, c)
    else if (nh === IPPROTO_FRAGMENT) {
      const fo = (data[p + 2] << 8) | data[p + 3]
      // Offset 0 without more fragments is an atomic fragment (RFC 6946): the whole datagram.
      out.fragmented = (fo & 0xfff9) !== 0
      if ((fo & 0xfff8) !== 0) { out.fragment = true; out.protocol = data[p]; return false }
      if ((fo & 1) !== 0) { c.partial = true; c.complete = false }
    }
    nh = data[p]
    p += hlen
  }
  out.protocol = nh
  c.l4Length = ipEnd - p
  c.offset = p
  c.type = nh
  return true
}

/** RFC 2675 Jumbo Payload option (type 0xC2, 4 bytes) in the hop-by-hop header at `p`: its length, or -1. */
export function jumboPayloadLength(data: Buffer, p: number, end: number): number {
  if (p + 8 > end) return -1
  const hend = Math.min(end, p + (data[p + 1] + 1) * 8)
  for (let o = p + 2; o < hend;) {
    const type = data[o]
    if (type === 0) { o++; continue }
    if (o + 2 > hend) return -1
    const len = data[o + 1]
    if (type === 0xc2 && len === 4 && o + 6 <= hend) return data.readUInt32BE(o + 2)
    o += 2 + len
  }
  return -1
}

/**
 * A routing header with segments left changes the destination the upper-layer checksum is computed
 * over (RFC 8200 section 8.1): the last address of type 0/2, the first segment of an SRH (type 4).
 */
function routingDestination(data: Buffer, p: number, hlen: number, c: DecodeCursor): void {
  const type = data[p + 2]
  if (data[p + 3] === 0 || hlen < 24) return
  if (type === 0 || type === 2) c.dstOff = p + hlen - 16
  else if (type === 4) c.dstOff = p + 8
}

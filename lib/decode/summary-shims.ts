/**
 * Headers between the link layer and IP for the summary decoder (MACsec, MPLS, PPPoE), plus the
 * bounds and constants the packet tree shares with it.
 */
import type { PacketSummary } from './summary.js'
import type { DecodeCursor } from './cursor.js'
import {
  ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_MACSEC, ETHERTYPE_MPLS, ETHERTYPE_MPLS_MULTICAST, ETHERTYPE_PPPOE_SESSION,
} from './constants/ethertypes.js'

/** More labels than any real network stacks: a crafted label stack stops here. */
export const MAX_MPLS_LABELS = 8
/** PPP protocol numbers of IPv4 and IPv6 inside PPPoE sessions. */
export const PPP_IPV4 = 0x0021
export const PPP_IPV6 = 0x0057

/** IEEE 802.1AE MACsec: the default cipher suites append a 16-byte integrity check value. */
export const MACSEC_ICV_LENGTH = 16

/** Outcomes of reading a MACsec SecTAG. */
export const MACSEC_READABLE = 0
export const MACSEC_PROTECTED = 1
export const MACSEC_TRUNCATED_TAG = 2
export const MACSEC_TRUNCATED_DATA = 3

/**
 * MACsec SecTAG at `off`: when the protected frame is readable (integrity only: neither E nor C
 * set) its bounds go to `bounds` and the result is MACSEC_READABLE; encrypted or modified frames
 * give MACSEC_PROTECTED, damaged ones a MACSEC_TRUNCATED_* code.
 */
export function macsecData(data: Buffer, off: number, end: number, bounds: { start: number; end: number }): number {
  if (off + 6 > end) return MACSEC_TRUNCATED_TAG
  const tci = data[off]
  const sl = data[off + 1] & 0x3f
  const start = off + ((tci & 0x20) !== 0 ? 14 : 6)
  if ((tci & 0x0c) !== 0) return MACSEC_PROTECTED
  // A short length (SL) gives the data length of short frames; otherwise the ICV ends the frame.
  const stop = sl !== 0 ? start + sl : end - MACSEC_ICV_LENGTH
  if (start + 2 > stop || stop + MACSEC_ICV_LENGTH > end) return MACSEC_TRUNCATED_DATA
  bounds.start = start; bounds.end = stop
  return MACSEC_READABLE
}

const macsecBounds = { start: 0, end: 0 }

/**
 * Shims between the link and IP: an integrity-only MACsec SecTAG, an MPLS label stack (the
 * payload's IP version read from its first nibble, as routers do) and a PPPoE session header.
 * Leaves the cursor on IP, or returns false.
 */
export function decodeShimSummary(data: Buffer, out: PacketSummary, c: DecodeCursor): boolean {
  if (c.type === ETHERTYPE_MACSEC) {
    const r = macsecData(data, c.offset, c.end, macsecBounds)
    if (r !== MACSEC_READABLE) {
      if (r === MACSEC_TRUNCATED_TAG) out.error = 'macsec: truncated SecTAG'
      else if (r === MACSEC_TRUNCATED_DATA) out.error = 'macsec: truncated secure data'
      return false
    }
    c.type = (data[macsecBounds.start] << 8) | data[macsecBounds.start + 1]
    c.offset = macsecBounds.start + 2
    c.end = macsecBounds.end
  }
  let off = c.offset
  const len = c.end
  if (c.type === ETHERTYPE_MPLS || c.type === ETHERTYPE_MPLS_MULTICAST) {
    for (let n = 0; ; n++) {
      if (n >= MAX_MPLS_LABELS) { out.error = 'mpls: too many labels'; return false }
      if (off + 4 > len) { out.error = 'mpls: truncated label'; return false }
      const bottom = (data[off + 2] & 1) === 1
      off += 4
      if (bottom) break
    }
    // Anything but IPv4/IPv6 (pseudowire control word, Ethernet over MPLS) is left undecoded.
    c.type = -1
    if (off < len) {
      const v = data[off] >> 4
      if (v === 4) c.type = ETHERTYPE_IPV4
      else if (v === 6) c.type = ETHERTYPE_IPV6
    }
    c.offset = off
    return c.type !== -1
  }
  if (c.type === ETHERTYPE_PPPOE_SESSION) {
    if (off + 8 > len) { out.error = 'pppoe: truncated header'; return false }
    const proto = (data[off + 6] << 8) | data[off + 7]
    c.offset = off + 8
    c.type = proto === PPP_IPV4 ? ETHERTYPE_IPV4 : proto === PPP_IPV6 ? ETHERTYPE_IPV6 : -1
    return c.type !== -1
  }
  return true
}

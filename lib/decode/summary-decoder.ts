/**
 * decodeSummary: one packet into a reused PacketSummary, with no allocation and no exceptions.
 * Link layer -> IPv4/IPv6 -> transport; each step stops with `error` = "<layer>: <reason>".
 */
import type { PacketSummary } from './summary.js'
import { createCursor, resetCursor } from './cursor.js'
import { decodeLinkSummary } from './summary-link.js'
import { decodeShimSummary } from './summary-shims.js'
import { decodeIpv4Summary, decodeIpv6Summary } from './summary-ip.js'
import { decodeTransportSummary } from './summary-transport.js'
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from './constants/ethertypes.js'

const cursor = createCursor()

/**
 * Decodes `data[start, end)` (one captured frame of link type `linktype`; the whole buffer unless
 * given) into `out`, overwriting every field. With `verifyChecksums`, out.checksum is 1 when every
 * checksum present was checked and good, -1 when any was bad, 0 when none could be checked (or not asked).
 */
export function decodeSummary(linktype: number, data: Buffer, out: PacketSummary, verifyChecksums: boolean, start = 0, end = data.length): void {
  out.linktype = linktype
  out.ipVersion = 0
  out.protocol = -1
  out.srcPort = 0; out.dstPort = 0
  out.tcpFlags = 0; out.tcpSeq = 0; out.tcpAck = 0
  out.tcpWindow = 0; out.tcpWscale = -1; out.tcpSackEdge = 0; out.tcpDataLength = 0
  out.icmpType = -1; out.icmpCode = -1
  out.ipLength = 0; out.payloadOffset = 0; out.payloadLength = 0
  out.fragment = false
  out.fragmented = false
  out.vlan = -1
  out.checksum = 0
  out.error = ''
  const c = cursor
  resetCursor(c, end)
  c.offset = start
  try {
    if (decodeLinkSummary(linktype, data, out, c) && decodeShimSummary(data, out, c)) {
      let ok = false
      if (c.type === ETHERTYPE_IPV4) ok = decodeIpv4Summary(data, out, c, verifyChecksums)
      else if (c.type === ETHERTYPE_IPV6) ok = decodeIpv6Summary(data, out, c, verifyChecksums)
      if (ok) decodeTransportSummary(data, out, c, verifyChecksums)
    }
  } catch {
    // Every read above is bounds-checked; this only guards against a decoder bug taking the pipeline down.
    out.error = 'decode: internal error'
  }
  if (verifyChecksums) out.checksum = c.ckBad > 0 ? -1 : c.ckGood > 0 && c.ckSkipped === 0 ? 1 : 0
}

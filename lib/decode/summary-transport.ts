/**
 * TCP, UDP, ICMP, ICMPv6 and IGMP for the summary decoder: ports, flags, TCP sequence numbers,
 * window and the options session tracking needs, echo ids, payload bounds
 * and the transport checksums (pseudo-header for TCP, UDP and ICMPv6). SCTP, DCCP and UDP-Lite
 * give their ports too, so sessions over them are told apart.
 */
import type { PacketSummary } from './summary.js'
import { countChecksum, type DecodeCursor } from './cursor.js'
import { readTcpOptions } from './tcp-options.js'
import { onesSum, pseudoSumV4, pseudoSumV6, sumIsValid } from './checksum.js'
import {
  IPPROTO_DCCP, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_IGMP, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE,
} from './constants/ip-protocols.js'
import { ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMPV6_ECHO_REPLY, ICMPV6_ECHO_REQUEST } from './constants/icmp-types.js'

function pseudo(data: Buffer, out: PacketSummary, c: DecodeCursor, proto: number, length: number): number {
  return out.ipVersion === 4
    ? pseudoSumV4(data, c.srcOff, c.dstOff, proto, length)
    : pseudoSumV6(data, c.srcOff, c.dstOff, proto, length)
}

/**
 * Checks a transport checksum over [off, off + length) when the whole message is present. DCCP and
 * UDP-Lite may cover only `covered` bytes, while their pseudo-header still states the full length.
 */
function verifyL4(data: Buffer, out: PacketSummary, c: DecodeCursor, off: number, length: number, usePseudo: boolean, covered = length): void {
  if (!c.complete || off + length > c.end) { c.ckSkipped++; return }
  sumL4(data, out, c, off, length, usePseudo, covered)
}

/** UDP states its own length: its checksum can be checked whenever the datagram itself was captured. */
function verifyUdp(data: Buffer, out: PacketSummary, c: DecodeCursor, off: number, ulen: number): void {
  if (c.partial || off + ulen > c.end) { c.ckSkipped++; return }
  sumL4(data, out, c, off, ulen, true, ulen)
}

function sumL4(data: Buffer, out: PacketSummary, c: DecodeCursor, off: number, length: number, usePseudo: boolean, covered: number): void {
  const start = usePseudo ? pseudo(data, out, c, c.type, length) : 0
  countChecksum(c, sumIsValid(onesSum(data, off, off + covered, start)))
}

export function decodeTransportSummary(data: Buffer, out: PacketSummary, c: DecodeCursor, verify: boolean): void {
  const off = c.offset
  const end = c.end
  switch (c.type) {
    case IPPROTO_TCP: {
      if (off + 20 > end) { out.error = 'tcp: truncated header'; return }
      out.srcPort = (data[off] << 8) | data[off + 1]
      out.dstPort = (data[off + 2] << 8) | data[off + 3]
      out.tcpSeq = data.readUInt32BE(off + 4)
      out.tcpAck = data.readUInt32BE(off + 8)
      out.tcpSackEdge = out.tcpAck
      out.tcpFlags = data[off + 13]
      out.tcpWindow = (data[off + 14] << 8) | data[off + 15]
      const doff = (data[off + 12] >> 4) * 4
      if (doff < 20) { out.error = 'tcp: bad data offset'; return }
      if (off + doff > end) { out.error = 'tcp: truncated options'; return }
      if (doff > c.l4Length) { out.error = 'tcp: header longer than IP payload'; return }
      out.payloadOffset = off + doff
      out.payloadLength = end - off - doff
      out.tcpDataLength = c.l4Length - doff
      if (doff > 20) readTcpOptions(data, off + 20, off + doff, out)
      if (verify) verifyL4(data, out, c, off, c.l4Length, true)
      return
    }
    case IPPROTO_UDP: {
      if (off + 8 > end) { out.error = 'udp: truncated header'; return }
      out.srcPort = (data[off] << 8) | data[off + 1]
      out.dstPort = (data[off + 2] << 8) | data[off + 3]
      const ulen = (data[off + 4] << 8) | data[off + 5]
      if (ulen < 8 || ulen > c.l4Length) { out.error = 'udp: bad length'; return }
      out.payloadOffset = off + 8
      out.payloadLength = Math.min(off + ulen, end) - off - 8
      if (!verify) return
      // A zero checksum over IPv4 means "not computed" (RFC 768); over IPv6 it is not allowed.
      if (((data[off + 6] << 8) | data[off + 7]) === 0) {
        if (out.ipVersion === 6) countChecksum(c, false)
        return
      }
      verifyUdp(data, out, c, off, ulen)
      return
    }
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6: {
      const v6 = c.type === IPPROTO_ICMPV6
      if (off + 4 > end) { out.error = v6 ? 'icmpv6: truncated header' : 'icmp: truncated header'; return }
      const type = data[off]
      out.icmpType = type
      out.icmpCode = data[off + 1]
      const echo = v6 ? type === ICMPV6_ECHO_REQUEST || type === ICMPV6_ECHO_REPLY : type === ICMP_ECHO_REQUEST || type === ICMP_ECHO_REPLY
      if (echo) {
        if (off + 8 > end) { out.error = v6 ? 'icmpv6: truncated echo header' : 'icmp: truncated echo header'; return }
        out.srcPort = out.dstPort = (data[off + 4] << 8) | data[off + 5]
      }
      // ICMPv6 always carries the pseudo-header; ICMP (v4) never does. ICMP inside IPv6 is still ICMP.
      if (verify) verifyL4(data, out, c, off, c.l4Length, v6)
      return
    }
    case IPPROTO_IGMP:
      if (off + 8 > end) { out.error = 'igmp: truncated header'; return }
      out.icmpType = data[off]
      out.icmpCode = data[off + 1]
      if (verify) verifyL4(data, out, c, off, c.l4Length, false)
      return
    case IPPROTO_SCTP:
      if (off + 12 > end) { out.error = 'sctp: truncated header'; return }
      out.srcPort = (data[off] << 8) | data[off + 1]
      out.dstPort = (data[off + 2] << 8) | data[off + 3]
      out.payloadOffset = off + 12
      out.payloadLength = end - off - 12
      // SCTP's checksum is a CRC32c, not the Internet checksum: present but not verified here.
      if (verify) c.ckSkipped++
      return
    case IPPROTO_DCCP: {
      if (off + 12 > end) { out.error = 'dccp: truncated header'; return }
      out.srcPort = (data[off] << 8) | data[off + 1]
      out.dstPort = (data[off + 2] << 8) | data[off + 3]
      const doff = data[off + 4] * 4
      if (doff < 12 || doff > c.l4Length) { out.error = 'dccp: bad data offset'; return }
      out.payloadOffset = Math.min(off + doff, end)
      out.payloadLength = end - out.payloadOffset
      // RFC 4340 9.2: CsCov 0 covers everything, else the header plus (CsCov - 1) words of data.
      const cscov = data[off + 5] & 0x0f
      const covered = cscov === 0 ? c.l4Length : Math.min(c.l4Length, doff + (cscov - 1) * 4)
      if (verify) verifyL4(data, out, c, off, c.l4Length, true, covered)
      return
    }
    case IPPROTO_UDPLITE: {
      if (off + 8 > end) { out.error = 'udplite: truncated header'; return }
      out.srcPort = (data[off] << 8) | data[off + 1]
      out.dstPort = (data[off + 2] << 8) | data[off + 3]
      const cov = (data[off + 4] << 8) | data[off + 5]
      // RFC 3828 3.1: coverage 0 = the whole datagram; 1..7 and beyond the datagram are illegal.
      if ((cov > 0 && cov < 8) || cov > c.l4Length) { out.error = 'udplite: bad checksum coverage'; return }
      out.payloadOffset = off + 8
      out.payloadLength = end - off - 8
      if (verify) verifyL4(data, out, c, off, c.l4Length, true, cov === 0 ? c.l4Length : cov)
      return
    }
    default:
      return
  }
}

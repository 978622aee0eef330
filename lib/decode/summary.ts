/**
 * The per-packet facts that session tracking and filters need, filled in place by the decoder
 * (one reusable object, no allocation per packet). The full protocol object tree for `--packets`
 * is a separate, allocating path.
 */
export interface PacketSummary {
  /** Link type the packet was decoded from (LINKTYPE_*). */
  linktype: number
  /** 0 when no IP layer was found (ARP, STP, LLDP...), else 4 or 6. */
  ipVersion: 0 | 4 | 6
  /** Source and destination addresses: the first 4 (IPv4) or 16 (IPv6) bytes are valid. Reused buffers. */
  src: Buffer
  dst: Buffer
  /** IP protocol number of the transport (after IPv6 extension headers), -1 when none. */
  protocol: number
  /** TCP/UDP ports; ICMP/ICMPv6 echo: srcPort = dstPort = identifier. 0 when absent. */
  srcPort: number
  dstPort: number
  /** TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20, ECE 0x40, CWR 0x80). */
  tcpFlags: number
  tcpSeq: number
  tcpAck: number
  /** TCP window field as sent (unscaled). */
  tcpWindow: number
  /** TCPOPT_WINDOW shift count as sent (not yet capped at 14), -1 without the option. */
  tcpWscale: number
  /** The ack, or the highest SACK right edge beyond it (conntrack's `sack`). */
  tcpSackEdge: number
  /** Bytes of TCP data the IP header announces (whatever was captured of them). */
  tcpDataLength: number
  /** ICMP/ICMPv6 type and code, -1 when not ICMP. */
  icmpType: number
  icmpCode: number
  /** Bytes of the IP packet (IP header + payload) as the IP header states it, 0 without IP. */
  ipLength: number
  /** Offset and length, within the packet buffer, of the transport payload (TCP/UDP data). */
  payloadOffset: number
  payloadLength: number
  /** True for a non-first IP fragment (no transport header in this packet). */
  fragment: boolean
  /** True for any piece of a fragmented IP datagram, the first (which has the ports) included. */
  fragmented: boolean
  /** 802.1Q VLAN id of the innermost tag, -1 when untagged. */
  vlan: number
  /** Checksums of every verified layer: 1 all good, 0 not verifiable (truncated, offloaded), -1 some bad. */
  checksum: -1 | 0 | 1
  /** Empty when the packet decoded fully, else where and why decoding stopped ("tcp: truncated header"). */
  error: string
}

export function createSummary(): PacketSummary {
  return {
    linktype: 0, ipVersion: 0, src: Buffer.alloc(16), dst: Buffer.alloc(16), protocol: -1,
    srcPort: 0, dstPort: 0, tcpFlags: 0, tcpSeq: 0, tcpAck: 0,
    tcpWindow: 0, tcpWscale: -1, tcpSackEdge: 0, tcpDataLength: 0, icmpType: -1, icmpCode: -1,
    ipLength: 0, payloadOffset: 0, payloadLength: 0, fragment: false, fragmented: false, vlan: -1, checksum: 0, error: '',
  }
}

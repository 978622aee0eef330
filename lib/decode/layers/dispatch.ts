/** Hands a layer's payload to the decoder named by an EtherType or an IP protocol number. */
import type { PacketContext } from './context.js'
import { decodeIpv4 } from './ipv4.js'
import { decodeIpv6 } from './ipv6.js'
import { decodeArp } from './arp.js'
import { decodeLldp } from './lldp.js'
import { decodeCdp } from './cdp.js'
import { decodeTcp } from './tcp.js'
import { decodeUdp } from './udp.js'
import { decodeIcmp, decodeIcmpv6 } from './icmp.js'
import { decodeIgmp } from './igmp.js'
import { decodeDccp, decodeSctp, decodeUdpLite } from './other-transports.js'
import { decodeMacsec, decodeMpls, decodePppoeSession } from './shims.js'
import * as E from '../constants/ethertypes.js'
import * as P from '../constants/ip-protocols.js'

export function dispatchEtherType(ctx: PacketContext, type: number, off: number, end: number): void {
  switch (type) {
    case E.ETHERTYPE_IPV4: return decodeIpv4(ctx, off, end)
    case E.ETHERTYPE_IPV6: return decodeIpv6(ctx, off, end)
    case E.ETHERTYPE_ARP: case E.ETHERTYPE_RARP: return decodeArp(ctx, off, end)
    case E.ETHERTYPE_LLDP: return decodeLldp(ctx, off, end)
    case E.ETHERTYPE_CDP_DTP: return decodeCdp(ctx, off, end)
    case E.ETHERTYPE_MPLS: case E.ETHERTYPE_MPLS_MULTICAST: return decodeMpls(ctx, off, end)
    case E.ETHERTYPE_PPPOE_SESSION: return decodePppoeSession(ctx, off, end)
    case E.ETHERTYPE_MACSEC: return decodeMacsec(ctx, off, end)
    default: return
  }
}

/** Tunnels nest at most this deep: a crafted packet of IP-in-IP-in-IP... stops here. */
export const MAX_IP_NESTING = 4
let depth = 0

function nested(ctx: PacketContext, decode: () => void): void {
  if (depth >= MAX_IP_NESTING) return
  depth++
  try { decode() } finally { depth-- }
}

export function dispatchIpProtocol(ctx: PacketContext, proto: number, off: number, end: number): void {
  switch (proto) {
    case P.IPPROTO_TCP: return decodeTcp(ctx, off, end)
    case P.IPPROTO_UDP: return decodeUdp(ctx, off, end)
    case P.IPPROTO_ICMP: return decodeIcmp(ctx, off, end)
    case P.IPPROTO_ICMPV6: return decodeIcmpv6(ctx, off, end)
    case P.IPPROTO_IGMP: return decodeIgmp(ctx, off, end)
    case P.IPPROTO_SCTP: return decodeSctp(ctx, off, end)
    case P.IPPROTO_DCCP: return decodeDccp(ctx, off, end)
    case P.IPPROTO_UDPLITE: return decodeUdpLite(ctx, off, end)
    // IP-in-IP and IPv6-in-IP (also what an SRv6 segment list carries): the inner packet is decoded
    // as "IPv4_2"/"IPv6_2" with its own transport; the summary (sessions) stays on the outer header.
    case P.IPPROTO_IPIP: return nested(ctx, () => decodeIpv4(ctx, off, end))
    case P.IPPROTO_IPV6: return nested(ctx, () => decodeIpv6(ctx, off, end))
    default: return
  }
}

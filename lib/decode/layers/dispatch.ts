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
import * as E from '../constants/ethertypes.js'
import * as P from '../constants/ip-protocols.js'

export function dispatchEtherType(ctx: PacketContext, type: number, off: number, end: number): void {
  switch (type) {
    case E.ETHERTYPE_IPV4: return decodeIpv4(ctx, off, end)
    case E.ETHERTYPE_IPV6: return decodeIpv6(ctx, off, end)
    case E.ETHERTYPE_ARP: case E.ETHERTYPE_RARP: return decodeArp(ctx, off, end)
    case E.ETHERTYPE_LLDP: return decodeLldp(ctx, off, end)
    case E.ETHERTYPE_CDP_DTP: return decodeCdp(ctx, off, end)
    default: return
  }
}

export function dispatchIpProtocol(ctx: PacketContext, proto: number, off: number, end: number): void {
  switch (proto) {
    case P.IPPROTO_TCP: return decodeTcp(ctx, off, end)
    case P.IPPROTO_UDP: return decodeUdp(ctx, off, end)
    case P.IPPROTO_ICMP: return decodeIcmp(ctx, off, end)
    case P.IPPROTO_ICMPV6: return decodeIcmpv6(ctx, off, end)
    case P.IPPROTO_IGMP: return decodeIgmp(ctx, off, end)
    default: return
  }
}

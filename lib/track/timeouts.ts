import { TCP_DEFAULT_TIMEOUTS } from './tcp-states.js'

/**
 * Idle timeouts in seconds. TCP per conntrack state (nf_conntrack_tcp_timeout_*), UDP per
 * responder port with a default (DNS 30 s, else 120 s), ICMP as nf_conntrack_icmp_timeout (30 s),
 * other IP protocols as nf_conntrack_generic_timeout (600 s).
 */
export interface Timeouts {
  tcp: number[]
  udp: number
  udpPorts: Map<number, number>
  icmp: number
  other: number
}

export function defaultTimeouts(): Timeouts {
  return {
    tcp: TCP_DEFAULT_TIMEOUTS.slice(),
    udp: 120,
    udpPorts: new Map([[53, 30], [5353, 30]]),
    icmp: 30,
    other: 600,
  }
}

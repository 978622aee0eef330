import type { SessionAdmission } from '../track/tracker.js'
import { cidrContains, type Cidr } from './cidr.js'
import type { FilterConfig } from './config.js'
import { compileGlob } from './glob.js'

/**
 * PokieStream's filter semantics, decided once per session from the originator's side:
 * - protocol: tcp/udp/icmp (icmp covers ICMPv6 too; icmpv6 alone just ICMPv6), ip/all = every IP protocol;
 * - source/destination: when neither is set everything passes; otherwise the originator must be
 *   in `source` OR the responder in `destination` (both, with strict: true); a list left unset
 *   never matches;
 * - port: the responder's port must be listed (TCP/UDP only, as PokieStream does);
 * - payload.dns: for UDP sessions to one of its ports, the first query's name must match one of
 *   the globs (when any are listed).
 * Returns null when the config sets none of these (no per-session work).
 */
export function compileSessionFilter(f: FilterConfig): SessionAdmission | null {
  const hasAddr = f.source !== null || f.destination !== null
  const dnsOn = f.dns.enabled
  if (f.protocol === null && !hasAddr && f.port === null && !dnsOn) return null
  let protos: Set<number> | null = null
  if (f.protocol !== null && !f.protocol.includes('all') && !f.protocol.includes('ip')) {
    protos = new Set()
    for (const p of f.protocol) {
      if (p === 'tcp') protos.add(6)
      else if (p === 'udp') protos.add(17)
      else if (p === 'icmp') { protos.add(1); protos.add(58) }
      else if (p === 'icmpv6') protos.add(58)
      // arp: accepted for compatibility; ARP frames carry no IP session.
    }
  }
  const src = f.source ?? []
  const dst = f.destination ?? []
  const inList = (l: Cidr[], v: number, a: Uint8Array) => {
    for (const c of l) if (cidrContains(c, v, a)) return true
    return false
  }
  const ports = f.port === null ? null : new Set(f.port)
  const globs = f.dns.match.map(compileGlob)
  return {
    protocol: (p) => protos === null || protos.has(p),
    endpoints(v, s, d, proto, dstPort) {
      if (hasAddr) {
        const a = inList(src, v, s)
        const b = inList(dst, v, d)
        if (f.strict ? !(a && b) : !(a || b)) return false
      }
      if (ports !== null && (proto === 6 || proto === 17) && dstPort >= 0 && !ports.has(dstPort)) return false
      return true
    },
    dnsPorts: dnsOn ? new Set(f.dns.ports) : null,
    dnsName(name) {
      // Not a DNS question on a DNS port: PokieStream logs it without a payload.
      if (name === null || globs.length === 0) return true
      const n = name.toLowerCase()
      return globs.some((g) => g.test(n))
    },
  }
}

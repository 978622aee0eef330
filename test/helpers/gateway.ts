/**
 * A gateway for capture tests: two namespaces linked by veth, with offloads and pacing set, and
 * the kernel's own count of what NFLOG rules matched, to compare every delivered count with.
 */
import { createNetns, linkNetns, type Netns } from './netns.js'

export interface RuleCount { packets: number; bytes: number }

/** nfnetlink_log's NFULNL_COPY_RANGE_MAX: 0xFFFF less an attribute header. */
export const NFULNL_COPY_RANGE_MAX = 0xffff - 4

/** What the NFLOG rules of `group` in `ns` matched, IPv4 and IPv6 tables together (iptables-save -c). */
export function ruleCount(ns: Netns, group: number): RuleCount {
  let packets = 0
  let bytes = 0
  for (const save of ['iptables-save', 'ip6tables-save']) {
    for (const line of ns.exec(save, ['-c']).split('\n')) {
      const m = /^\[(\d+):(\d+)\] .*--nflog-group (\d+)\b/.exec(line)
      if (m && Number(m[3]) === group) {
        packets += Number(m[1])
        bytes += Number(m[2])
      }
    }
  }
  return { packets, bytes }
}

/**
 * Offloads on: GSO/TSO and GRO (veth does GRO only when asked), so the stack hands netfilter
 * super-packets up to 64 KiB. Off: local TCP builds GSO packets whatever the device says, so also
 * allow one segment per GSO packet (gso_max_segs) so OUTPUT sees MTU-size segments too. The link is paced at
 * 1 Gbit/s (tbf), a gateway's uplink: the unpaced maximum is the benchmark's business.
 */
export function offloads(ns: Netns, dev: string, on: boolean, mtu: number): void {
  const v = on ? 'on' : 'off'
  ns.exec('ethtool', ['-K', dev, 'tso', v, 'gso', v, 'gro', v])
  if (!on) ns.exec('ip', ['link', 'set', dev, 'gso_max_segs', '1'])
  ns.exec('tc', ['qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', '1gbit', 'burst', '256kb', 'latency', '50ms'])
}

/** The veth names linkNetns gave, read back from each namespace. */
export function vethOf(ns: Netns): string[] {
  return ns.exec('ip', ['-o', 'link', 'show', 'type', 'veth']).split('\n').filter(Boolean).map((l) => l.split(': ')[1]!.split('@')[0]!)
}

/** Two namespaces, `a` with NFLOG rules on OUTPUT and INPUT for everything on its veth. */
export function pair(group: number, on: boolean, mtu = 1500) {
  const a = createNetns('pzpa')
  const b = createNetns('pzpb')
  const remove = () => { a.remove(); b.remove() }
  try {
    const addrs = linkNetns(a, b, 40 + (group % 200))
    const [va] = vethOf(a)
    const [vb] = vethOf(b)
    for (const [ns, dev] of [[a, va!], [b, vb!]] as const) {
      ns.exec('ip', ['link', 'set', dev, 'mtu', String(mtu)])
      offloads(ns, dev, on, mtu)
    }
    return { a, b, va: va!, vb: vb!, addrs, remove }
  } catch (err) {
    remove() // the caller has no handle to clean up yet
    throw err
  }
}


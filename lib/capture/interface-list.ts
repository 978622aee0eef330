import { readdirSync, readFileSync } from 'node:fs'
import { networkInterfaces } from 'node:os'
import { linktypeName } from '../pcap/linktypes.js'
import { interfaceLinktype } from './arphrd.js'

/**
 * --list-interfaces and --list-gateways, from the kernel's own views: /sys/class/net for the
 * interfaces (index, hardware type, state, MTU), the addresses as Node reads them with
 * getifaddrs(3), and the default routes from /proc/net/route and /proc/net/ipv6_route.
 */
export interface InterfaceInfo {
  name: string
  index: number
  /** The link type an iface: capture of it writes (LINKTYPE_* name). */
  linktype: string
  /** operstate: up, down, unknown (loopback, tun), dormant... */
  state: string
  mtu: number
  /** CIDR notation, IPv4 first. */
  addresses: string[]
}

const readNum = (path: string) => Number(readFileSync(path, 'utf8').trim())

export function listInterfaces(): InterfaceInfo[] {
  const addrs = networkInterfaces()
  const out: InterfaceInfo[] = []
  for (const name of readdirSync('/sys/class/net')) {
    const base = `/sys/class/net/${name}`
    let index: number
    try { index = readNum(`${base}/ifindex`) } catch { continue } // gone since readdir
    const arphrd = readNum(`${base}/type`)
    const list = (addrs[name] ?? []).slice().sort((a, b) => (a.family === b.family ? 0 : a.family === 'IPv4' ? -1 : 1))
    out.push({
      name, index, linktype: linktypeName(interfaceLinktype(arphrd).linktype),
      state: readFileSync(`${base}/operstate`, 'utf8').trim(), mtu: readNum(`${base}/mtu`),
      addresses: list.map((a) => a.cidr ?? a.address),
    })
  }
  return out.sort((a, b) => a.index - b.index)
}

export interface GatewayInfo { family: 'IPv4' | 'IPv6'; gateway: string; iface: string; metric: number }

/** Default routes (destination 0.0.0.0/0 or ::/0) of the main table, lowest metric first per family. */
export function listGateways(): GatewayInfo[] {
  const out: GatewayInfo[] = []
  try {
    // Iface Destination Gateway Flags RefCnt Use Metric Mask ...: hex, in host (little-endian) order.
    for (const line of readFileSync('/proc/net/route', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f.length < 8 || f[1] !== '00000000' || f[7] !== '00000000') continue
      const g = Number.parseInt(f[2]!, 16)
      out.push({ family: 'IPv4', gateway: [g & 255, (g >>> 8) & 255, (g >>> 16) & 255, g >>> 24].join('.'), iface: f[0]!, metric: Number(f[6]) })
    }
  } catch { /* no IPv4 */ }
  try {
    // dest prefixlen src srclen nexthop metric refcnt use flags iface: dest and nexthop as 32 hex digits.
    for (const line of readFileSync('/proc/net/ipv6_route', 'utf8').split('\n')) {
      const f = line.trim().split(/\s+/)
      if (f.length < 10 || !/^0{32}$/.test(f[0]!) || f[1] !== '00') continue
      // RTF_REJECT: the unreachable catch-all routes, not a way out.
      if ((Number.parseInt(f[8]!, 16) & 0x0200) !== 0) continue
      out.push({ family: 'IPv6', gateway: ipv6Text(f[4]!), iface: f[9]!, metric: Number.parseInt(f[5]!, 16) })
    }
  } catch { /* no IPv6 */ }
  return out.sort((a, b) => (a.family === b.family ? a.metric - b.metric : a.family === 'IPv4' ? -1 : 1))
}

function ipv6Text(hex: string): string {
  const groups = hex.match(/.{4}/g)!.map((g) => Number.parseInt(g, 16).toString(16))
  // The longest run of zero groups becomes "::" (RFC 5952).
  let best = -1
  let bestLen = 1
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') { i++; continue }
    let j = i
    while (j < 8 && groups[j] === '0') j++
    if (j - i > bestLen) { best = i; bestLen = j - i }
    i = j
  }
  if (best < 0) return groups.join(':')
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`
}

/** The listing as printed: one line per interface, columns aligned. */
export function formatInterfaces(list: InterfaceInfo[]): string {
  const rows = [['INDEX', 'NAME', 'LINKTYPE', 'STATE', 'MTU', 'ADDRESSES'], ...list.map((i) => [String(i.index), i.name, i.linktype, i.state, String(i.mtu), i.addresses.join(' ')])]
  return table(rows)
}

export function formatGateways(list: GatewayInfo[]): string {
  return table([['FAMILY', 'GATEWAY', 'INTERFACE', 'METRIC'], ...list.map((g) => [g.family, g.gateway, g.iface, String(g.metric)])])
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)))
  return rows.map((r) => r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c]!))).join('  ').trimEnd()).join('\n') + '\n'
}

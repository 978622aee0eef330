import { isIP } from 'node:net'
import { userError } from '../util/errors.js'

/**
 * The one tcpdump expression a live capture's kernel filter is compiled from: the user's --bpf,
 * PacketStreamer's port lists (capturePorts / ignorePorts under pcapMode Allow / Deny / All) and
 * the exclusion of the tool's own connection, joined by `and`.
 */
export type PcapMode = 'allow' | 'deny' | 'all'

export interface CaptureExpressionParts {
  bpf?: string
  capturePorts?: number[]
  ignorePorts?: number[]
  /** Which list applies; both when not given (each only when non-empty). */
  pcapMode?: PcapMode
  /** A `not (...)` clause from ownTrafficExpression, or ''. */
  exclude?: string
}

function anyPort(ports: number[]): string {
  const list = ports.map((p) => `port ${p}`)
  return list.length === 1 ? list[0]! : `(${list.join(' or ')})`
}

/**
 * `--capture-ports 80,443` -> `(tcp or udp) and (port 80 or port 443)`, `--ignore-ports 22` ->
 * `not ((tcp or udp) and port 22)`, the user's expression in parentheses (it may hold an `or`),
 * all joined by `and`; '' captures everything.
 */
export function captureExpression(p: CaptureExpressionParts): string {
  const mode = p.pcapMode
  const allow = mode === 'deny' || mode === 'all' ? [] : p.capturePorts ?? []
  const deny = mode === 'allow' || mode === 'all' ? [] : p.ignorePorts ?? []
  if (mode === 'allow' && !p.capturePorts?.length) throw userError('--pcap-mode allow needs --capture-ports', 'EUSAGE')
  if (mode === 'deny' && !p.ignorePorts?.length) throw userError('--pcap-mode deny needs --ignore-ports', 'EUSAGE')
  const parts: string[] = []
  const bpf = p.bpf?.trim() ?? ''
  if (bpf) parts.push(`(${bpf})`)
  if (allow.length) parts.push(`(tcp or udp) and ${anyPort(allow)}`)
  if (deny.length) parts.push(`not ((tcp or udp) and ${anyPort(deny)})`)
  if (p.exclude) parts.push(p.exclude)
  return parts.length === 1 && bpf ? bpf : parts.join(' and ')
}

/** "80,443" or [80, 443] -> [80, 443]; each 1-65535. */
export function parsePorts(name: string, v: unknown): number[] {
  const items = Array.isArray(v) ? v.map(String) : String(v).split(',')
  const ports = items.map((s) => s.trim()).filter((s) => s !== '')
  if (ports.length === 0 || ports.some((s) => !/^\d+$/.test(s) || Number(s) < 1 || Number(s) > 65535)) {
    throw userError(`--${name} expects ports 1-65535 like 80,443, got ${JSON.stringify(v)}`, 'EUSAGE')
  }
  return [...new Set(ports.map(Number))]
}

/** One TCP connection's far end and, when known, the local address it leaves from. */
export interface OwnConnection {
  remote: string
  port: number
  local: string | null
}

/**
 * Leaves the tool's own TCP connections out: packets from the local address to the remote end's
 * port and back. The local port is not in it: ZeroMQ picks a fresh one on every reconnect, after
 * the filter is attached. Without a local address the remote end and port alone are left out.
 */
export function ownTrafficExpression(conns: OwnConnection[]): string {
  if (conns.length === 0) return ''
  const h = (kind: string, addr: string) => `${kind} host ${addr}`
  const each = conns.map((c) => {
    if (!isIP(c.remote) || (c.local !== null && !isIP(c.local))) throw userError(`not an IP address: ${c.local ?? c.remote}`, 'EUSAGE')
    if (c.local === null) return `(host ${c.remote} and port ${c.port})`
    return `(${h('src', c.local)} and ${h('dst', c.remote)} and dst port ${c.port}) or (${h('src', c.remote)} and src port ${c.port} and ${h('dst', c.local)})`
  })
  return `not (tcp and (${each.join(' or ')}))`
}

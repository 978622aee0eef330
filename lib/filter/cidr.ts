import { isIPv4, isIPv6 } from 'node:net'

/** An address block: `bytes` (4 or 16) masked to `prefix` bits. */
export interface Cidr {
  version: 4 | 6
  bytes: Uint8Array
  prefix: number
}

/** Bytes of an IPv4 or IPv6 address text, or null. */
export function parseIp(text: string): Uint8Array | null {
  if (isIPv4(text)) return Uint8Array.from(text.split('.').map(Number))
  if (!isIPv6(text)) return null
  let s = text.split('%')[0]
  const out = new Uint8Array(16)
  // A dotted IPv4 tail stands for the last two groups.
  const dot = s.lastIndexOf(':')
  const tail = s.slice(dot + 1)
  let tailGroups: number[] = []
  if (tail.includes('.')) {
    const b = tail.split('.').map(Number)
    tailGroups = [(b[0] << 8) | b[1], (b[2] << 8) | b[3]]
    s = s.slice(0, dot + 1) + '0:0'
  }
  const [head, rest] = s.includes('::') ? s.split('::') : [s, null]
  const h = head ? head.split(':').map((g) => parseInt(g, 16)) : []
  const r = rest ? rest.split(':').map((g) => parseInt(g, 16)) : []
  const groups = rest === null ? h : [...h, ...new Array(8 - h.length - r.length).fill(0), ...r]
  if (tailGroups.length) { groups[6] = tailGroups[0]; groups[7] = tailGroups[1] }
  for (let i = 0; i < 8; i++) { out[2 * i] = groups[i] >>> 8; out[2 * i + 1] = groups[i] & 0xff }
  return out
}

/**
 * Python ipaddress.ip_network(text) rules, as PokieStream validates its filters: an address or
 * address/prefix, and no host bits set beyond the prefix. Returns the reason when invalid.
 */
export function parseCidr(text: string): Cidr | string {
  const slash = text.indexOf('/')
  const addr = slash < 0 ? text : text.slice(0, slash)
  const bytes = parseIp(addr.trim())
  if (!bytes) return 'is not an IP address or CIDR'
  const version = bytes.length === 4 ? 4 : 6
  const max = version === 4 ? 32 : 128
  let prefix = max
  if (slash >= 0) {
    const p = text.slice(slash + 1)
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) return `has a bad prefix length (0-${max})`
    prefix = Number(p)
  }
  for (let bit = prefix; bit < max; bit++) {
    if (bytes[bit >> 3] & (0x80 >> (bit & 7))) return 'has host bits set beyond the prefix'
  }
  return { version, bytes, prefix }
}

/** Whether the first 4 or 16 bytes of `addr` (an IPv4 or IPv6 address) fall in `c`. */
export function cidrContains(c: Cidr, ipVersion: number, addr: Uint8Array): boolean {
  if (c.version !== ipVersion) return false
  const full = c.prefix >> 3
  for (let i = 0; i < full; i++) if (addr[i] !== c.bytes[i]) return false
  const rem = c.prefix & 7
  if (rem === 0) return true
  const mask = (0xff << (8 - rem)) & 0xff
  return (addr[full] & mask) === c.bytes[full]
}

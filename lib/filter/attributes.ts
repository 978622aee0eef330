/**
 * The network monitor client's nested attribute filters, e.g.
 *   {"IPv4": {"Source_Address": "127.0.0.1"}, "TCP": {"Destination_Port": 5000}}
 * evaluated against decodePacket's output. Every listed protocol must be present and every listed
 * attribute must match; `{}` for a protocol means "present". The shape is checked once, up front.
 */
import type { DecodedPacket, FieldValue } from '../decode/packet.js'
import { fieldsOf, PACKET_FIELDS } from '../decode/fields.js'
import { userError } from '../util/errors.js'

type Scalar = string | number | boolean | null
type Matcher = (value: FieldValue | undefined) => boolean

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function bad(path: string, why: string): never {
  throw userError(`filter: ${path}: ${why}`, 'ECONFIG')
}

/** Text values compare case-insensitively, IPv6 addresses in their canonical (RFC 5952) form. */
function normalText(s: string): string {
  const t = s.trim().toLowerCase()
  if (t.includes(':') && /^[0-9a-f:.]+$/.test(t) && !/^([0-9a-f]{2}:)+[0-9a-f]{2}$/.test(t)) {
    try { return new URL(`http://[${t}]/`).hostname.slice(1, -1) } catch { return t }
  }
  return t
}

function scalarMatcher(want: Scalar): (got: FieldValue | undefined) => boolean {
  if (typeof want === 'string') {
    const w = normalText(want)
    const asNumber = /^-?\d+(\.\d+)?$/.test(want.trim()) ? Number(want) : NaN
    // Exact text first: the common case needs no normalising per packet.
    return (got) => (typeof got === 'string' ? got === want || normalText(got) === w : typeof got === 'number' && got === asNumber)
  }
  if (typeof want === 'number') return (got) => got === want || (typeof got === 'string' && got.trim() !== '' && Number(got) === want)
  return (got) => got === want
}

function compileValue(v: unknown, path: string): Matcher {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
    const m = scalarMatcher(v)
    // A list attribute (TCP Flags, CDP Addresses) matches a single value it contains.
    return (got) => (Array.isArray(got) ? got.some((g) => m(g)) : m(got))
  }
  if (Array.isArray(v)) {
    // A list in the filter: every element must be in the packet's list (or equal its one value).
    const ms = v.map((x, i) => {
      if (x !== null && typeof x === 'object') bad(`${path}[${i}]`, 'list elements must be strings, numbers, booleans or null')
      return scalarMatcher(x as Scalar)
    })
    return (got) => ms.every((m) => (Array.isArray(got) ? got.some((g) => m(g)) : m(got)))
  }
  if (isPlainObject(v)) {
    // Nested attributes (TCP Options: {"MSS": 1460}) match the same way, one level down.
    const subs = Object.entries(v).map(([k, x]) => [k, compileValue(x, `${path}.${k}`)] as const)
    return (got) => isPlainObject(got) && subs.every(([k, m]) => m((got as Record<string, FieldValue>)[k]))
  }
  return bad(path, `unsupported value type ${typeof v}`)
}

/**
 * Compiles a nested filter into a predicate over decoded packets. Throws a user error (ECONFIG)
 * naming the bad key when the filter is not an object of known protocols holding known attributes.
 */
export function compileAttributeFilter(filter: unknown): (pkt: DecodedPacket) => boolean {
  if (!isPlainObject(filter)) bad('(top level)', 'expected an object of protocols, e.g. {"IPv4": {"Source_Address": "127.0.0.1"}}')
  const checks: Array<readonly [string, Array<readonly [string, Matcher]>]> = []
  for (const [proto, attrs] of Object.entries(filter)) {
    const known = fieldsOf(proto)
    if (!known) bad(proto, `unknown protocol (expected one of ${Object.keys(PACKET_FIELDS).join(', ')})`)
    if (!isPlainObject(attrs)) bad(proto, 'expected an object of attributes ({} for "protocol present")')
    const list: Array<readonly [string, Matcher]> = []
    for (const [attr, want] of Object.entries(attrs)) {
      if (!known.includes(attr)) bad(`${proto}.${attr}`, `unknown attribute (expected one of ${known.join(', ')})`)
      list.push([attr, compileValue(want, `${proto}.${attr}`)])
    }
    checks.push([proto, list])
  }
  return (pkt) => {
    for (const [proto, list] of checks) {
      const layer = pkt[proto]
      if (!isPlainObject(layer)) return false
      for (const [attr, m] of list) if (!m((layer as Record<string, FieldValue>)[attr])) return false
    }
    return true
  }
}

import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { defaultTimeouts, type Timeouts } from '../track/timeouts.js'
import { tcpStateByName } from '../track/tcp-states.js'
import { messageOf, userError } from '../util/errors.js'
import { parseCidr, type Cidr } from './cidr.js'

/**
 * config.yaml for pcap-zmq-track: PokieStream's file (optionally under a top-level `config:`)
 * with its `filter:` keys and meaning, plus `filter.bpf` (tcpdump syntax; `scapy` is its alias),
 * `filter.attributes` (nested attribute filter) and a `track:` section for timeouts and limits.
 * Keys PokieStream uses for capture and plugins (iface, queue_size, plugin, NOT_RECOMMENDED) are
 * accepted and ignored here. Anything else is rejected with one line naming the key.
 */
export interface FilterConfig {
  strict: boolean
  /** null: not set (every protocol). */
  protocol: string[] | null
  source: Cidr[] | null
  destination: Cidr[] | null
  port: number[] | null
  dns: { enabled: boolean; ports: number[]; match: string[] }
  bpf: string | null
  attributes: Record<string, unknown> | null
}

export interface TrackConfig {
  filter: FilterConfig
  maxSessions: number | null
  sensor: string | null
  /** PokieStream's `iface`: what pcap-zmq-track captures when given no SRC. */
  iface: string | null
  timeouts: Timeouts
  /** pcap-zmq-track's options given under track: by their long names (publish, stats-interval, ...). */
  options: Record<string, unknown>
}

export const PROTOCOL_VALUES = ['tcp', 'udp', 'icmp', 'icmpv6', 'ip', 'arp', 'all']

export function emptyConfig(): TrackConfig {
  return {
    filter: { strict: false, protocol: null, source: null, destination: null, port: null, dns: { enabled: false, ports: [], match: [] }, bpf: null, attributes: null },
    maxSessions: null,
    sensor: null,
    iface: null,
    timeouts: defaultTimeouts(),
    options: {},
  }
}

const bad = (file: string, key: string, why: string) => userError(`${file}: ${key}: ${why}`, 'ECONFIG')

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Read and validate a config file; every mistake is a userError with code ECONFIG. */
export function loadConfig(path: string, optionKeys: readonly string[] = []): TrackConfig {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw userError(`cannot read config ${path}: ${messageOf(err)}`, 'ECONFIG')
  }
  return parseConfig(text, path, optionKeys)
}

/** `optionKeys`: the long option names track: may hold beside its own keys. */
export function parseConfig(text: string, file = 'config', optionKeys: readonly string[] = []): TrackConfig {
  let doc: unknown
  try {
    doc = parseYaml(text)
  } catch (err) {
    throw userError(`${file}: not valid YAML: ${messageOf(err).split('\n')[0]}`, 'ECONFIG')
  }
  const cfg = emptyConfig()
  if (doc === null || doc === undefined) return cfg
  if (!isObj(doc)) throw bad(file, '(top level)', 'expected a mapping of keys')
  let root: Obj = doc
  if ('config' in doc) {
    if (Object.keys(doc).length !== 1) throw bad(file, Object.keys(doc).find((k) => k !== 'config') ?? 'config', 'unknown key beside the top-level config:')
    if (doc.config === null) return cfg
    if (!isObj(doc.config)) throw bad(file, 'config', 'expected a mapping of keys')
    root = doc.config
  }
  for (const [key, value] of Object.entries(root)) {
    switch (key) {
      case 'iface':
        if (value !== null && (typeof value !== 'string' || !/^[^\s/,]{1,15}(,[^\s/,]{1,15})*$/.test(value))) throw bad(file, key, 'expected an interface name (or names, comma-separated)')
        cfg.iface = value
        break
      case 'queue_size': case 'plugin': case 'NOT_RECOMMENDED':
        // PokieStream's plugin settings: meaningful to pcap-zmq-plugin.
        break
      case 'filter':
        if (value !== null) readFilter(file, value, cfg.filter)
        break
      case 'track':
        if (value !== null) readTrack(file, value, cfg, optionKeys)
        break
      default:
        throw bad(file, key, 'unknown key')
    }
  }
  return cfg
}

function list(file: string, key: string, v: unknown): unknown[] | null {
  if (v === null || v === undefined) return null
  return Array.isArray(v) ? v : [v]
}

function port(file: string, key: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) throw bad(file, key, `${JSON.stringify(v)} is not a port number (0-65535)`)
  return v
}

function seconds(file: string, key: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 0xffffffff) throw bad(file, key, `${JSON.stringify(v)} is not a whole number of seconds >= 1`)
  return v
}

function bool(file: string, key: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw bad(file, key, `${JSON.stringify(v)} is not true or false`)
  return v
}

function readFilter(file: string, value: unknown, f: FilterConfig): void {
  if (!isObj(value)) throw bad(file, 'filter', 'expected a mapping of keys')
  for (const [k, v] of Object.entries(value)) {
    const key = `filter.${k}`
    switch (k) {
      case 'strict':
        if (v !== null) f.strict = bool(file, key, v)
        break
      case 'protocol': {
        const l = list(file, key, v)
        if (l === null) break
        f.protocol = l.map((p) => {
          const s = typeof p === 'string' ? p.trim().toLowerCase() : ''
          if (!PROTOCOL_VALUES.includes(s)) throw bad(file, key, `${JSON.stringify(p)} is not one of ${PROTOCOL_VALUES.join(', ')}`)
          return s
        })
        break
      }
      case 'source': case 'destination': {
        const l = list(file, key, v)
        if (l === null || l.length === 0) break
        f[k] = l.map((c) => {
          const r = typeof c === 'string' ? parseCidr(c.trim()) : 'is not an IP address or CIDR'
          if (typeof r === 'string') throw bad(file, key, `${JSON.stringify(c)} ${r}`)
          return r
        })
        break
      }
      case 'port': {
        const l = list(file, key, v)
        if (l !== null && l.length > 0) f.port = l.map((p) => port(file, key, p))
        break
      }
      case 'scapy': case 'bpf':
        if (v === null || v === '') break
        if (typeof v !== 'string') throw bad(file, key, 'expected a tcpdump filter expression (string)')
        if (f.bpf !== null) throw bad(file, key, 'set filter.bpf or its alias filter.scapy, not both')
        f.bpf = v.trim()
        break
      case 'attributes':
        if (v === null) break
        if (!isObj(v)) throw bad(file, key, 'expected a mapping like {IPv4: {Source_Address: 1.2.3.4}}')
        f.attributes = v
        break
      case 'payload':
        if (v !== null) readPayload(file, v, f)
        break
      default:
        throw bad(file, key, 'unknown key')
    }
  }
}

function readPayload(file: string, value: unknown, f: FilterConfig): void {
  if (!isObj(value)) throw bad(file, 'filter.payload', 'expected a mapping of keys')
  for (const [k, v] of Object.entries(value)) {
    if (k !== 'dns') throw bad(file, `filter.payload.${k}`, 'unknown key (only dns)')
    if (v === null) continue
    if (!isObj(v)) throw bad(file, 'filter.payload.dns', 'expected a mapping of keys')
    for (const [dk, dv] of Object.entries(v)) {
      const key = `filter.payload.dns.${dk}`
      if (dk === 'enabled') { if (dv !== null) f.dns.enabled = bool(file, key, dv) }
      else if (dk === 'ports') f.dns.ports = (list(file, key, dv) ?? []).map((p) => port(file, key, p))
      else if (dk === 'match') {
        f.dns.match = (list(file, key, dv) ?? []).map((m) => {
          if (typeof m !== 'string' || m.trim() === '') throw bad(file, key, 'entries must be non-empty strings')
          return m.trim()
        })
      } else throw bad(file, key, 'unknown key')
    }
  }
}

function readTrack(file: string, value: unknown, cfg: TrackConfig, optionKeys: readonly string[]): void {
  if (!isObj(value)) throw bad(file, 'track', 'expected a mapping of keys')
  for (const [k, v] of Object.entries(value)) {
    const key = `track.${k}`
    if (k === 'max_sessions' || k === 'max-sessions') cfg.maxSessions = seconds(file, key, v)
    else if (k === 'sensor') {
      if (typeof v !== 'string') throw bad(file, key, 'expected a string')
      cfg.sensor = v
    } else if (k === 'timeouts') readTimeouts(file, v, cfg.timeouts)
    else if (optionKeys.includes(k.replace(/_/g, '-'))) {
      if (v !== null) cfg.options[k.replace(/_/g, '-')] = v
    } else throw bad(file, key, 'unknown key')
  }
}

function readTimeouts(file: string, value: unknown, t: Timeouts): void {
  if (!isObj(value)) throw bad(file, 'track.timeouts', 'expected a mapping of keys')
  for (const [k, v] of Object.entries(value)) {
    const key = `track.timeouts.${k}`
    if (k === 'udp' || k === 'icmp' || k === 'other') t[k] = seconds(file, key, v)
    else if (k === 'tcp') {
      if (!isObj(v)) throw bad(file, key, 'expected a mapping of TCP state names (established, time_wait, ...) to seconds')
      for (const [sk, sv] of Object.entries(v)) {
        const i = tcpStateByName(sk)
        if (i <= 0) throw bad(file, `${key}.${sk}`, 'unknown TCP state (syn_sent, syn_recv, established, fin_wait, close_wait, last_ack, time_wait, close, syn_sent2)')
        t.tcp[i] = seconds(file, `${key}.${sk}`, sv)
      }
    } else if (k === 'udp_ports') {
      if (!isObj(v)) throw bad(file, key, 'expected a mapping of port to seconds, e.g. {53: 30}')
      for (const [pk, pv] of Object.entries(v)) t.udpPorts.set(port(file, `${key}.${pk}`, Number(pk)), seconds(file, `${key}.${pk}`, pv))
    } else throw bad(file, key, 'unknown key')
  }
}

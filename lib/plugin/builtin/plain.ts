import type { SessionEvent } from '../event.js'
import type { Plugin } from '../types.js'
import { ReverseDns } from './rdns.js'
import { sanitize } from '../../util/sanitize.js'

/** PokieStream's console colours per state (ANSI), UNKNOWN for any other state. */
export const STATE_COLORS: Record<string, string> = {
  NEW: '\x1b[94m',
  ESTABLISHED: '\x1b[92m',
  CLOSE: '\x1b[91m',
  ABORT: '\x1b[1;91m',
  UNKNOWN: '\x1b[93m',
  RESET: '\x1b[0m',
}

/**
 * One console line in PokieStream's plain format:
 * `[ts] src:sport -> dst (name):dport Protocol: TCP (6), State: NEW, Session: id`, ICMP without
 * ports, state or session; then `, Host: h` / `, DNS: d` from the payload. Names come from the
 * traffic (HTTP Host, DNS questions, reverse lookups) and go to a terminal: sanitized.
 */
export function formatPlain(e: SessionEvent, dstName: string | null | undefined, color: boolean): string {
  const c = color ? (STATE_COLORS[e.state] ?? STATE_COLORS.UNKNOWN) : ''
  const reset = color ? STATE_COLORS.RESET : ''
  const dst = dstName ? `${e.dst_ip} (${sanitize(dstName)})` : e.dst_ip
  let line = e.protocol_name.toUpperCase() === 'ICMP'
    ? `${c}[${e.timestamp}] ${e.src_ip} -> ${dst} Protocol: ${e.protocol_name} (${e.protocol_num})${reset}`
    : `${c}[${e.timestamp}] ${e.src_ip}:${e.src_port} -> ${dst}:${e.dst_port} ` +
      `Protocol: ${e.protocol_name} (${e.protocol_num}), State: ${e.state}, Session: ${e.session_id}${reset}`
  const p = e.payload
  if (p) {
    if (p.host) line += `, Host: ${sanitize(String(p.host))}`
    if (p.dns) line += `, DNS: ${sanitize(String(p.dns))}`
  }
  return line
}

export interface PlainOptions {
  rdns: boolean
  color: boolean
  out?: NodeJS.WritableStream
  /** DNS servers for the reverse lookups (default: the system's). */
  servers?: string[]
}

/**
 * The built-in `plain` plugin. Lines are written in event order at once; the destination name
 * appears as soon as the background reverse lookup has answered (see ReverseDns).
 */
export function createPlainPlugin(opts: PlainOptions): Plugin {
  const out = opts.out ?? process.stdout
  const rdns = opts.rdns ? new ReverseDns(120_000, 64, 2000, 100_000, opts.servers) : null
  return {
    name: 'plain',
    batched: true,
    deliver(events, n, p) {
      let text = ''
      const now = Date.now()
      for (let i = 0; i < n; i++) {
        const e = events[i]
        text += formatPlain(e, rdns?.lookup(e.dst_ip, now), opts.color) + '\n'
      }
      out.write(text)
      p.done = n
    },
    async close() {
      rdns?.cancel()
    },
  }
}

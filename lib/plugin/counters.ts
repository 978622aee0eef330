import { formatRate } from '../util/stats.js'

/**
 * What the runner did, printed on SIGUSR1 and at exit. Counts are events unless named otherwise;
 * docs/plugins.md defines each one.
 */
export interface Counters {
  received: number
  delivered: number
  /** Plugin calls that failed (throw, reject, timeout, crash). */
  failed: number
  /** Of `failed`, how many were timeouts. */
  timeouts: number
  /** Delivery attempts made after a failure, until one succeeds. */
  retried: number
  /** Events written to the spool (after a failure, or spilled from a full queue). */
  spooled: number
  /** Of `spooled`, events spilled because the in-memory queue was full. */
  spilled: number
  /** Events delivered from the spool. */
  replayed: number
  /** Events discarded by the --spool-max policy (oldest segments first). */
  dropped: number
  badJson: number
  badLong: number
  badType: number
}

export function createCounters(): Counters {
  return {
    received: 0, delivered: 0, failed: 0, timeouts: 0, retried: 0, spooled: 0, spilled: 0,
    replayed: 0, dropped: 0, badJson: 0, badLong: 0, badType: 0,
  }
}

export function badInput(c: Counters): number {
  return c.badJson + c.badLong + c.badType
}

/**
 * One line, key=value, stable order (scripts and tests parse it); with `rates` (periodic lines),
 * each total is followed by its rate since the previous line.
 */
export function formatCounters(c: Counters, queued: number, spoolPending: number, rates?: Map<string, number>): string {
  const kv = (k: string, v: number, from = k) => `${k}=${v}${rates?.has(from) ? ` (${formatRate(rates.get(from)!)})` : ''}`
  return `${kv('received', c.received)} ${kv('delivered', c.delivered)} ${kv('retried', c.retried)} ${kv('spooled', c.spooled)} ` +
    `${kv('replayed', c.replayed)} ${kv('failed', c.failed)} ${kv('timeouts', c.timeouts)} ${kv('spilled', c.spilled)} ${kv('dropped', c.dropped)} ` +
    `bad_input=${badInput(c)} (not_json=${c.badJson} too_long=${c.badLong} wrong_type=${c.badType}) ` +
    `queued=${queued} in_spool=${spoolPending}`
}

/** Parses formatCounters output back into numbers (tests and the benchmark use it). */
export function parseCounters(line: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const m of line.matchAll(/([a-z_]+)=(\d+)/g)) out[m[1]] = Number(m[2])
  return out
}

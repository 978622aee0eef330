/** Counters printed on SIGUSR1, every --stats-interval and at exit: `name: key=value ...` on stderr. */
export type Counters = Record<string, number>

/** Counter names as every tool prints them: badChecksum -> bad_checksum. */
export function snakeKeys(c: Counters): Counters {
  const out: Counters = {}
  for (const [k, v] of Object.entries(c)) out[k.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase()] = v
  return out
}

/** Counters that are levels, not totals (they can go down): no rate, and gauges in metrics. */
export const LEVELS = new Set(['live', 'rcvbuf', 'packets_unconfirmed', 'queued', 'spooled_pending', 'in_spool'])

/** `rates` (periodic lines): each total is followed by its rate since the previous line. */
export function formatCounters(name: string, counters: Counters, extra = '', rates?: Map<string, number>): string {
  const parts = Object.entries(counters).map(([k, v]) => `${k}=${v}${rates?.has(k) ? ` (${formatRate(rates.get(k)!)})` : ''}`)
  return `${name}: ${parts.join(' ')}${extra ? ` ${extra}` : ''}`
}

export function formatRate(perSecond: number): string {
  return `${perSecond >= 100 || perSecond === 0 ? Math.round(perSecond) : perSecond.toFixed(1)}/s`
}

/**
 * Rates per second of every total since the previous call (since the meter was made, the first
 * time), so a periodic line says how fast each counter moves, not only where it stands.
 */
export function createRateMeter(now: () => number = () => performance.now()): (c: Counters) => Map<string, number> {
  let last = new Map<string, number>()
  let lastAt = now()
  return (c) => {
    const t = now()
    const dt = Math.max(t - lastAt, 1) / 1000
    const out = new Map<string, number>()
    for (const [k, v] of Object.entries(c)) if (!LEVELS.has(k) && typeof v === 'number') out.set(k, Math.max(0, v - (last.get(k) ?? 0)) / dt)
    last = new Map(Object.entries(c))
    lastAt = t
    return out
  }
}

/**
 * SIGINT/SIGTERM call `stop` once (a second signal exits at once); SIGUSR1 and the optional
 * interval call `report`; SIGHUP calls `reload` when given (and is ignored otherwise, rather than
 * killing the process as by default). Returns a function that removes the handlers.
 */
export function installSignals(stop: () => void, report: () => void, intervalSec = 0, reload: () => void = () => {}): () => void {
  let stopping = false
  const onStop = () => {
    if (stopping) process.exit(130)
    stopping = true
    stop()
  }
  process.on('SIGINT', onStop)
  process.on('SIGTERM', onStop)
  process.on('SIGUSR1', report)
  process.on('SIGHUP', reload)
  const timer = intervalSec > 0 ? setInterval(report, intervalSec * 1000) : undefined
  timer?.unref()
  return () => {
    process.off('SIGINT', onStop)
    process.off('SIGTERM', onStop)
    process.off('SIGUSR1', report)
    process.off('SIGHUP', reload)
    if (timer) clearInterval(timer)
  }
}

/** Distinct keys a once-logger remembers; forged sender names must not grow it without end. */
export const ONCE_LOGGER_KEYS = 4096
/** Once the keys are used up, at most one further message per this many milliseconds. */
export const ONCE_LOGGER_OVERFLOW_MS = 10_000

/**
 * Logs a message once per key (bad input kinds per sender), counting repeats silently. Keys are
 * peer-supplied in part (sender names), so at most `maxKeys` are kept: past that, new keys are
 * logged at most once per `overflowMs`, each such line saying how many were left out before it,
 * so a flood of forged names costs bounded memory and a bounded number of lines, and a real new
 * problem still shows up. `msg` may be a function: built only when it is logged.
 */
export function createOnceLogger(
  log: (msg: string) => void, maxKeys = ONCE_LOGGER_KEYS, overflowMs = ONCE_LOGGER_OVERFLOW_MS, now: () => number = Date.now,
): (key: string, msg: string | (() => string)) => void {
  const seen = new Set<string>()
  let lastOverflow = -Infinity
  let suppressed = 0
  return (key, msg) => {
    if (seen.has(key)) return
    const text = () => (typeof msg === 'string' ? msg : msg())
    if (seen.size < maxKeys) {
      seen.add(key)
      log(text())
      return
    }
    const t = now()
    if (t - lastOverflow < overflowMs) {
      suppressed += 1
      return
    }
    lastOverflow = t
    log(`${text()} (more than ${maxKeys} distinct warnings: further ones at most every ${overflowMs / 1000} s${suppressed ? `; ${suppressed} left out since the last` : ''})`)
    suppressed = 0
  }
}

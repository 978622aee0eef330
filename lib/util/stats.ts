/** Counters printed on SIGUSR1, every --stats-interval and at exit: `name: key=value ...` on stderr. */
export type Counters = Record<string, number>

export function formatCounters(name: string, counters: Counters, extra = ''): string {
  const parts = Object.entries(counters).map(([k, v]) => `${k}=${v}`)
  return `${name}: ${parts.join(' ')}${extra ? ` ${extra}` : ''}`
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

/** Logs a message once per key (bad input kinds), counting repeats silently. */
export function createOnceLogger(log: (msg: string) => void): (key: string, msg: string) => void {
  const seen = new Set<string>()
  return (key, msg) => {
    if (seen.has(key)) return
    seen.add(key)
    log(msg)
  }
}

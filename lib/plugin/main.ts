import { resolve } from 'node:path'
import { messageOf } from '../util/errors.js'
import { loadPluginConfig } from './config.js'
import { createCounters, formatCounters } from './counters.js'
import { serveMetrics } from '../util/metrics.js'
import { createRateMeter } from '../util/stats.js'
import { Delivery } from './delivery.js'
import { EventLineReader } from './lines.js'
import { loadPlugin, pluginKind, resolvePluginPath, type BuiltinFlags } from './load.js'
import { EventQueue } from './queue.js'
import { stdinSource, zmqSource, type Source } from './source.js'
import type { CurveSetup } from '../wire/curve.js'
import { Spool } from './spool.js'

export interface PluginOptions {
  source: string
  /** --metrics HOST:PORT: Prometheus exposition of the counters. */
  metrics?: string
  /** CURVE client of pcap-zmq-track --publish. */
  curve?: CurveSetup
  plugin?: string
  config?: string
  passConfig?: boolean
  fields?: 'pokiestream' | 'all'
  batch?: number
  batchMs: number
  queue?: number
  timeoutMs: number
  spoolDir: string
  spoolMax: number
  maxLine: number
  /** After end of input, give up delivering after this long (ms); undefined: keep trying. */
  drainTimeoutMs?: number
  retryMinMs: number
  retryMaxMs: number
  /** Counters with rates on stderr every this many seconds (0: SIGUSR1 and exit only). */
  statsInterval?: number
  debug?: boolean
  builtin: BuiltinFlags
}

const NAME = 'pcap-zmq-plugin'

/**
 * Source -> bounded queue -> plugin, with the spool for whatever the plugin does not accept.
 * Resolves with the exit code: 0 when everything received was delivered, 1 when events are left
 * in the spool (they are delivered first on the next start).
 */
export async function main(o: PluginOptions): Promise<number> {
  const warn = (m: string) => { process.stderr.write(`${NAME}: ${m}\n`) }
  const counters = createCounters()
  let queuedNow = () => 0
  let pendingNow = () => 0
  const rates = createRateMeter()
  const report = () => warn(formatCounters(counters, queuedNow(), pendingNow(), rates({ ...counters })))
  // Installed first: an early SIGUSR1 would otherwise start Node's inspector.
  const onUsr1 = () => report()
  process.on('SIGUSR1', onUsr1)
  const metrics = o.metrics ? await serveMetrics(o.metrics, 'plugin', { counters: () => ({ ...counters, queued: queuedNow(), spooled_pending: pendingNow() }) }) : undefined
  const cfg = loadPluginConfig(o.config)
  const spec = o.plugin ?? (cfg.path ? resolvePluginPath(cfg.path, o.config) : 'plain')
  const kind = pluginKind(spec)
  const passConfig = o.passConfig ?? cfg.passConfig
  // Python plugins are PokieStream plugins: plain.py builds a namedtuple from exactly its ten fields.
  const fields = o.fields ?? (kind === 'python' ? 'pokiestream' : 'all')
  const spool = new Spool(resolve(o.spoolDir), o.spoolMax, o.maxLine, (events, bytes) => {
    counters.dropped += events
    warn(`spool over --spool-max (${o.spoolMax} bytes): dropped its oldest segment, ${events} events (${bytes} bytes)`)
  })
  let plugin
  try {
    plugin = await loadPlugin(spec, { config: cfg.all, passConfig, fields, warn }, cfg.builtin, o.builtin)
  } catch (err) {
    spool.close()
    throw err
  }
  const queue = new EventQueue(o.queue ?? cfg.queueSize ?? 10000)
  const batch = o.batch ?? (plugin.batched ? (plugin.defaultBatch ?? 256) : 1)
  const delivery = new Delivery(plugin, queue, spool, counters, {
    batch, batchMs: o.batchMs, timeoutMs: o.timeoutMs, retryMinMs: o.retryMinMs, retryMaxMs: o.retryMaxMs,
  }, warn)
  if (o.debug) warn(`plugin ${spec} (${kind}), ${fields} fields, batches of ${batch}; spool ${spool.dir}`)
  if (spool.pending > 0) warn(`${spool.pending} events left in the spool ${spool.dir} by an earlier run: delivering them first`)

  const reader = new EventLineReader(o.maxLine, counters, (ev) => delivery.offer(ev), (_k, m) => warn(m))
  let source: Source
  try {
    source = o.source === '-' ? stdinSource(reader) : await zmqSource(o.source, reader, warn, o.curve)
  } catch (err) {
    await plugin.close().catch(() => {})
    spool.close()
    throw err
  }

  if (o.debug) warn(`reading events from ${o.source === '-' ? 'stdin' : o.source}`)
  const statsTimer = o.statsInterval ? setInterval(report, o.statsInterval * 1000) : undefined
  statsTimer?.unref()
  queuedNow = () => delivery.queued
  pendingNow = () => spool.pending
  let signalled = false
  const stopped = new Promise<void>((res) => {
    const onSignal = () => { signalled = true; res() }
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    // Our stdout closed (`| head`): stop like on a signal; undelivered events stay in the spool.
    process.stdout.on('error', onSignal)
  })

  const running = delivery.run()
  let drainTimer: NodeJS.Timeout | undefined
  const drained = (async () => {
    await source.done
    delivery.inputEnded()
    if (o.drainTimeoutMs !== undefined) {
      const limit = o.drainTimeoutMs
      await Promise.race([running, new Promise<void>((r) => { drainTimer = setTimeout(r, limit) })])
    } else {
      await running
    }
  })()
  await Promise.race([drained, stopped, running.catch(() => {})])
  clearTimeout(drainTimer)
  source.close()
  await delivery.stop(running, 400)
  // A plugin's close() must not hold the exit: bounded, tightly after a signal (stop within a
  // second), more loosely at end of input (a child plugin finishing what it has read).
  let closeTimer: NodeJS.Timeout | undefined
  await Promise.race([
    plugin.close().catch((err) => warn(`plugin close failed: ${messageOf(err)}`)),
    new Promise((r) => { closeTimer = setTimeout(r, signalled ? 300 : 5000) }),
  ])
  clearTimeout(closeTimer)
  const left = spool.pending
  spool.close()
  process.off('SIGUSR1', onUsr1)
  if (statsTimer) clearInterval(statsTimer)
  await metrics?.close()
  warn(formatCounters(counters, queuedNow(), pendingNow()))
  if (left > 0) warn(`${left} events kept in the spool ${spool.dir}; they are delivered first on the next start`)
  return left > 0 && !signalled ? 1 : 0
}

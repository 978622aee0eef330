import { createServer, type Server } from 'node:http'
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'
import { userError } from './errors.js'
import { LEVELS } from './stats.js'

/**
 * --metrics HOST:PORT: Prometheus text exposition on GET /metrics, through prom-client. Every counter
 * a tool prints is a `pcap_zmq_<tool>_<name>_total` counter (gauges for the few that are levels),
 * per-sender series carry a `sender` label (their number is the sender table's bound, 1024 plus
 * "others"), and prom-client's process metrics come along, so node_exporter-style dashboards work.
 * Values are read from the tool's own counters at scrape time: nothing is counted twice.
 */
export interface MetricsSource {
  counters(): Record<string, number>
  /** Per-sender (per-destination) counters: label value -> counters. */
  series?(): Map<string, Record<string, number>>
  /** The series' label and metric name part: `sender` unless given. */
  seriesLabel?: string
}


export interface MetricsServer { readonly address: string; close(): Promise<void> }

export function parseMetricsAddress(v: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(v)
  const port = m ? Number(m[3]) : NaN
  if (!m || port < 1 || port > 65535) throw userError(`--metrics expects HOST:PORT (e.g. 127.0.0.1:9464 or [::1]:9464), got ${JSON.stringify(v)}`, 'EUSAGE')
  return { host: m[1] ?? m[2]!, port }
}

const metricName = (tool: string, key: string) => `pcap_zmq_${tool}_${key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase().replace(/[^a-z0-9_]/g, '_')}`

export async function serveMetrics(address: string, tool: string, source: MetricsSource): Promise<MetricsServer> {
  const { host, port } = parseMetricsAddress(address)
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  // Gauges prom-client names *_total, which promtool's lint rejects; the handle counts are not needed.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name)
  // Metrics are made from the first scrape's counter names; a tool's names do not change.
  const made = new Set<string>()
  const label = source.seriesLabel ?? 'sender'
  const make = (key: string, labelled: boolean, read: () => Array<[Record<string, string>, number]>) => {
    const gauge = LEVELS.has(key)
    const name = `${metricName(tool, labelled ? `${label}_${key}` : key)}${gauge ? '' : '_total'}`
    if (made.has(name)) return
    made.add(name)
    const help = `pcap-zmq-${tool} ${labelled ? `per-${label} ` : ''}${key}`
    const labelNames = labelled ? [label] : []
    if (gauge) {
      new Gauge({ name, help, labelNames, registers: [registry], collect() { this.reset(); for (const [l, v] of read()) this.set(l, v) } })
    } else {
      // A counter set to the tool's own total at each scrape (prom-client counters only add).
      new Counter({ name, help, labelNames, registers: [registry], collect() { this.reset(); for (const [l, v] of read()) if (v > 0) this.inc(l, v) } })
    }
  }
  const declare = () => {
    for (const key of Object.keys(source.counters())) make(key, false, () => [[{}, source.counters()[key] ?? 0]])
    const series = source.series?.()
    if (series) {
      const keys = new Set<string>()
      for (const c of series.values()) for (const k of Object.keys(c)) keys.add(k)
      for (const key of keys) make(key, true, () => [...(source.series?.() ?? new Map()).entries()].map(([name, c]) => [{ [label]: name }, c[key] ?? 0] as [Record<string, string>, number]))
    }
  }
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && !req.url?.startsWith('/metrics?'))) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics\n')
      return
    }
    declare()
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
    )
  })
  // Scrapers are few; a peer that opens many connections or never finishes a request is cut off.
  server.maxConnections = 64
  server.headersTimeout = 10_000
  server.requestTimeout = 10_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(userError(`--metrics ${address}: cannot listen: ${err.code === 'EADDRINUSE' ? 'address already in use' : err.message}`, 'EENDPOINT')))
    server.listen(port, host, () => resolve())
  })
  server.unref()
  return {
    address: `${host}:${port}`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }),
  }
}

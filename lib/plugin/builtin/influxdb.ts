import { userError } from '../../util/errors.js'
import type { Plugin } from '../types.js'
import { answerText, httpEndpoint, InFlight, probeHttp, request, statusError } from './http-sink.js'
import { eventLine, PointTimes } from './influx-line.js'

export interface InfluxOptions {
  url: string
  db: string
  measurement: string
  warn: (message: string) => void
}

/** Request bodies are cut at this size (InfluxDB 1.x refuses bodies over max-body-size, 25 MB by default). */
const MAX_BODY = 4 << 20
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/

/**
 * The built-in `influxdb` plugin: one point per event in `measurement` of database `db` (created
 * if missing), written as line protocol with `POST /write?precision=ns` (InfluxDB 1.x), many
 * lines per request. What identifies a point, and why a redelivered batch overwrites itself
 * instead of adding points, is explained in influx-line.ts.
 */
export function createInfluxPlugin(opts: InfluxOptions): Plugin {
  for (const [what, v] of [['database', opts.db], ['measurement', opts.measurement]] as const) {
    if (!NAME_RE.test(v)) throw userError(`influxdb ${what} name ${JSON.stringify(v)} is not a plain name (letters, digits, _ . -)`, 'ECONFIG')
  }
  const ep = httpEndpoint(opts.url, 'influxdb')
  const times = new PointTimes()
  const inflight = new InFlight()
  let dbReady = false

  async function ensureDb(signal: AbortSignal): Promise<void> {
    if (dbReady) return
    const a = await request(ep, 'influxdb', 'query', { q: `CREATE DATABASE "${opts.db}"` }, '', signal, 'application/x-www-form-urlencoded')
    if (a.status < 200 || a.status > 299 || a.body.includes('"error"')) throw statusError('influxdb CREATE DATABASE at', ep, a)
    dbReady = true
  }

  async function write(body: string, signal: AbortSignal): Promise<void> {
    const a = await request(ep, 'influxdb', 'write', { db: opts.db, precision: 'ns' }, body, signal)
    if (a.status >= 200 && a.status <= 299) return
    if (a.status === 404 && a.body.includes('database not found')) dbReady = false
    // A partial write stored every point it could parse and keep; sending the rest again would
    // be refused again for ever, so the batch counts as delivered, loudly. The values are
    // checked before they are written (coerce.ts), so this takes a server-side cause (a field
    // written with another type by someone else, a retention policy shorter than the events' age).
    if (a.status === 400 && a.body.includes('partial write')) {
      opts.warn(`influxdb ${ep.shown} dropped points of a batch: ${answerText(a.body)}`)
      return
    }
    throw statusError('influxdb write to', ep, a)
  }

  return {
    name: 'influxdb',
    batched: true,
    defaultBatch: 5000,
    async deliver(events, n, p) {
      await inflight.run(async (signal) => {
        await ensureDb(signal)
        let lines: string[] = []
        let bytes = 0
        for (let i = p.done; i < n; i++) {
          const line = eventLine(opts.measurement, events[i], times)
          lines.push(line)
          bytes += line.length + 1
          if (bytes >= MAX_BODY || i === n - 1) {
            if (p.cancelled) return
            await write(lines.join('\n'), signal)
            p.done = i + 1
            lines = []
            bytes = 0
          }
        }
      })
    },
    abort() {
      inflight.abortAll()
    },
    async close() {
      inflight.abortAll()
    },
  }
}

/** One GET /ping at start so a wrong URL is reported early (not fatal: the sink may be down). */
export async function probeInflux(url: string, warn: (m: string) => void): Promise<void> {
  await probeHttp(httpEndpoint(url, 'influxdb'), 'influxdb', 'ping', warn)
}

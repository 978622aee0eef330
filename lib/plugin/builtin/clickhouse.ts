import { userError } from '../../util/errors.js'
import type { Plugin } from '../types.js'
import { httpEndpoint, InFlight, probeHttp, request, statusError } from './http-sink.js'
import { CH_COLUMNS, eventRow } from './clickhouse-row.js'

export interface ClickHouseOptions {
  url: string
  database: string
  table: string
  user?: string
  password?: string
  warn: (message: string) => void
}

/** Rows per request are cut at this many bytes; ClickHouse takes larger bodies, but progress is per request. */
const MAX_BODY = 16 << 20
const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

/**
 * The built-in `clickhouse` plugin: one row per event, `INSERT INTO db.table FORMAT JSONEachRow`
 * over the HTTP interface, the batch as the body; the table is created if missing.
 *
 * Exactly once: ClickHouse deduplicates a repeated insert block only for Replicated tables, and a
 * batch retried after a timeout or an outage may repeat rows the server had stored. So the table
 * is a ReplacingMergeTree sorted by (session_id, timestamp_us, event_key), where event_key is a
 * hash of the event: copies of one event share the key and merges keep one of them. Until a merge
 * has run, a query sees each event once with FINAL (`SELECT ... FROM sessions FINAL`).
 */
export function createClickHousePlugin(opts: ClickHouseOptions): Plugin {
  for (const [what, v] of [['database', opts.database], ['table', opts.table]] as const) {
    if (!IDENT_RE.test(v)) throw userError(`clickhouse ${what} name ${JSON.stringify(v)} is not a plain identifier`, 'ECONFIG')
  }
  const ep = httpEndpoint(opts.url, 'clickhouse', opts.user, opts.password)
  const target = `\`${opts.database}\`.\`${opts.table}\``
  const inflight = new InFlight()
  const insert = `INSERT INTO ${target} (${CH_COLUMNS.map(([c]) => `\`${c}\``).join(', ')}) FORMAT JSONEachRow`
  const create = `CREATE TABLE IF NOT EXISTS ${target} (${CH_COLUMNS.map(([c, t]) => `\`${c}\` ${t}`).join(', ')}) ` +
    'ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(timestamp) ORDER BY (session_id, timestamp_us, event_key)'
  let ready = false

  async function query(sql: string, signal: AbortSignal, body?: string): Promise<void> {
    const a = body === undefined
      ? await request(ep, 'clickhouse', '', {}, sql, signal)
      : await request(ep, 'clickhouse', '', { query: sql }, body, signal)
    if (a.status >= 200 && a.status <= 299) return
    // UNKNOWN_TABLE, UNKNOWN_DATABASE: dropped behind our back; create them again on the retry.
    if (/^Code: (60|81)\b/.test(a.body)) ready = false
    throw statusError('clickhouse', ep, a)
  }

  async function ensureTable(signal: AbortSignal): Promise<void> {
    if (ready) return
    if (opts.database !== 'default') await query(`CREATE DATABASE IF NOT EXISTS \`${opts.database}\``, signal)
    await query(create, signal)
    ready = true
  }

  return {
    name: 'clickhouse',
    batched: true,
    defaultBatch: 5000,
    async deliver(events, n, p) {
      await inflight.run(async (signal) => {
        await ensureTable(signal)
        let rows: string[] = []
        let bytes = 0
        for (let i = p.done; i < n; i++) {
          const row = eventRow(events[i])
          rows.push(row)
          bytes += row.length + 1
          if (bytes >= MAX_BODY || i === n - 1) {
            if (p.cancelled) return
            await query(insert, signal, `${rows.join('\n')}\n`)
            p.done = i + 1
            rows = []
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
export async function probeClickHouse(url: string, user: string | undefined, password: string | undefined, warn: (m: string) => void): Promise<void> {
  await probeHttp(httpEndpoint(url, 'clickhouse', user, password), 'clickhouse', 'ping', warn)
}

import pg from 'pg'
import { messageOf, userError } from '../../util/errors.js'
import type { SessionEvent } from '../event.js'
import type { Plugin } from '../types.js'

export interface PostgresOptions {
  url: string
  table: string
  warn: (message: string) => void
}

// [column, SQL type]; `timestamp` is the event's own time (PokieStream's field).
const COLUMNS: [string, string][] = [
  ['session_id', 'text PRIMARY KEY'], ['src_ip', 'text'], ['dst_ip', 'text'], ['src_port', 'integer'],
  ['dst_port', 'integer'], ['protocol_num', 'integer'], ['protocol_name', 'text'], ['state', 'text'],
  ['timestamp', 'timestamp(6)'], ['payload', 'jsonb'], ['sensor', 'text'], ['orig_packets', 'bigint'],
  ['orig_bytes', 'bigint'], ['reply_packets', 'bigint'], ['reply_bytes', 'bigint'],
  ['first_seen', 'timestamptz'], ['last_seen', 'timestamptz'], ['duration', 'double precision'],
  ['tcp_state', 'text'], ['history', 'text'], ['reason', 'text'], ['community_id', 'text'],
  ['event_order', 'text COLLATE "C"'],
]
const NAMES = COLUMNS.map(([c]) => `"${c}"`)
const STATE_RANK: Record<string, number> = { NEW: 0, ESTABLISHED: 1, REPLIED: 1, CLOSE: 2, ABORT: 2, EXPIRED: 3, DESTROY: 3 }
const TS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?$/

const text = (v: unknown) => (typeof v === 'string' ? (v.includes('\0') ? v.replace(/\0/g, '') : v) : null)
const int = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) ? v : null)
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null)
const time = (v: unknown) => (typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? v : null)

/**
 * The order of one session's events: its timestamp, then packets seen, then state rank. An
 * event only updates the row when it is not older than what the row holds, so a redelivered
 * event (at-least-once after a crash) can never move a row backwards, and `events` counts each
 * distinct event once.
 */
export function eventOrder(e: SessionEvent): string {
  const pkts = (int(e.orig_packets) ?? 0) + (int(e.reply_packets) ?? 0)
  return `${e.timestamp}|${String(pkts).padStart(16, '0')}|${STATE_RANK[e.state] ?? 1}`
}

function row(e: SessionEvent): unknown[] {
  return [
    text(e.session_id), text(e.src_ip), text(e.dst_ip), int(e.src_port), int(e.dst_port), int(e.protocol_num),
    text(e.protocol_name), text(e.state), TS_RE.test(e.timestamp) ? e.timestamp : null,
    e.payload === null || e.payload === undefined ? null : text(JSON.stringify(e.payload)), text(e.sensor),
    int(e.orig_packets), int(e.orig_bytes), int(e.reply_packets), int(e.reply_bytes), time(e.first_seen),
    time(e.last_seen), num(e.duration), text(e.tcp_state), text(e.history), text(e.reason), text(e.community_id),
    eventOrder(e),
  ]
}

/**
 * The built-in `postgres` plugin: one row per session in `table` (created if missing), kept up
 * to date by session_id with batched INSERT ... ON CONFLICT DO UPDATE, one transaction per
 * batch. A batch with several events of one session is applied in rounds (one event per session
 * per statement, in order), because one statement may not touch a row twice.
 */
export function createPostgresPlugin(opts: PostgresOptions): Plugin {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(opts.table)) {
    throw userError(`postgres table name ${JSON.stringify(opts.table)} is not a plain identifier`, 'ECONFIG')
  }
  const table = `"${opts.table}"`
  let client: pg.Client | null = null
  let connecting: Promise<pg.Client> | null = null

  const createSql = `CREATE TABLE IF NOT EXISTS ${table} (` +
    COLUMNS.map(([c, t]) => `"${c}" ${t}`).join(', ') +
    `, "events" integer NOT NULL DEFAULT 1, "updated_at" timestamptz NOT NULL DEFAULT now())`
  const updates = NAMES.filter((c) => c !== '"session_id"').map((c) => `${c} = EXCLUDED.${c}`).join(', ')
  const conflict = ` ON CONFLICT ("session_id") DO UPDATE SET ${updates}, ` +
    `"events" = ${table}."events" + CASE WHEN EXCLUDED."event_order" > ${table}."event_order" THEN 1 ELSE 0 END, ` +
    `"updated_at" = now() WHERE EXCLUDED."event_order" >= ${table}."event_order"`

  async function connect(): Promise<pg.Client> {
    if (client) return client
    if (connecting) return connecting
    connecting = (async () => {
      const c = new pg.Client({ connectionString: opts.url, connectionTimeoutMillis: 5000 })
      // A server that goes away emits 'error' on an idle client: forget it, reconnect next time.
      c.on('error', () => { if (client === c) client = null })
      c.on('end', () => { if (client === c) client = null })
      try {
        await c.connect()
        await c.query(createSql)
      } catch (err) {
        c.end().catch(() => {})
        throw err
      }
      client = c
      return c
    })()
    try {
      return await connecting
    } finally {
      connecting = null
    }
  }

  async function insert(c: pg.Client, rows: SessionEvent[]): Promise<void> {
    const params: unknown[] = []
    const tuples: string[] = []
    for (const e of rows) {
      const base = params.length
      params.push(...row(e))
      tuples.push(`(${NAMES.map((_, i) => `$${base + i + 1}`).join(',')})`)
    }
    await c.query(`INSERT INTO ${table} (${NAMES.join(',')}) VALUES ${tuples.join(',')}${conflict}`, params)
  }

  return {
    name: 'postgres',
    batched: true,
    defaultBatch: 500,
    async deliver(events, n, p) {
      const c = await connect()
      // Split into rounds: the k-th event of each session goes to round k.
      const rounds: SessionEvent[][] = []
      const seen = new Map<string, number>()
      for (let i = 0; i < n; i++) {
        const e = events[i]
        const k = seen.get(e.session_id) ?? 0
        seen.set(e.session_id, k + 1)
        ;(rounds[k] ??= []).push(e)
      }
      try {
        await c.query('BEGIN')
        for (const r of rounds) await insert(c, r)
        await c.query('COMMIT')
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {})
        throw err
      }
      p.done = n
    },
    abort() {
      const c = client
      client = null
      c?.end().catch(() => {})
    },
    async close() {
      const c = client
      client = null
      await c?.end().catch(() => {})
    },
  }
}

/** Tries the connection once at start so a wrong URL is reported early (not fatal: the sink may be down). */
export async function probePostgres(url: string, warn: (m: string) => void): Promise<void> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  try {
    await c.connect()
  } catch (err) {
    warn(`postgres not reachable yet (${messageOf(err)}): events are spooled until it is`)
  } finally {
    await c.end().catch(() => {})
  }
}

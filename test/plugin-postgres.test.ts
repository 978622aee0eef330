import test, { type ExecutionContext } from 'ava'
import { join } from 'node:path'
import { sleep, tempDir, waitFor } from './helpers/env.js'
import { feedEvents, ndjson, outageMidStream, runPlugin, sessionEvents, startPluginFor, type PluginProc } from './helpers/plugin-proc.js'
import { postgresSkipReason, startPostgres, type PgServer } from './helpers/postgres.js'

const skip = postgresSkipReason()
const pgTest = skip ? test.skip : test.serial
if (skip) test('postgres sink', (t) => { t.log(`skipped: ${skip}`); t.pass() })

const SESSIONS = 20
const PER_SESSION = 30
const TOTAL = SESSIONS * PER_SESSION

let server: PgServer | null = null
test.before(async () => { if (!skip) server = await startPostgres() })
test.after.always(() => server?.destroy())

interface Row { session_id: string; state: string; orig_packets: string; events: number; timestamp: Date }

/**
 * Every session's row must show its last event (orig_packets = PER_SESSION) and `events` =
 * PER_SESSION: an event counts only when it is newer than what the row holds, so a lost or
 * out-of-order event leaves the count short, and a redelivered one does not add to it.
 */
async function checkTable(t: ExecutionContext, table: string): Promise<void> {
  const pg = server as PgServer
  const rows = await pg.query<Row>(`SELECT session_id, state, orig_packets, events FROM "${table}" ORDER BY session_id`)
  t.is(rows.length, SESSIONS, 'one row per session')
  for (const r of rows) {
    t.is(Number(r.orig_packets), PER_SESSION, r.session_id)
    t.is(r.events, PER_SESSION, `${r.session_id}: every event applied once, in order`)
    t.is(r.state, 'ESTABLISHED')
  }
  const dups = await pg.query<{ n: string }>(`SELECT count(*) - count(DISTINCT session_id) AS n FROM "${table}"`)
  t.is(Number(dups[0].n), 0)
}

/** Events applied so far (0 until the plugin has created the table). */
async function applied(table: string): Promise<number> {
  const pg = server as PgServer
  const exists = await pg.query<{ t: string | null }>(`SELECT to_regclass('${table}')::text AS t`)
  if (exists[0].t === null) return 0
  return Number((await pg.query<{ n: string }>(`SELECT coalesce(sum(events), 0) AS n FROM "${table}"`))[0].n)
}

const feed = (p: PluginProc, from: number, to: number) => feedEvents(p, sessionEvents(TOTAL, SESSIONS), from, to)

const started = (t: ExecutionContext, a: string[]) => startPluginFor(t, a)
/** Deadline for the runner to catch up; a loaded machine can take many seconds. */
const SLOW = 60000

function args(t: ExecutionContext, table: string): string[] {
  const { dir, cleanup } = tempDir('pzp-pgt-')
  t.teardown(cleanup)
  return ['-', 'postgres', '--pg-url', (server as PgServer).url, '--pg-table', table, '--spool-dir', join(dir, 'spool'),
    '--batch', '25', '--batch-ms', '20', '--retry-max', '0.5', '--plugin-timeout', '3']
}

pgTest('events flow into one row per session; replaying them changes nothing', async (t) => {
  const a = args(t, 'flow')
  const input = ndjson(sessionEvents(TOTAL, SESSIONS))
  const r = await runPlugin(a, input)
  t.is(r.code, 0, r.stderr)
  await checkTable(t, 'flow')
  // The same events again (an upstream replay): rows are not moved back, counts unchanged.
  const again = await runPlugin(a, input)
  t.is(again.code, 0, again.stderr)
  await checkTable(t, 'flow')
  const cols = await (server as PgServer).query<{ column_name: string }>(
    "SELECT column_name FROM information_schema.columns WHERE table_name = 'flow' ORDER BY ordinal_position")
  t.deepEqual(cols.slice(0, 10).map((c) => c.column_name),
    ['session_id', 'src_ip', 'dst_ip', 'src_port', 'dst_port', 'protocol_num', 'protocol_name', 'state', 'timestamp', 'payload'])
})

pgTest('server stopped for seconds mid-stream: every event arrives, in order, no duplicate rows', async (t) => {
  const pg = server as PgServer
  const p = started(t, args(t, 'outage'))
  await outageMidStream(t, p, {
    events: sessionEvents(TOTAL, SESSIONS), stored: () => applied('outage'), stop: () => pg.stop(), start: () => pg.start(),
    downMs: 3000, timeoutMs: SLOW,
  })
  await checkTable(t, 'outage')
})

pgTest('runner killed (SIGKILL) and restarted while the server is down: nothing lost', async (t) => {
  const pg = server as PgServer
  const a = args(t, 'killed')
  const p = started(t, a)
  await feed(p, 0, 150)
  await waitFor(async () => (await applied('killed')) === 150, SLOW, 'first 150')
  pg.stop()
  await feed(p, 150, 400)
  // Down: events are written through to the spool; wait until all of them are on disk.
  await waitFor(async () => {
    const before = p.stderr().length
    p.child.kill('SIGUSR1')
    await sleep(150)
    const c = p.counters()
    return p.stderr().length > before && c.received === 400 && c.in_spool === 250
  }, SLOW, 'events spooled')
  p.child.kill('SIGKILL')
  await p.exited
  // Restarted while the server is still down: it keeps the spool and adds to it.
  const p2 = started(t, a)
  await feed(p2, 400, 500)
  await sleep(1500)
  pg.start()
  await feed(p2, 500, TOTAL)
  p2.child.stdin?.end()
  t.is(await p2.exited, 0, p2.stderr())
  t.regex(p2.stderr(), /250 events left in the spool .* delivering them first/)
  t.like(p2.counters(), { received: 200, delivered: 450, in_spool: 0 })
  await checkTable(t, 'killed')
})

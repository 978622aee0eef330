import test, { type ExecutionContext } from 'ava'
import { join } from 'node:path'
import { tempDir } from './helpers/env.js'
import { clickhouseSkipReason, startClickHouse, type ClickHouseServer } from './helpers/clickhouse.js'
import { hostileEvents, NASTY } from './helpers/hostile-events.js'
import { ndjson, outageMidStream, runPlugin, sessionEvents, startPluginFor } from './helpers/plugin-proc.js'

const skip = clickhouseSkipReason()
const chTest = skip ? test.skip : test.serial
if (skip) test('clickhouse sink', (t) => { t.log(`skipped: ${skip}`); t.pass() })

const SESSIONS = 20
const PER_SESSION = 30
const TOTAL = SESSIONS * PER_SESSION
const SLOW = 60000

let server: ClickHouseServer | null = null
test.before(async () => { if (!skip) server = await startClickHouse() })
test.after.always(() => server?.destroy())

function args(t: ExecutionContext, table: string, extra: string[] = []): string[] {
  const { dir, cleanup } = tempDir('pzp-cht-')
  t.teardown(cleanup)
  return ['-', 'clickhouse', '--ch-url', (server as ClickHouseServer).url, '--ch-table', table, '--spool-dir', join(dir, 'spool'),
    '--batch', '25', '--batch-ms', '20', '--retry-max', '0.5', '--plugin-timeout', '3', ...extra]
}

const q = (sql: string) => (server as ClickHouseServer).query(sql)

/** Events seen once each (FINAL), 0 while the table does not exist yet. */
async function stored(table: string): Promise<number> {
  try {
    return Number((await q(`SELECT count() AS n FROM ${table} FINAL FORMAT JSONEachRow`))[0].n)
  } catch {
    return 0
  }
}

/**
 * Read with FINAL every event is there once: TOTAL rows, TOTAL distinct sorting keys, and each
 * session's rows in time order carry orig_packets 1..PER_SESSION.
 */
async function checkAll(t: ExecutionContext, table: string): Promise<void> {
  const rows = await q(`SELECT session_id, orig_packets FROM ${table} FINAL ORDER BY session_id, timestamp_us FORMAT JSONEachRow`)
  t.is(rows.length, TOTAL, 'one row per event with FINAL')
  const distinct = await q(`SELECT uniqExact(session_id, timestamp_us, event_key) AS n FROM ${table} FORMAT JSONEachRow`)
  t.is(Number(distinct[0].n), TOTAL, 'distinct events = total')
  const per = new Map<string, number[]>()
  for (const r of rows) per.set(r.session_id as string, [...(per.get(r.session_id as string) ?? []), Number(r.orig_packets)])
  t.is(per.size, SESSIONS)
  const want = Array.from({ length: PER_SESSION }, (_, k) => k + 1)
  for (const [sid, packets] of per) t.deepEqual(packets, want, sid)
}


chTest('every event is one row; the same events again are read once with FINAL', async (t) => {
  const a = args(t, 'flow')
  const input = ndjson(sessionEvents(TOTAL, SESSIONS))
  const r = await runPlugin(a, input)
  t.is(r.code, 0, r.stderr)
  await checkAll(t, 'flow')
  const again = await runPlugin(a, input)
  t.is(again.code, 0, again.stderr)
  // Both copies are stored; background merges may already have folded some of them.
  const raw = await q('SELECT count() AS n FROM flow FORMAT JSONEachRow')
  t.true(Number(raw[0].n) >= TOTAL && Number(raw[0].n) <= 2 * TOTAL, String(raw[0].n))
  await checkAll(t, 'flow')
  await q('OPTIMIZE TABLE flow FINAL')
  const merged = await q('SELECT count() AS n FROM flow FORMAT JSONEachRow')
  t.is(Number(merged[0].n), TOTAL, 'a merge keeps one copy of each event')
})

chTest('server killed mid-stream and restarted on its data: every event once, in order', async (t) => {
  const s = server as ClickHouseServer
  const p = startPluginFor(t, args(t, 'outage'))
  await outageMidStream(t, p, {
    events: sessionEvents(TOTAL, SESSIONS), stored: () => stored('outage'), stop: () => s.kill(), start: () => s.start(),
    downMs: 2000, timeoutMs: SLOW, failure: /plugin clickhouse failed: clickhouse http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/,
  })
  await checkAll(t, 'outage')
})

chTest('hostile values are stored safely and do not hold the batch up', async (t) => {
  const events = hostileEvents()
  const r = await runPlugin(args(t, 'hostile', ['--ch-database', 'pzp_hostile']), ndjson(events))
  t.is(r.code, 0, r.stderr)
  t.like(r.counters, { received: events.length, delivered: events.length, failed: 0 })
  const rows = await q('SELECT * FROM pzp_hostile.hostile FINAL FORMAT JSONEachRow')
  t.is(rows.length, events.length)
  const by = new Map(rows.map((row) => [row.session_id as string, row]))
  const sid = (i: number) => events[i].session_id as string
  const r0 = by.get(sid(0))!
  t.is(r0.history, NASTY)
  t.is(r0.sensor, NASTY)
  t.is(r0.tcp_state, 'x\ufffdy')
  t.is(r0.reason, '"')
  t.is(r0.community_id, '\\')
  t.deepEqual(JSON.parse(r0.payload as string), { dns: NASTY, n: 1e308 })
  const r1 = by.get(sid(1))!
  for (const k of ['orig_packets', 'orig_bytes', 'reply_packets', 'reply_bytes', 'duration', 'protocol_num']) t.is(r1[k], null, k)
  const r2 = by.get(sid(2))!
  t.is(r2.orig_packets, String(Number.MAX_SAFE_INTEGER))
  t.is(r2.sensor, '')
  t.is(r2.protocol_name, 'T C,P=\\')
  t.is(r2.state, 'EST\nABLISHED')
  const r3 = by.get(sid(3))!
  t.is(r3.timestamp_us, '0', 'no usable time: the epoch')
  t.is(r3.first_seen_us, null)
  t.is((r3.history as string).length, 16384)
  for (let i = 4; i < events.length; i++) t.is(by.get(sid(i))?.orig_packets, '1', `ordinary event ${i}`)
})

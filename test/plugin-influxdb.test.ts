import test, { type ExecutionContext } from 'ava'
import { join } from 'node:path'
import { tempDir } from './helpers/env.js'
import { hostileEvents, LONE, NASTY } from './helpers/hostile-events.js'
import { influxSkipReason, startInflux, type InfluxServer } from './helpers/influxdb.js'
import { ndjson, outageMidStream, runPlugin, sessionEvents, startPluginFor } from './helpers/plugin-proc.js'

const skip = influxSkipReason()
const influxTest = skip ? test.skip : test.serial
if (skip) test('influxdb sink', (t) => { t.log(`skipped: ${skip}`); t.pass() })

const SESSIONS = 20
const PER_SESSION = 30
const TOTAL = SESSIONS * PER_SESSION
const SLOW = 60000

let server: InfluxServer | null = null
test.before(async () => { if (!skip) server = await startInflux() })
test.after.always(() => server?.destroy())

const db = (name: string) => `t_${name}`

function args(t: ExecutionContext, name: string, batch = 25): string[] {
  const { dir, cleanup } = tempDir('pzp-ixt-')
  t.teardown(cleanup)
  return ['-', 'influxdb', '--influx-url', (server as InfluxServer).url, '--influx-db', db(name), '--spool-dir', join(dir, 'spool'),
    '--batch', String(batch), '--batch-ms', '20', '--retry-max', '0.5', '--plugin-timeout', '3']
}

/** Points stored so far (0 while the database does not exist yet). */
async function stored(name: string): Promise<number> {
  try {
    const r = await (server as InfluxServer).query(db(name), 'SELECT count(session_id) FROM sessions')
    return Number(r[0]?.count ?? 0)
  } catch {
    return 0
  }
}

/**
 * Every event is there once: TOTAL points, and each session's points in time order carry
 * orig_packets 1..PER_SESSION, so none is missing, doubled or out of place.
 */
async function checkAll(t: ExecutionContext, name: string): Promise<void> {
  const rows = await (server as InfluxServer).query(db(name), 'SELECT session_id, orig_packets, state FROM sessions')
  t.is(rows.length, TOTAL, 'one point per event')
  const per = new Map<string, number[]>()
  for (const r of rows) per.set(r.session_id as string, [...(per.get(r.session_id as string) ?? []), r.orig_packets as number])
  t.is(per.size, SESSIONS)
  const want = Array.from({ length: PER_SESSION }, (_, k) => k + 1)
  for (const [sid, packets] of per) t.deepEqual(packets, want, sid)
  const states = await (server as InfluxServer).query(db(name), 'SELECT count(session_id) FROM sessions GROUP BY state')
  t.is(states.length, 1, 'GROUP BY state answers per tag: NEW and ESTABLISHED are one query each')
}


influxTest('every event is one point; the same events again change nothing', async (t) => {
  const a = args(t, 'flow')
  const input = ndjson(sessionEvents(TOTAL, SESSIONS))
  const r = await runPlugin(a, input)
  t.is(r.code, 0, r.stderr)
  await checkAll(t, 'flow')
  const again = await runPlugin(a, input)
  t.is(again.code, 0, again.stderr)
  await checkAll(t, 'flow')
})

influxTest('server killed mid-stream and restarted on its data: every event once, in order', async (t) => {
  const s = server as InfluxServer
  const p = startPluginFor(t, args(t, 'outage'))
  await outageMidStream(t, p, {
    events: sessionEvents(TOTAL, SESSIONS), stored: () => stored('outage'), stop: () => s.kill(), start: () => s.start(),
    downMs: 2000, timeoutMs: SLOW, failure: /plugin influxdb failed: influxdb http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/,
  })
  await checkAll(t, 'outage')
})

influxTest('many sessions in one microsecond with the same tags: distinct points, none overwritten', async (t) => {
  const n = 500
  const events = sessionEvents(n, n).map((e) => ({ ...e, timestamp: '2026-11-23T09:00:00.123456', state: 'EXPIRED' }))
  const a = args(t, 'burst', 100)
  for (let i = 0; i < 2; i++) {
    const r = await runPlugin(a, ndjson(events))
    t.is(r.code, 0, r.stderr)
    t.is(await stored('burst'), n)
  }
})

influxTest('hostile values are stored safely and do not hold the batch up', async (t) => {
  const events = hostileEvents()
  const r = await runPlugin(args(t, 'hostile'), ndjson(events))
  t.is(r.code, 0, r.stderr)
  t.like(r.counters, { received: events.length, delivered: events.length, failed: 0 })
  const rows = await (server as InfluxServer).query(db('hostile'), 'SELECT * FROM sessions')
  t.is(rows.length, events.length)
  const by = new Map(rows.map((row) => [row.session_id as string, row]))
  const sid = (i: number) => events[i].session_id as string
  const r0 = by.get(sid(0))!
  t.is(r0.history, NASTY)
  t.is(r0.tcp_state, 'x\ufffdy', LONE)
  t.is(r0.reason, '"')
  t.is(r0.community_id, '\\')
  t.deepEqual(JSON.parse(r0.payload as string), { dns: NASTY, n: 1e308 })
  t.regex(r0.sensor as string, /^a"b'c,d=e f_g_h__i_j_\[31mk__ _l\u{1f600}m_$/u)
  const r1 = by.get(sid(1))!
  for (const k of ['orig_packets', 'orig_bytes', 'reply_packets', 'reply_bytes', 'duration', 'protocol_num']) t.is(r1[k], null, k)
  const r2 = by.get(sid(2))!
  t.is(r2.orig_packets, Number.MAX_SAFE_INTEGER)
  t.is(r2.sensor, null)
  t.is(r2.protocol_name, 'T C,P=_')
  t.is(r2.state, 'EST_ABLISHED')
  const r3 = by.get(sid(3))!
  t.true((r3.time as number) < 1000, 'no usable time: the epoch (plus its slot)')
  t.is((r3.history as string).length, 16384)
  for (let i = 4; i < events.length; i++) t.is(by.get(sid(i))?.orig_packets, 1, `ordinary event ${i}`)
})

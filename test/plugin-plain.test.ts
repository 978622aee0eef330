import test from 'ava'
import { createSocket } from 'node:dgram'
import { Writable } from 'node:stream'
import { createPlainPlugin, formatPlain } from '../lib/plugin/builtin/plain.js'
import { ReverseDns } from '../lib/plugin/builtin/rdns.js'
import type { SessionEvent } from '../lib/plugin/event.js'
import { waitFor } from './helpers/env.js'
import { sessionEvents } from './helpers/plugin-proc.js'

/** A DNS server that answers nothing: every query hangs until the resolver's timeout. */
async function blackhole(t: { teardown: (f: () => void) => void }): Promise<string> {
  const sock = createSocket('udp4')
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()))
  t.teardown(() => sock.close())
  return `127.0.0.1:${sock.address().port}`
}

test('plain never waits for a slow resolver: lines go out at once, without names', async (t) => {
  const server = await blackhole(t)
  let text = ''
  const out = new Writable({ write(chunk, _enc, cb) { text += chunk.toString(); cb() } })
  const plugin = createPlainPlugin({ rdns: true, color: false, out, servers: [server] })
  const events = sessionEvents(1000, 1000) as unknown as SessionEvent[]
  events.forEach((e, i) => { e.dst_ip = `192.0.2.${i % 250}` })
  const t0 = Date.now()
  const r = plugin.deliver(events, events.length, { done: 0, cancelled: false })
  t.is(r, undefined, 'synchronous')
  // Returning synchronously already rules out waiting on the resolver; the bound is loose for loaded machines.
  t.true(Date.now() - t0 < 2000, `${Date.now() - t0} ms`)
  const lines = text.trim().split('\n')
  t.is(lines.length, 1000)
  t.regex(lines[0], /^\[2026-11-23T09:00:00\.000000\] 10\.0\.0\.1:40000 -> 192\.0\.2\.0:443 Protocol: TCP \(6\), State: NEW, Session: /)
  await plugin.close()
})

test('reverse DNS: answers from the cache, failures cached, entries expire after the TTL', async (t) => {
  const server = await blackhole(t)
  const rdns = new ReverseDns(200, 4, 100, 100_000, [server])
  t.teardown(() => rdns.cancel())
  // Ages are given as `now`, so a slow machine cannot move the answer past the TTL meanwhile.
  const asked = Date.now()
  t.is(rdns.lookup('192.0.2.1', asked), undefined)
  // Until the query times out, lookups at the same time answer undefined and start nothing new.
  await waitFor(() => rdns.lookup('192.0.2.1', asked) === null, 30000, 'the query to time out')
  // Stored between `asked` and now: still fresh just under the TTL after asking, stale a TTL after now.
  const failedBy = Date.now()
  t.is(rdns.lookup('192.0.2.1', asked + 199), null, 'timed-out lookup cached as a failure')
  t.is(rdns.lookup('192.0.2.1', failedBy + 200), undefined, 'expired after the TTL: looked up again')
})

test('plain format: the destination name when known, colour per state', (t) => {
  const e = sessionEvents(1)[0] as unknown as SessionEvent
  t.is(formatPlain({ ...e, state: 'CLOSE' }, 'localhost', true),
    '\x1b[91m[2026-11-23T09:00:00.000000] 10.0.0.1:40000 -> 127.0.0.1 (localhost):443 Protocol: TCP (6), State: CLOSE, Session: 0190a5b2-0000-7000-8000-000000000000\x1b[0m')
  t.true(formatPlain({ ...e, state: 'EXPIRED' }, null, true).startsWith('\x1b[93m'))
})

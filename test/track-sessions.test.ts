import { SessionStore } from '../lib/track/session-store.js'
import test from 'ava'
import { trackerHarness } from './helpers/track-run.js'
import { uuid7Millis, Uuid7Source, formatUuid, UUID_STORED } from '../lib/track/uuid7.js'

const T0 = 1_700_000_000
const dnsQuery = (name: string) => {
  const labels = name.split('.').flatMap((l) => [Buffer.from([l.length]), Buffer.from(l)])
  return Buffer.concat([Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, 0, 1, 0, 1])])
}

test('UDP: NEW, REPLIED, EXPIRED after 30 s for DNS with the query name', (t) => {
  const h = trackerHarness()
  h.feed(T0, { src: '10.0.0.1', dst: '10.0.0.53', proto: 'udp', sport: 5555, dport: 53, payload: dnsQuery('www.example.com') })
  h.feed(T0 + 0.01, { src: '10.0.0.53', dst: '10.0.0.1', proto: 'udp', sport: 53, dport: 5555, payload: 'answer' })
  h.feed(T0 + 0.02, { src: '10.0.0.53', dst: '10.0.0.1', proto: 'udp', sport: 53, dport: 5555, payload: 'again' })
  h.tracker.advance((T0 + 29) * 1e6)
  t.deepEqual(h.states(), ['NEW', 'REPLIED'])
  h.tracker.advance((T0 + 31) * 1e6)
  t.deepEqual(h.states(), ['NEW', 'REPLIED', 'EXPIRED'])
  const [n, , x] = h.events
  t.deepEqual(n.payload, { dns: 'www.example.com' })
  t.is(x.timestamp, '2023-11-14T22:13:50.020000')
  t.is(x.reply_packets, 2)
  t.is(x.history, 'Dd')
  t.is(x.reason, 'idle')
})

test('UDP elsewhere waits 120 s; traffic keeps it alive (lazy wheel rescheduling)', (t) => {
  const h = trackerHarness()
  const p = { src: '10.0.0.1', dst: '10.0.0.9', proto: 'udp' as const, sport: 1000, dport: 9999, payload: 'x' }
  h.feed(T0, p)
  h.feed(T0 + 100, p)
  h.tracker.advance((T0 + 219) * 1e6)
  t.deepEqual(h.states(), ['NEW'])
  h.tracker.advance((T0 + 223) * 1e6)
  t.deepEqual(h.states(), ['NEW', 'EXPIRED'])
  t.is(h.events[1].orig_packets, 2)
})

test('per-port UDP timeout from the config', (t) => {
  const h = trackerHarness({ timeouts: { tcp: [120, 120, 60, 432000, 120, 60, 30, 120, 10, 120], udp: 120, udpPorts: new Map([[123, 5]]), icmp: 30, other: 600 } })
  h.feed(T0, { src: '10.0.0.1', dst: '10.0.0.9', proto: 'udp', sport: 123, dport: 123, payload: 'x' })
  h.tracker.advance((T0 + 6) * 1e6)
  t.deepEqual(h.states(), ['NEW', 'EXPIRED'])
})

test('ICMP echo: one session per identifier, reply joins it, ports null', (t) => {
  const h = trackerHarness()
  h.feed(T0, { src: '10.0.0.1', dst: '10.0.0.2', proto: 'icmp', icmpType: 8, icmpId: 7 })
  h.feed(T0 + 0.001, { src: '10.0.0.2', dst: '10.0.0.1', proto: 'icmp', icmpType: 0, icmpId: 7 })
  h.feed(T0 + 0.002, { src: '10.0.0.1', dst: '10.0.0.2', proto: 'icmp', icmpType: 8, icmpId: 8 })
  t.deepEqual(h.states(), ['NEW', 'REPLIED', 'NEW'])
  t.is(h.events[0].src_port, null)
  t.is(h.events[0].protocol_name, 'ICMP')
  t.is(h.events[0].session_id, h.events[1].session_id)
  t.not(h.events[0].session_id, h.events[2].session_id)
  h.tracker.advance((T0 + 31) * 1e6)
  t.is(h.states().filter((s) => s === 'EXPIRED').length, 2)
})

test('ICMPv6 echo and IPv6 text', (t) => {
  const h = trackerHarness()
  h.feed(T0, { src: '2001:db8::1', dst: '2001:db8::2', proto: 'icmp', icmpType: 128, icmpId: 3 })
  h.feed(T0 + 0.001, { src: '2001:db8::2', dst: '2001:db8::1', proto: 'icmp', icmpType: 129, icmpId: 3 })
  t.deepEqual(h.states(), ['NEW', 'REPLIED'])
  t.is(h.events[0].src_ip, '2001:db8::1')
  t.is(h.events[0].protocol_name, 'ICMPv6')
  t.is(h.events[0].protocol_num, 58)
})

test('flush at end of input reports open sessions as EXPIRED with reason eof', (t) => {
  const h = trackerHarness()
  h.feed(T0, { src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', sport: 1, dport: 2, payload: 'x' })
  h.feed(T0 + 1, { src: '10.0.0.1', dst: '10.0.0.2', proto: 'tcp', sport: 3, dport: 4, flags: 'S' })
  h.tracker.flush()
  t.deepEqual(h.states(), ['NEW', 'NEW', 'EXPIRED', 'EXPIRED'])
  t.true(h.events.slice(2).every((e) => e.reason === 'eof' && e.timestamp === '2023-11-14T22:13:21.000000'))
  t.is(h.tracker.live, 0)
})

test('max sessions: with equal timeouts the least recently seen is evicted and counted', (t) => {
  const h = trackerHarness({ maxSessions: 3 })
  for (let i = 1; i <= 3; i++) h.feed(T0 + i, { src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', sport: i, dport: 9, payload: 'x' })
  h.feed(T0 + 4, { src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', sport: 1, dport: 9, payload: 'x' })
  h.feed(T0 + 5, { src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', sport: 4, dport: 9, payload: 'x' })
  const ev = h.events.filter((e) => e.state === 'EXPIRED')
  t.is(ev.length, 1)
  t.is(ev[0].src_port, 2)
  t.is(ev[0].reason, 'evicted')
  t.is(h.tracker.stats.evicted, 1)
  t.is(h.tracker.live, 3)
})

test('max sessions: the session closest to expiring is evicted, also when its bucket is behind a stale one', (t) => {
  const h = trackerHarness({ maxSessions: 2 })
  // Port 9: the UDP default of 120 s; port 53: DNS, 30 s.
  h.feed(T0, { src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', sport: 1000, dport: 9, payload: 'x' })
  // Seen again: its deadline moves to T0 + 220, but it still sits in the wheel's bucket for T0 + 120.
  h.feed(T0 + 100, { src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', sport: 1000, dport: 9, payload: 'x' })
  h.feed(T0 + 101, { src: '10.0.0.1', dst: '10.0.0.3', proto: 'udp', sport: 1001, dport: 53, payload: 'x' })
  h.feed(T0 + 102, { src: '10.0.0.1', dst: '10.0.0.4', proto: 'udp', sport: 1002, dport: 9, payload: 'x' })
  const ev = h.events.filter((e) => e.state === 'EXPIRED')
  t.is(ev.length, 1)
  // Least recently seen is port 9's (T0 + 100), but the DNS one is due first (T0 + 131).
  t.like(ev[0], { dst_port: 53, reason: 'evicted' })
  t.is(h.tracker.live, 2)
  // The port 9 session was rescheduled on the way, not lost: it expires at its real deadline.
  h.tracker.advance((T0 + 223) * 1e6)
  t.deepEqual(h.events.filter((e) => e.state === 'EXPIRED').map((e) => [e.dst_ip, e.reason]), [['10.0.0.3', 'evicted'], ['10.0.0.2', 'idle'], ['10.0.0.4', 'idle']])
})

test('the table grows and shrinks without losing sessions (index rebuild, backward-shift delete)', (t) => {
  const h = trackerHarness({ initialSessions: 16, maxSessions: 100000 })
  for (let i = 0; i < 5000; i++) h.feed(T0, { src: '10.0.0.1', dst: `10.1.${i >> 8}.${i & 255}`, proto: 'udp', sport: 1000, dport: 2000, payload: 'x' })
  for (let i = 0; i < 5000; i++) h.feed(T0 + 1, { src: `10.1.${i >> 8}.${i & 255}`, dst: '10.0.0.1', proto: 'udp', sport: 2000, dport: 1000, payload: 'y' })
  t.is(h.tracker.live, 5000)
  t.is(h.states().filter((s) => s === 'REPLIED').length, 5000)
  h.tracker.advance((T0 + 200) * 1e6)
  t.is(h.tracker.live, 0)
  t.is(h.states().filter((s) => s === 'EXPIRED').length, 5000)
})

test('UUIDv7: time from the first packet, sorted by session start, monotonic within a millisecond', (t) => {
  const h = trackerHarness()
  for (let i = 0; i < 50; i++) h.feed(T0 + 0.0001 * i, { src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', sport: 100 + i, dport: 9, payload: 'x' })
  const ids = h.events.map((e) => e.session_id)
  t.deepEqual([...ids].sort(), ids)
  t.is(new Set(ids).size, 50)
  t.is(uuid7Millis(ids[0]), T0 * 1000)
  t.true(ids.every((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id)))
  // Counter overflow borrows the next millisecond and still sorts.
  const src = new Uuid7Source()
  const b = new Uint8Array(UUID_STORED)
  let prev = ''
  const seen = new Set<string>()
  for (let i = 0; i < 5000; i++) {
    src.write(1000, b, 0)
    const id = formatUuid(1000, b, 0)
    t.true(id > prev)
    prev = id
    seen.add(id)
  }
  t.is(uuid7Millis(prev), 1001, 'the 4097th id of a millisecond borrows the next')
  // 16 x 4096 ids in one millisecond: borrowed up to 15 ahead, then the counter wraps; all still unique.
  for (let i = 5000; i < 70000; i++) {
    src.write(1000, b, 0)
    seen.add(formatUuid(1000, b, 0))
  }
  t.is(seen.size, 70000)
  t.is(uuid7Millis(formatUuid(1000, b, 0)), 1015)
})

test('session store: byte counters carry past 4 GiB; long timeouts are kept in minutes', (t) => {
  const st = new SessionStore(16, 16)
  const row = st.alloc()
  st.addBytes(row, 0, 0xffffffff)
  st.addBytes(row, 0, 2)
  st.addBytes(row, 1, 1500)
  t.is(st.bytesOf(row, 0), 2 ** 32 + 1)
  t.is(st.bytesOf(row, 1), 1500)
  for (let i = 0; i < 3000; i++) st.addBytes(row, 1, 0xffffffff)
  t.is(st.bytesOf(row, 1), 1500 + 3000 * 0xffffffff)
  st.setTimeoutSeconds(row, 30)
  t.is(st.timeoutSeconds(row), 30)
  st.setTimeoutSeconds(row, 32767)
  t.is(st.timeoutSeconds(row), 32767)
  st.setTimeoutSeconds(row, 432000) // conntrack's established TCP: 5 days, whole minutes
  t.is(st.timeoutSeconds(row), 432000)
  st.setTimeoutSeconds(row, 40000)
  t.is(st.timeoutSeconds(row), 40020, 'rounded up to the minute')
  st.setIcmp(row, 8, 0)
  t.is(st.icmpOf(row), 8 << 8)
})

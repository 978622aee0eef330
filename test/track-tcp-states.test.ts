import test from 'ava'
import { trackerHarness } from './helpers/track-run.js'

const C = '10.0.0.1'
const S = '10.0.0.2'
const T0 = 1_700_000_000
const out = (flags: string, payload = '') => ({ src: C, dst: S, proto: 'tcp' as const, sport: 40000, dport: 80, flags, payload })
const back = (flags: string, payload = '') => ({ src: S, dst: C, proto: 'tcp' as const, sport: 80, dport: 40000, flags, payload })

test('handshake, data and FIN close: NEW, ESTABLISHED, CLOSE with counts and history', (t) => {
  const h = trackerHarness()
  h.feed(T0, out('S'))
  h.feed(T0 + 0.001, back('SA'))
  h.feed(T0 + 0.002, out('A'))
  h.feed(T0 + 0.003, out('PA', 'GET / HTTP/1.1\r\nHost: example.org\r\n\r\n'))
  h.feed(T0 + 0.004, back('PA', 'HTTP/1.1 200 OK\r\n\r\n'))
  h.feed(T0 + 0.005, out('FA'))
  h.feed(T0 + 0.006, back('FA'))
  h.feed(T0 + 0.007, out('A'))
  t.deepEqual(h.states(), ['NEW', 'ESTABLISHED', 'CLOSE'])
  const [n, e, c] = h.events
  t.is(n.src_ip, C)
  t.is(n.dst_port, 80)
  t.is(n.tcp_state, 'SYN_SENT')
  t.is(e.tcp_state, 'ESTABLISHED')
  t.is(e.timestamp, '2023-11-14T22:13:20.002000')
  t.is(c.reason, 'fin')
  t.is(c.tcp_state, 'TIME_WAIT')
  t.is(c.orig_packets, 5)
  t.is(c.reply_packets, 3)
  t.is(c.orig_bytes, 40 * 5 + 37)
  t.is(c.history, 'ShADdFf')
  t.deepEqual(c.payload, { host: 'example.org' })
  t.is(c.duration, 0.007)
  t.true(n.session_id === e.session_id && e.session_id === c.session_id)
  // The closed connection lingers in TIME_WAIT (120 s) and leaves with DESTROY, its final counts.
  h.tracker.advance((T0 + 1000) * 1e6)
  t.deepEqual(h.states(), ['NEW', 'ESTABLISHED', 'CLOSE', 'DESTROY'])
  t.like(h.events[3], { reason: 'idle', orig_packets: 5, reply_packets: 3, history: 'ShADdFf', timestamp: '2023-11-14T22:15:20.007000', session_id: n.session_id })
  t.is(h.tracker.live, 0)
})

test('RST aborts; reply RST to a SYN is ABORT too', (t) => {
  const h = trackerHarness()
  h.feed(T0, out('S'))
  h.feed(T0 + 0.001, back('SA'))
  h.feed(T0 + 0.002, out('A'))
  h.feed(T0 + 0.003, back('RA'))
  t.deepEqual(h.states(), ['NEW', 'ESTABLISHED', 'ABORT'])
  t.is(h.events[2].reason, 'rst')
  t.is(h.events[2].history, 'ShAr')
  const r = trackerHarness()
  r.feed(T0, out('S'))
  r.feed(T0 + 0.001, back('RA'))
  t.deepEqual(r.states(), ['NEW', 'ABORT'])
  t.is(r.events[1].tcp_state, 'CLOSE')
})

test('simultaneous close reaches TIME_WAIT once', (t) => {
  const h = trackerHarness()
  h.feed(T0, out('S'))
  h.feed(T0 + 0.001, back('SA'))
  h.feed(T0 + 0.002, out('A'))
  h.feed(T0 + 0.003, out('FA'))
  h.feed(T0 + 0.003, back('FA'))
  h.feed(T0 + 0.004, out('A'))
  h.feed(T0 + 0.004, back('A'))
  t.deepEqual(h.states(), ['NEW', 'ESTABLISHED', 'CLOSE'])
  t.is(h.events[2].orig_packets + h.events[2].reply_packets, 6)
})

test('mid-stream pickup reports ESTABLISHED from the first packet, then closes', (t) => {
  const h = trackerHarness()
  h.feed(T0, out('PA', 'x'))
  h.feed(T0 + 1, back('A'))
  h.feed(T0 + 2, back('FA'))
  h.feed(T0 + 3, out('FA'))
  h.feed(T0 + 4, back('A'))
  t.deepEqual(h.states(), ['ESTABLISHED', 'CLOSE'])
  t.is(h.events[0].src_ip, C)
  t.is(h.events[0].history, 'D')
})

test('a SYN-ACK first makes its receiver the originator', (t) => {
  const h = trackerHarness()
  h.feed(T0, back('SA'))
  h.feed(T0 + 0.001, out('A'))
  t.deepEqual(h.states(), ['NEW', 'ESTABLISHED'])
  t.is(h.events[0].src_ip, C)
  t.is(h.events[0].src_port, 40000)
  t.is(h.events[1].history, '^hA')
})

test('a new SYN after close starts a new session with a later id', (t) => {
  const h = trackerHarness()
  h.feed(T0, out('S'))
  h.feed(T0 + 0.001, back('RA'))
  h.feed(T0 + 0.5, out('S'))
  // The closed one ends (DESTROY, reason reused) before the new one starts.
  t.deepEqual(h.states(), ['NEW', 'ABORT', 'DESTROY', 'NEW'])
  t.like(h.events[2], { reason: 'reused', session_id: h.events[0].session_id, timestamp: '2023-11-14T22:13:20.500000' })
  t.not(h.events[0].session_id, h.events[3].session_id)
  t.true(h.events[3].session_id > h.events[0].session_id)
})

test('idle TCP expires per state: SYN_SENT after 120 s, ESTABLISHED after 5 days', (t) => {
  const h = trackerHarness()
  h.feed(T0, out('S'))
  h.tracker.advance((T0 + 119) * 1e6)
  t.deepEqual(h.states(), ['NEW'])
  h.tracker.advance((T0 + 121) * 1e6)
  t.deepEqual(h.states(), ['NEW', 'EXPIRED'])
  t.is(h.events[1].timestamp, '2023-11-14T22:15:20.000000')
  t.is(h.events[1].reason, 'idle')
  const e = trackerHarness()
  e.feed(T0, out('PA', 'x'))
  e.feed(T0 + 3000, out('PA', 'x'))
  e.tracker.advance((T0 + 3000 + 431999) * 1e6)
  t.deepEqual(e.states(), ['ESTABLISHED'])
  e.tracker.advance((T0 + 3000 + 432001) * 1e6)
  t.deepEqual(e.states(), ['ESTABLISHED', 'EXPIRED'])
})

test('custom TCP timeouts apply', (t) => {
  const tcp = [120, 5, 60, 432000, 120, 60, 30, 120, 10, 120]
  const h = trackerHarness({ timeouts: { tcp, udp: 120, udpPorts: new Map(), icmp: 30, other: 600 } })
  h.feed(T0, out('S'))
  h.tracker.advance((T0 + 6) * 1e6)
  t.deepEqual(h.states(), ['NEW', 'EXPIRED'])
})

import test from 'ava'
import { trackerHarness } from './helpers/track-run.js'

// Each way a TCP connection ends, with what comes after the end: the session reports CLOSE/ABORT
// when it happens, keeps counting through its linger (TIME_WAIT 120 s, CLOSE 10 s), and DESTROY
// carries the final counters. Packets 40 bytes (IP + TCP headers) unless they carry payload.
const C = '10.0.0.1'
const S = '10.0.0.2'
const T0 = 1_700_000_000
const out = (flags: string, payload = '') => ({ src: C, dst: S, proto: 'tcp' as const, sport: 40000, dport: 80, flags, payload })
const back = (flags: string, payload = '') => ({ src: S, dst: C, proto: 'tcp' as const, sport: 80, dport: 40000, flags, payload })

function open(h: ReturnType<typeof trackerHarness>): void {
  h.feed(T0, out('S'))
  h.feed(T0 + 0.001, back('SA'))
  h.feed(T0 + 0.002, out('A'))
}

const counts = (e: { orig_packets: number; reply_packets: number; orig_bytes: number; reply_bytes: number }) =>
  [e.orig_packets, e.reply_packets, e.orig_bytes, e.reply_bytes]

test('FIN, FIN, ACK: CLOSE at the last ACK, DESTROY when TIME_WAIT runs out', (t) => {
  const h = trackerHarness()
  open(h)
  h.feed(T0 + 0.003, out('FA'))
  h.feed(T0 + 0.004, back('FA'))
  h.feed(T0 + 0.005, out('A'))
  h.tracker.advance((T0 + 119) * 1e6)
  t.deepEqual(h.states(), ['NEW', 'ESTABLISHED', 'CLOSE'])
  h.tracker.advance((T0 + 121) * 1e6)
  t.deepEqual(h.states(), ['NEW', 'ESTABLISHED', 'CLOSE', 'DESTROY'])
  const [, , close, destroy] = h.events
  t.deepEqual(counts(close), [4, 2, 160, 80])
  t.deepEqual(counts(destroy), [4, 2, 160, 80])
  t.like(destroy, { reason: 'idle', tcp_state: 'TIME_WAIT', history: 'ShAFf', timestamp: '2023-11-14T22:15:20.005000', duration: 0.005 })
  t.is(h.tracker.live, 0)
})

test('RST: ABORT at once; a second RST in the CLOSE linger is counted in DESTROY 10 s later', (t) => {
  const h = trackerHarness()
  open(h)
  h.feed(T0 + 0.003, back('R'))
  h.feed(T0 + 0.004, back('R'))
  h.tracker.advance((T0 + 9) * 1e6)
  t.deepEqual(h.states(), ['NEW', 'ESTABLISHED', 'ABORT'])
  h.tracker.advance((T0 + 11) * 1e6)
  t.deepEqual(h.states(), ['NEW', 'ESTABLISHED', 'ABORT', 'DESTROY'])
  const [, , abort, destroy] = h.events
  t.deepEqual(counts(abort), [2, 2, 80, 80])
  t.deepEqual(counts(destroy), [2, 3, 80, 120])
  t.like(destroy, { reason: 'idle', tcp_state: 'CLOSE', history: 'ShAr', last_seen: '2023-11-14T22:13:20.004000', duration: 0.004 })
})

test('RST after FIN: CLOSE_WAIT then ABORT, and the RST-ACK that follows is in DESTROY', (t) => {
  const h = trackerHarness()
  open(h)
  h.feed(T0 + 0.003, out('FA'))
  h.feed(T0 + 0.004, back('A'))
  h.feed(T0 + 0.005, back('RA'))
  h.feed(T0 + 0.006, out('RA'))
  h.tracker.flush()
  t.deepEqual(h.states(), ['NEW', 'ESTABLISHED', 'ABORT', 'DESTROY'])
  const [, , abort, destroy] = h.events
  t.like(abort, { reason: 'rst', tcp_state: 'CLOSE' })
  t.deepEqual(counts(abort), [3, 3, 120, 120])
  t.deepEqual(counts(destroy), [4, 3, 160, 120])
  t.like(destroy, { reason: 'eof', history: 'ShAFarR' })
})

test('a retransmitted FIN and a repeated last ACK after CLOSE are counted in DESTROY, not in a new session', (t) => {
  const h = trackerHarness()
  open(h)
  h.feed(T0 + 0.003, out('FA'))
  h.feed(T0 + 0.004, back('FA'))
  h.feed(T0 + 0.005, out('A'))
  h.feed(T0 + 0.3, back('FA')) // the server missed the last ACK and retransmits its FIN
  h.feed(T0 + 0.301, out('A'))
  h.tracker.advance((T0 + 200) * 1e6)
  t.deepEqual(h.states(), ['NEW', 'ESTABLISHED', 'CLOSE', 'DESTROY'])
  t.is(h.tracker.stats.sessions, 1)
  const destroy = h.events[3]
  t.deepEqual(counts(h.events[2]), [4, 2, 160, 80])
  t.deepEqual(counts(destroy), [5, 3, 200, 120])
  // TIME_WAIT restarts with the last packet: 120 s after it.
  t.like(destroy, { last_seen: '2023-11-14T22:13:20.301000', timestamp: '2023-11-14T22:15:20.301000', reason: 'idle' })
})

test('simultaneous close: both FINs cross, one CLOSE, one DESTROY with every packet', (t) => {
  const h = trackerHarness()
  open(h)
  h.feed(T0 + 0.003, out('FA'))
  h.feed(T0 + 0.003, back('FA'))
  h.feed(T0 + 0.004, out('A'))
  h.feed(T0 + 0.004, back('A'))
  h.tracker.flush()
  t.deepEqual(h.states(), ['NEW', 'ESTABLISHED', 'CLOSE', 'DESTROY'])
  t.deepEqual(counts(h.events[3]), [4, 3, 160, 120])
  t.like(h.events[3], { reason: 'eof', tcp_state: 'TIME_WAIT' })
})

test('SYN reuse after close: the old session is destroyed (reason reused), a new one starts with its own id', (t) => {
  const h = trackerHarness()
  open(h)
  h.feed(T0 + 0.003, out('FA'))
  h.feed(T0 + 0.004, back('FA'))
  h.feed(T0 + 0.005, out('A'))
  h.feed(T0 + 5, out('S'))
  h.feed(T0 + 5.001, back('SA'))
  h.feed(T0 + 5.002, out('A'))
  t.deepEqual(h.states(), ['NEW', 'ESTABLISHED', 'CLOSE', 'DESTROY', 'NEW', 'ESTABLISHED'])
  const [first, , , destroy, again] = h.events
  t.like(destroy, { reason: 'reused', session_id: first.session_id, timestamp: '2023-11-14T22:13:25.000000' })
  t.deepEqual(counts(destroy), [4, 2, 160, 80])
  t.not(again.session_id, first.session_id)
  t.deepEqual(counts(again), [1, 0, 40, 0])
  t.is(h.tracker.stats.sessions, 2)
})

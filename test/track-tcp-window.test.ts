import test from 'ava'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { corpusDir } from './helpers/env.js'
import { readCaptureFile } from './helpers/capture-file.js'
import { trackerHarness } from './helpers/track-run.js'
import { decodeSummary } from '../lib/decode/summary-decoder.js'
import { createSummary } from '../lib/decode/summary.js'
import { Tracker } from '../lib/track/tracker.js'
import { seqAfter, seqBefore } from '../lib/track/tcp-window.js'

// conntrack's sequence-window checks (tcp_in_window) on crafted connections with real sequence
// numbers: client 10.0.0.1:40000 (ISN 1000) to server 10.0.0.2:80 (ISN 5000) unless a test says.
const C = '10.0.0.1'
const S = '10.0.0.2'
const T0 = 1_700_000_000
type Seg = { flags: string; seq: number; ack?: number; win?: number; payload?: string | Buffer; options?: Buffer }
const out = (g: Seg) => ({ src: C, dst: S, proto: 'tcp' as const, sport: 40000, dport: 80, ...g })
const back = (g: Seg) => ({ src: S, dst: C, proto: 'tcp' as const, sport: 80, dport: 40000, ...g })
/** TCPOPT_WINDOW with shift `n`, after a NOP (as stacks send it). */
const wscale = (n: number) => Buffer.from([1, 3, 3, n])

type Harness = ReturnType<typeof trackerHarness>

/** SYN, SYN-ACK, ACK: the client's next seq is 1001, the server's 5001. */
function open(h: Harness, opts: { c?: Buffer; s?: Buffer } = {}): void {
  h.feed(T0, out({ flags: 'S', seq: 1000, options: opts.c }))
  h.feed(T0 + 0.001, back({ flags: 'SA', seq: 5000, ack: 1001, options: opts.s }))
  h.feed(T0 + 0.002, out({ flags: 'A', seq: 1001, ack: 5001 }))
}

/** The session's state as its last event reports it (flush ends every session with one). */
function finalState(h: Harness): string {
  h.tracker.flush()
  return h.events[h.events.length - 1].tcp_state as string
}

test('seqBefore/seqAfter compare across the 2^32 wrap', (t) => {
  t.true(seqBefore(0xfffffff0, 0x10))
  t.true(seqAfter(0x10, 0xfffffff0))
  t.false(seqBefore(0x10, 0xfffffff0))
  t.false(seqAfter(5, 5))
  t.true(seqBefore(1, 2))
})

test('handshake, data and FIN close with real numbers: the same events as before, nothing invalid', (t) => {
  const h = trackerHarness()
  open(h)
  const req = 'GET / HTTP/1.1\r\nHost: example.org\r\n\r\n'
  const resp = 'HTTP/1.1 200 OK\r\n\r\n'
  h.feed(T0 + 0.003, out({ flags: 'PA', seq: 1001, ack: 5001, payload: req }))
  h.feed(T0 + 0.004, back({ flags: 'PA', seq: 5001, ack: 1001 + req.length, payload: resp }))
  h.feed(T0 + 0.005, out({ flags: 'FA', seq: 1001 + req.length, ack: 5001 + resp.length }))
  h.feed(T0 + 0.006, back({ flags: 'FA', seq: 5001 + resp.length, ack: 1002 + req.length }))
  h.feed(T0 + 0.007, out({ flags: 'A', seq: 1002 + req.length, ack: 5002 + resp.length }))
  t.deepEqual(h.states(), ['NEW', 'ESTABLISHED', 'CLOSE'])
  t.like(h.events[2], { reason: 'fin', tcp_state: 'TIME_WAIT', orig_packets: 5, reply_packets: 3, history: 'ShADdFf' })
  t.is(h.tracker.stats.tcpInvalid, 0)
  t.is(h.tracker.stats.tcpOutOfWindow, 0)
})

test('an RST far outside the window leaves ESTABLISHED as it was and counts invalid; an in-window RST aborts', (t) => {
  const h = trackerHarness()
  open(h)
  h.feed(T0 + 0.003, back({ flags: 'R', seq: 5001 + 10_000_000 }))
  h.feed(T0 + 0.004, back({ flags: 'RA', seq: (5001 + 0x80000000) >>> 0, ack: 1001 }))
  t.deepEqual(h.states(), ['NEW', 'ESTABLISHED'])
  t.is(h.tracker.stats.tcpInvalid, 2)
  t.is(h.tracker.stats.tcpOutOfWindow, 2)
  // Out of window, still counted in the session's packets and bytes (and its history).
  h.feed(T0 + 0.005, out({ flags: 'PA', seq: 1001, ack: 5001, payload: 'still here' }))
  h.feed(T0 + 0.006, back({ flags: 'R', seq: 5001 }))
  t.deepEqual(h.states(), ['NEW', 'ESTABLISHED', 'ABORT'])
  t.like(h.events[2], { reason: 'rst', tcp_state: 'CLOSE', orig_packets: 3, reply_packets: 4, reply_bytes: 160 })
  t.is(h.tracker.stats.tcpInvalid, 2)
})

test('an RST inside the window but not at the expected seq aborts too', (t) => {
  const h = trackerHarness()
  open(h)
  h.feed(T0 + 0.003, out({ flags: 'R', seq: 1001 + 30_000 }))
  t.deepEqual(h.states(), ['NEW', 'ESTABLISHED', 'ABORT'])
  t.is(h.tracker.stats.tcpInvalid, 0)
})

test('an out-of-window FIN does not move to FIN_WAIT; the in-window one does', (t) => {
  const h = trackerHarness()
  open(h)
  h.feed(T0 + 0.003, out({ flags: 'FA', seq: 1001 + 200_000, ack: 5001 }))
  t.is(h.tracker.store.tcpState[0], 3)
  t.is(h.tracker.stats.tcpOutOfWindow, 1)
  // An ack of data the server never sent is out of window too (bound III).
  h.feed(T0 + 0.004, out({ flags: 'FA', seq: 1001, ack: 5001 + 100 }))
  t.is(h.tracker.stats.tcpOutOfWindow, 2)
  t.is(finalState(h), 'ESTABLISHED')

  const k = trackerHarness()
  open(k)
  k.feed(T0 + 0.003, out({ flags: 'FA', seq: 1001, ack: 5001 }))
  t.is(finalState(k), 'FIN_WAIT')
  t.is(k.tracker.stats.tcpInvalid, 0)
})

test('a spoofed SYN-ACK with a wrong ack in SYN_SENT is invalid and teaches nothing; the genuine one follows', (t) => {
  const h = trackerHarness()
  h.feed(T0, out({ flags: 'S', seq: 1000 }))
  h.feed(T0 + 0.0005, back({ flags: 'SA', seq: 777_000_000, ack: 123_456_789 }))
  h.feed(T0 + 0.0006, back({ flags: 'SA', seq: 4000, ack: 1002 })) // one above the SYN's end
  t.is(h.tracker.store.tcpState[0], 1)
  t.is(h.tracker.stats.tcpOutOfWindow, 2)
  h.feed(T0 + 0.001, back({ flags: 'SA', seq: 5000, ack: 1001 }))
  h.feed(T0 + 0.002, out({ flags: 'A', seq: 1001, ack: 5001 }))
  t.deepEqual(h.states(), ['NEW', 'ESTABLISHED'])
  t.like(h.events[1], { reply_packets: 3 })
  t.is(h.tracker.stats.tcpInvalid, 2)
})

/** The client sends `n` segments of 1448 bytes after the handshake, the server acking none of them. */
function flight(h: Harness, n: number): void {
  const seg = Buffer.alloc(1448, 0x61)
  for (let k = 0; k < n; k++) h.feed(T0 + 0.01 + k * 0.0001, out({ flags: 'A', seq: 1001 + k * 1448, ack: 5001, payload: seg }))
}

test('window scale 7 on both sides: data far beyond the raw window but inside the scaled one is accepted', (t) => {
  const h = trackerHarness()
  open(h, { c: wscale(7), s: wscale(7) })
  // The server's window after the handshake: 1000 << 7 = 128000 bytes.
  h.feed(T0 + 0.005, back({ flags: 'A', seq: 5001, ack: 1001, win: 1000 }))
  flight(h, 80) // 115840 bytes, a hundred times the raw window of 1000
  t.is(h.tracker.stats.tcpOutOfWindow, 0)
  h.feed(T0 + 0.1, back({ flags: 'A', seq: 5001, ack: 1001 + 80 * 1448, win: 1000 }))
  h.feed(T0 + 0.2, back({ flags: 'RA', seq: 5001, ack: 1001 + 80 * 1448 }))
  t.deepEqual(h.states(), ['NEW', 'ESTABLISHED', 'ABORT'])
  t.is(h.tracker.stats.tcpInvalid, 0)
})

test('window scale only counts when both SYNs offer it: the same flight without the reply offer runs out of window', (t) => {
  const h = trackerHarness()
  open(h, { c: wscale(7) })
  h.feed(T0 + 0.005, back({ flags: 'A', seq: 5001, ack: 1001, win: 1000 }))
  flight(h, 80)
  // The SYN-ACK's 65535 bounded the client first; the server's later window 1000 adds no room:
  // segments starting past 1001 + 65535 are out of window.
  const first = Math.ceil((65535 + 1) / 1448)
  t.is(h.tracker.stats.tcpOutOfWindow, 80 - first)
  t.is(finalState(h), 'ESTABLISHED')
})

test('sequence numbers wrapping past 2^32 mid-connection are in window', (t) => {
  const h = trackerHarness()
  const isnC = 0xffffffff - 3000
  const isnS = 0xfffffffa
  const w = (n: number) => n >>> 0
  h.feed(T0, out({ flags: 'S', seq: isnC }))
  h.feed(T0 + 0.001, back({ flags: 'SA', seq: isnS, ack: w(isnC + 1) }))
  h.feed(T0 + 0.002, out({ flags: 'A', seq: w(isnC + 1), ack: w(isnS + 1) }))
  const seg = Buffer.alloc(1000, 0x62)
  let c = w(isnC + 1)
  let s = w(isnS + 1)
  for (let k = 0; k < 6; k++) {
    h.feed(T0 + 0.01 + k * 0.01, out({ flags: 'PA', seq: c, ack: s, payload: seg }))
    c = w(c + 1000)
    h.feed(T0 + 0.015 + k * 0.01, back({ flags: 'PA', seq: s, ack: c, payload: 'ok' }))
    s = w(s + 2)
  }
  t.true(c < 10000 && s < 10000, 'both sides wrapped')
  h.feed(T0 + 0.1, out({ flags: 'FA', seq: c, ack: s }))
  h.feed(T0 + 0.101, back({ flags: 'FA', seq: s, ack: w(c + 1) }))
  h.feed(T0 + 0.102, out({ flags: 'A', seq: w(c + 1), ack: w(s + 1) }))
  t.deepEqual(h.states(), ['NEW', 'ESTABLISHED', 'CLOSE'])
  t.is(h.tracker.stats.tcpInvalid, 0)
  // An RST from before the wrap, half the sequence space away, is no RST of this connection.
  const k = trackerHarness()
  k.feed(T0, out({ flags: 'S', seq: isnC }))
  k.feed(T0 + 0.001, back({ flags: 'SA', seq: isnS, ack: w(isnC + 1) }))
  k.feed(T0 + 0.002, out({ flags: 'A', seq: w(isnC + 1), ack: w(isnS + 1) }))
  k.feed(T0 + 0.003, out({ flags: 'PA', seq: w(isnC + 1), ack: w(isnS + 1), payload: seg }))
  k.feed(T0 + 0.004, out({ flags: 'R', seq: w(isnC + 1 - 0x7000_0000) }))
  t.is(k.tracker.stats.tcpOutOfWindow, 1)
  t.deepEqual(k.states(), ['NEW', 'ESTABLISHED'])
})

test('loose pickup mid-stream: data and acks either way are taken, an RST outside is not, one inside aborts', (t) => {
  const h = trackerHarness()
  // The capture starts inside a connection whose SYNs (and window scale) were never seen.
  h.feed(T0, out({ flags: 'PA', seq: 3_000_000, ack: 9_000_000, win: 300, payload: Buffer.alloc(1200) }))
  h.feed(T0 + 0.001, back({ flags: 'A', seq: 9_000_000, ack: 3_001_200, win: 400 }))
  // Much more in flight than the raw windows allow: pickup is liberal, as conntrack's is.
  const seg = Buffer.alloc(1400, 0x63)
  for (let k = 0; k < 20; k++) h.feed(T0 + 0.01 + k * 0.001, out({ flags: 'A', seq: 3_001_200 + k * 1400, ack: 9_000_000, win: 300, payload: seg }))
  const next = 3_001_200 + 20 * 1400
  h.feed(T0 + 0.05, back({ flags: 'PA', seq: 9_000_000, ack: next, win: 400, payload: 'reply' }))
  t.is(h.tracker.stats.tcpInvalid, 0)
  h.feed(T0 + 0.06, back({ flags: 'R', seq: 9_000_005 + 50_000_000 }))
  h.feed(T0 + 0.061, out({ flags: 'R', seq: next - 2_000_000 }))
  t.deepEqual(h.states(), ['ESTABLISHED'])
  t.is(h.tracker.stats.tcpOutOfWindow, 2)
  h.feed(T0 + 0.07, back({ flags: 'RA', seq: 9_000_005, ack: next }))
  t.deepEqual(h.states(), ['ESTABLISHED', 'ABORT'])
  t.like(h.events[1], { orig_packets: 22, reply_packets: 4, reason: 'rst' })
})

test('a SACK right edge beyond what the sender sent is out of window; one inside is taken', (t) => {
  const h = trackerHarness()
  const sackPerm = Buffer.from([1, 1, 4, 2])
  open(h, { c: sackPerm, s: sackPerm })
  const seg = Buffer.alloc(1000)
  for (let k = 0; k < 3; k++) h.feed(T0 + 0.01 + k * 0.001, out({ flags: 'A', seq: 1001 + k * 1000, ack: 5001, payload: seg }))
  const block = (l: number, r: number) => { const b = Buffer.alloc(12); b[0] = 1; b[1] = 1; b[2] = 5; b[3] = 10; b.writeUInt32BE(l, 4); b.writeUInt32BE(r, 8); return b }
  // The first segment lost, the other two SACKed: edge 4001 is the client's end.
  h.feed(T0 + 0.02, back({ flags: 'A', seq: 5001, ack: 1001, options: block(2001, 4001) }))
  t.is(h.tracker.stats.tcpOutOfWindow, 0)
  h.feed(T0 + 0.021, back({ flags: 'A', seq: 5001, ack: 1001, options: block(2001, 4001 + 5000) }))
  t.is(h.tracker.stats.tcpOutOfWindow, 1)
  t.is(finalState(h), 'ESTABLISHED')
})

test('every corpus capture through the tracker: no exception, counters consistent', (t) => {
  if (!existsSync(corpusDir)) { t.log(`${corpusDir} absent: corpus pass skipped`); t.pass(); return }
  const files = readdirSync(corpusDir).filter((f) => /\.(pcap|pcapng|cap)$/.test(f))
  const s = createSummary()
  let packets = 0
  let invalid = 0
  let outOfWindow = 0
  for (const f of files) {
    let read
    try { read = readCaptureFile(join(corpusDir, f)) } catch { continue }
    const tracker = new Tracker(() => {})
    let us = 1_700_000_000e6
    for (const pk of read.packets) {
      packets++
      decodeSummary(pk.linktype, pk.data, s, false)
      tracker.packet(s, pk.data, (us += 1000))
    }
    tracker.flush()
    invalid += tracker.stats.tcpInvalid
    outOfWindow += tracker.stats.tcpOutOfWindow
    t.true(tracker.stats.tcpOutOfWindow <= tracker.stats.tcpInvalid)
  }
  t.true(packets > 5000)
  t.log(`${files.length} files, ${packets} packets, ${invalid} TCP invalid, ${outOfWindow} of them out of window`)
})

import test, { type ExecutionContext } from 'ava'
import { randomBytes } from 'node:crypto'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { deflateSync } from 'node:zlib'
import { Dealer, Request } from 'zeromq'
import { getrlimit, RLIMIT_NOFILE } from '../lib/native/libc.js'
import { createBatchBuilder, MAX_RECORDS_BYTES, RECORD_HEADER } from '../lib/wire/batch.js'
import { PUB_QUEUE_BYTES } from '../lib/wire/queues.js'
import { freePort, hasCommand, sleep, startTool, tempDir, waitFor, type Tool } from './helpers/env.js'
import { askCounters, counters, readPackets, startRecv, waitForCounters } from './helpers/pipeline.js'
import { ipv4, udp } from './helpers/packet-builder.js'
import { frame, FLAG_MORE, randomGreeting, trickleHugeFrame, zmtpConnect, type ZmtpPeer } from './helpers/zmtp.js'

/**
 * pcap-zmq-recv against hostile peers, each time while a real pcap-zmq-send replays a capture
 * to it: every one of the real sender's packets must be in the output file, and the receiver's
 * memory must stay bounded, whatever the other peers do.
 */

const REAL = 20000
const MiB = 1 << 20

/** A LINKTYPE_RAW pcap of REAL UDP packets, each carrying "REAL" and its number. */
function realCapture(dir: string): string {
  const path = join(dir, 'real.pcap')
  const h = Buffer.alloc(24)
  h.writeUInt32LE(0xa1b2c3d4, 0); h.writeUInt16LE(2, 4); h.writeUInt16LE(4, 6); h.writeUInt32LE(65535, 16); h.writeUInt32LE(101, 20)
  const parts: Buffer[] = [h]
  for (let i = 0; i < REAL; i++) {
    const p = ipv4(17, udp(1000, 2000, Buffer.from(`REAL${i}`)))
    const r = Buffer.alloc(16)
    r.writeUInt32LE(1700000000 + Math.floor(i / 1000), 0); r.writeUInt32LE((i % 1000) * 1000, 4); r.writeUInt32LE(p.length, 8); r.writeUInt32LE(p.length, 12)
    parts.push(r, p)
  }
  writeFileSync(path, Buffer.concat(parts))
  return path
}

const REAL_MARK = Buffer.from('REAL')
function realPacketsIn(out: string): number {
  return readPackets(out).filter((p) => p.data.includes(REAL_MARK)).length
}

/** kB figures from /proc/PID/status: VmRSS now, VmHWM the peak. */
function memMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) / 1024 : NaN
}

interface Rig { dir: string; port: number; ep: string; out: string; recv: Tool; capture: string }

async function rig(t: ExecutionContext, recvArgs: string[] = [], wrap?: string[]): Promise<Rig> {
  const { dir, cleanup } = tempDir('pzp-hostile-')
  t.teardown(cleanup)
  const port = await freePort()
  const ep = `tcp://127.0.0.1:${port}`
  const out = join(dir, 'out.pcap')
  const recv = await startRecv([ep, out, ...recvArgs], undefined, wrap)
  t.teardown(async () => { await recv.stop('SIGKILL', 1000) })
  return { dir, port, ep, out, recv, capture: realCapture(dir) }
}

/** The real sender: replays the capture, waits for every acknowledgement; its exit code and counters. */
async function sendReal(r: Rig, t: ExecutionContext): Promise<{ code: number | null; c: Record<string, number>; stderr: string }> {
  const send = startTool('send', [`pcap:${r.capture}`, r.ep])
  t.teardown(async () => { await send.stop('SIGKILL', 1000) })
  const code = await send.exited
  return { code, c: counters(send.stderr()), stderr: send.stderr() }
}

/** Stops the receiver and checks every real packet is in its output; its final counters. */
async function finish(t: ExecutionContext, r: Rig, sent: { code: number | null; c: Record<string, number>; stderr: string }): Promise<Record<string, number>> {
  t.is(sent.code, 0, sent.stderr)
  t.is(sent.c.packets_sent, REAL, sent.stderr)
  t.is(await r.recv.stop('SIGINT'), 0, r.recv.stderr().slice(-2000))
  t.is(realPacketsIn(r.out), REAL)
  return counters(r.recv.stderr())
}

/** A DEALER of our own for well-formed but hostile batches. */
async function dealer(t: ExecutionContext, ep: string): Promise<Dealer> {
  const d = new Dealer({ linger: 0, sendHighWaterMark: 100_000 })
  d.connect(ep)
  t.teardown(() => d.close())
  return d
}

function batch(opts: { host?: string; sensorId?: string; linktype?: number; instance?: number; seq?: number; packets?: Buffer[] }): Buffer {
  const packets = opts.packets ?? [ipv4(17, udp(1, 2, Buffer.from('HOSTILE')))]
  const size = packets.reduce((n, p) => n + RECORD_HEADER + p.length, 0)
  const b = createBatchBuilder({ host: opts.host ?? 'hostile', sensorId: opts.sensorId ?? '', source: 'pcap:-', linktype: opts.linktype ?? 101, instance: opts.instance ?? 7 }, size)
  for (const p of packets) b.append(1700000000, 0, p.length, p, 0, p.length)
  const msg = b.finish(false)
  msg.writeUInt32BE((opts.seq ?? 0) >>> 0, 12)
  return msg
}

test.serial('a frame header claiming 20 GB, streamed for 10 s, is refused at once: receiver RSS stays under 200 MB', async (t) => {
  const r = await rig(t)
  const until = Date.now() + 10_000
  let refused = 0
  const streaming = (async () => {
    while (Date.now() < until) {
      const p = zmtpConnect(r.port)
      // 50 MB/s once accepted: without ZMQ_MAXMSGSIZE the receiver allocates as the bytes come.
      const tr = trickleHugeFrame(p, 20_000_000_000n, 1 * MiB, 20)
      await waitFor(() => p.closed || Date.now() > until, 15000, 'the connection to end').catch(() => {})
      tr.stop()
      if (p.closed) refused += 1
      p.destroy()
      await sleep(100)
    }
  })()
  const sent = await sendReal(r, t)
  await streaming
  const peak = memMiB(r.recv.child.pid!, 'VmHWM')
  await finish(t, r, sent)
  t.true(refused > 10, `${refused} connections refused`)
  t.true(peak < 200, `peak RSS ${peak} MiB`)
})

test.serial('50 peers streaming huge frames at once: all refused, RSS under 200 MB, the real sender unharmed', async (t) => {
  const r = await rig(t)
  const until = Date.now() + 6000
  let refused = 0
  const one = async () => {
    while (Date.now() < until) {
      const p = zmtpConnect(r.port)
      const tr = trickleHugeFrame(p, 20_000_000_000n, 64 * 1024, 20)
      await waitFor(() => p.closed || Date.now() > until, 15000, 'the connection to end').catch(() => {})
      tr.stop()
      if (p.closed) refused += 1
      p.destroy()
      await sleep(200)
    }
  }
  const streaming = Promise.all(Array.from({ length: 50 }, one))
  const sent = await sendReal(r, t)
  await streaming
  const peak = memMiB(r.recv.child.pid!, 'VmHWM')
  await finish(t, r, sent)
  t.true(refused >= 50, `${refused} connections refused`)
  t.true(peak < 200, `peak RSS ${peak} MiB`)
})

test.serial('1,000 idle connections under a soft file limit of 1024 leave room for a real sender (the limit is raised to the hard one)', async (t) => {
  const lim = getrlimit(RLIMIT_NOFILE)
  if (!hasCommand('prlimit')) return t.pass('prlimit (util-linux) is not installed')
  if (typeof lim === 'number' || lim.hard < 4096) return t.pass('the hard file limit here is too low to show it')
  const r = await rig(t, [], ['prlimit', `--nofile=1024:${lim.hard}`])
  const limits = readFileSync(`/proc/${r.recv.child.pid}/limits`, 'utf8')
  t.regex(limits, new RegExp(`Max open files\\s+${lim.hard}\\s+${lim.hard}`))
  // Handshaken and then silent: they are neither dropped by ZMQ_HANDSHAKE_IVL nor (yet) by heartbeats.
  const idle: ZmtpPeer[] = []
  t.teardown(() => { for (const p of idle) p.destroy() })
  for (let i = 0; i < 1000; i++) idle.push(zmtpConnect(r.port))
  await Promise.all(idle.map((p) => p.ready))
  const sent = await sendReal(r, t)
  t.is(idle.filter((p) => p.closed).length, 0)
  await finish(t, r, sent)

  // Where the hard limit itself is low, the receiver says so at start.
  const low = await startRecv([`tcp://127.0.0.1:${await freePort()}`, join(r.dir, 'low.pcap')], undefined, ['prlimit', '--nofile=1024:1024'])
  t.teardown(async () => { await low.stop('SIGKILL', 1000) })
  t.regex(low.stderr(), /^pcap-zmq-recv: open files limited to 1024 \(hard limit 1024\): about 960 peers can be connected at once/m)
  await low.stop('SIGINT')
})

test.serial('random greetings and random bytes in place of ZMTP: refused, and the real sender unharmed', async (t) => {
  const r = await rig(t)
  let running = true
  let made = 0
  const noise = Promise.all(Array.from({ length: 20 }, async () => {
    while (running) {
      const s = randomGreeting(r.port)
      made += 1
      await new Promise<void>((resolve) => { s.on('close', () => resolve()); setTimeout(() => { s.destroy(); resolve() }, 300) })
    }
  }))
  const sent = await sendReal(r, t)
  running = false
  await noise
  await finish(t, r, sent)
  t.true(made > 20)
})

test.serial('random bodies after a valid handshake: counted as bad frames and logged once per kind; the real sender unharmed', async (t) => {
  const r = await rig(t)
  let running = true
  let sentFrames = 0
  let connections = 0
  const noise = Promise.all(Array.from({ length: 4 }, async () => {
    while (running) {
      connections += 1
      const p = zmtpConnect(r.port)
      try { await p.ready } catch { continue }
      for (let i = 0; running && !p.closed; i++) {
        const n = Math.floor(Math.random() * 70000)
        const body = randomBytes(n)
        // Some look like batches (magic and version), so decoding gets further than the magic.
        if (n > 40 && i % 3 === 0) { body.writeUInt16BE(0x505a, 0); body[2] = 1 }
        await p.write(i % 7 === 0 ? Buffer.concat([frame(body, FLAG_MORE), frame(randomBytes(9))]) : frame(body))
        sentFrames += 1
        if (i % 20 === 0) await sleep(5)
      }
      p.destroy()
    }
  }))
  const sent = await sendReal(r, t)
  running = false
  await noise
  const c = await finish(t, r, sent)
  t.true(sentFrames > 100)
  t.true(c.bad_frames! > 50, `bad_frames=${c.bad_frames}`)
  // The names are random bytes: logged once per kind and connection, not once per frame.
  const lines = r.recv.stderr().split('\n').filter((l) => l.includes('bad frame from'))
  t.true(lines.length <= 10 * connections, `${lines.length} lines from ${connections} connections and ${sentFrames} frames`)
  t.false(r.recv.stderr().includes('\x1b'))
})

test.serial('a flood of 5,000 forged identities: memory and report bounded, the rest counted on one "others" line', async (t) => {
  const r = await rig(t)
  const d = await dealer(t, r.ep)
  for (let i = 0; i < 5000; i++) await d.send(batch({ host: `forged-${i}.example`, instance: i }))
  const sent = await sendReal(r, t)
  await waitForCounters(r.recv, (c) => (c.batches ?? 0) >= 5000, 60000, 'the forged batches')
  // One SIGUSR1 report: its per-sender lines.
  const from = r.recv.stderr().length
  r.recv.child.kill('SIGUSR1')
  // Only the last report, once whole: the tail of one asked for by waitForCounters may still have been arriving.
  const last = () => { const text = r.recv.stderr().slice(from); return text.slice(text.lastIndexOf('pcap-zmq-recv: counters:')) }
  await waitFor(() => /others \(senders past the first 1024\): [^\n]*\n/.test(last()), 10000, 'the report')
  const report = last().split('\n')
  const senderLines = report.filter((l) => /^pcap-zmq-recv: {3}sender /.test(l))
  // The real sender and the first forged ones have their own line, the rest one line together.
  t.true(senderLines.length >= 1000 && senderLines.length <= 1024, `${senderLines.length} sender lines`)
  t.regex(r.recv.stderr().slice(from), /^pcap-zmq-recv: {3}others \(senders past the first 1024\): batches=(\d+) /m)
  const others = Number(/others \(senders past the first 1024\): batches=(\d+)/.exec(report.join('\n'))![1])
  t.true(others >= 5000 - 1024)
  t.regex(r.recv.stderr(), /more than 1024 senders: .* and later ones are counted together as others/)
  const rss = memMiB(r.recv.child.pid!, 'VmHWM')
  await finish(t, r, sent)
  t.true(rss < 200, `peak RSS ${rss} MiB`)
})

test.serial('a first batch of link type 147 does not lock the real packets out', async (t) => {
  const r = await rig(t)
  const d = await dealer(t, r.ep)
  const odd = batch({ linktype: 147, packets: [Buffer.alloc(3, 0x41)] })
  await d.send(odd)
  await waitForCounters(r.recv, (c) => c.skipped_linktype === 1, 20000, 'the odd batch to be skipped')
  const sent = await sendReal(r, t)
  const c = await finish(t, r, sent)
  t.is(c.skipped_linktype, 1)
  t.is(readFileSync(r.out).readUInt32LE(20), 101) // the pcap header's link type: RAW, the real packets'
  t.regex(r.recv.stderr(), /LINKTYPE_147 from hostile skipped: LINKTYPE_147 is not a link type this pipeline knows/)
})

test.serial('zlib bombs are refused before inflating, counted and logged once; the output stays small and real packets flow', async (t) => {
  const r = await rig(t)
  const d = await dealer(t, r.ep)
  const base = batch({ host: 'bomber' })
  const hl = base.readUInt16BE(6)
  const bombOf = (zeros: number, declared: number) => {
    const z = deflateSync(Buffer.alloc(zeros))
    const m = Buffer.concat([base.subarray(0, hl), z])
    m[3] = 1 // compressed
    m.writeUInt32BE(declared, 20)
    m.writeUInt32BE(Math.floor(declared / 300000) + 1, 16)
    return m
  }
  // 66 KB that inflate to 64 MiB (past the cap), 16 KB that inflate to 16 MiB (past the ratio), and a liar.
  const bombs = [bombOf(64 * MiB, 64 * MiB), bombOf(16 * MiB, 16 * MiB), bombOf(MAX_RECORDS_BYTES, 1000)]
  let running = true
  let fired = 0
  const firing = (async () => {
    while (running) {
      for (const b of bombs) { await d.send(b); fired += 1 }
      await sleep(10)
    }
  })()
  const started = Date.now()
  const sent = await sendReal(r, t)
  const took = Date.now() - started
  running = false
  await firing
  await waitForCounters(r.recv, (c) => (c.zlib_bombs ?? 0) + (c.bad_frames ?? 0) >= fired, 30000, 'every bomb counted')
  const c = await finish(t, r, sent)
  t.true(fired >= 30)
  t.is(c.bad_frames, fired)
  t.is(c.zlib_bombs, fired - fired / 3) // the 64 MiB one is EWIRESIZE: over the cap before any ratio
  t.is(c.inflated_bytes, 0)
  t.true(statSync(r.out).size < 2 * MiB)
  const lines = r.recv.stderr().split('\n').filter((l) => l.includes('bad frame from bomber'))
  t.is(lines.length, 2, lines.join('\n')) // one per kind (EWIRESIZE, EWIREBOMB)
  t.log(`real sender took ${took} ms with ${fired} bombs`)
})

test.serial('forged sequence numbers: a step back is late, a huge jump a restart; no absurd lost_batches', async (t) => {
  const r = await rig(t)
  const d = await dealer(t, r.ep)
  for (const seq of [100, 101, 85, 102, 2 ** 31, 2 ** 31 + 1, 2 ** 31 + 4]) await d.send(batch({ host: 'jumper', instance: 99, seq }))
  await waitForCounters(r.recv, (c) => (c.batches ?? 0) >= 7, 20000, 'the forged batches')
  const sent = await sendReal(r, t)
  const c = await finish(t, r, sent)
  t.is(c.sender_restarts, 1)
  t.regex(r.recv.stderr(), /sender jumper: batches=7 packets=7 bytes=\d+ wire_bytes=\d+ lost_batches=2 late_batches=1 restarts=1 bad_frames=0/)
})

test.serial('sender names with newlines and escape sequences are logged escaped', async (t) => {
  const r = await rig(t)
  const d = await dealer(t, r.ep)
  const host = 'evil\n2024-01-01 pcap-zmq-recv: fake alarm'
  const sensorId = '\x1b[2J\x1b[31m\x9b'
  await d.send(batch({ host, sensorId }))
  const bad = batch({ host, sensorId })
  await d.send(bad.subarray(0, bad.length - 3)) // truncated: a bad frame naming it
  await waitForCounters(r.recv, (c) => c.batches === 1 && c.bad_frames === 1, 20000, 'both batches')
  const sent = await sendReal(r, t)
  await finish(t, r, sent)
  const err = r.recv.stderr()
  t.false(err.includes('\x1b'))
  t.false(err.includes('\x9b'))
  t.false(/^2024-01-01 pcap-zmq-recv: fake alarm/m.test(err))
  const shown = 'evil\\x0a2024-01-01 pcap-zmq-recv: fake alarm/\\x1b[2J\\x1b[31m\\u009b'
  t.true(err.includes(`new sender ${shown} (pcap:-, RAW)`), err)
  t.true(err.includes(`bad frame from ${shown}:`), err)
  t.true(err.includes(`  sender ${shown}: batches=1`), err)
})

test.serial('a PUB subscriber that never reads pins a bounded number of bytes, not 10,000 batches', async (t) => {
  const pubPort = await freePort()
  const r = await rig(t, ['--publish', `tcp://127.0.0.1:${pubPort}`])
  const sub = zmtpConnect(pubPort, 'SUB')
  t.teardown(() => sub.destroy())
  await sub.ready
  await sub.write(frame(Buffer.from([1]))) // ZMTP 3.0 subscription to everything
  sub.pause()
  await sleep(300)
  const before = memMiB(r.recv.child.pid!, 'VmRSS')
  // 40 batches of 16 MiB published (LINKTYPE_147, so skipped in the output file), each sent once
  // the receiver has published the one before (16 parts of 1 MiB), so it is never behind on a slow
  // machine either: what it holds is what the subscriber makes it hold.
  const d = await dealer(t, r.ep)
  const big = batch({ linktype: 147, packets: Array.from({ length: 64 }, () => Buffer.alloc(256 * 1024, 0x33)) })
  let peak = 0
  for (let i = 0; i < 40; i++) {
    await d.send(big)
    await waitForCounters(r.recv, (c) => (c.published ?? 0) >= 16 * (i + 1), 30000, `big batch ${i + 1} published`)
    peak = Math.max(peak, memMiB(r.recv.child.pid!, 'VmRSS'))
  }
  await waitForCounters(r.recv, (c) => (c.published ?? 0) >= 40, 30000, 'the big batches published')
  const sent = await sendReal(r, t)
  peak = Math.max(peak, memMiB(r.recv.child.pid!, 'VmRSS'))
  await finish(t, r, sent)
  t.log(`RSS ${before.toFixed(0)} MiB before, peak ${peak.toFixed(0)} MiB with 640 MiB published to a subscriber that never reads`)
  // PUB_QUEUE_BYTES pinned at most, plus the batch in hand with its parts (32 MiB) and what the
  // allocator keeps of freed copies (RSS measured 300-414 MiB of growth in all); holding every part
  // would take 640 MiB and every batch as well 1280 (in runs that did not wait for the receiver).
  t.true(peak - before < PUB_QUEUE_BYTES / MiB + 192, `grew ${peak - before} MiB`)
})

test.serial('REP peers that never read their dumps: memory bounded by the dump budget; later queries answered again', async (t) => {
  const bifPort = await freePort()
  const r = await rig(t, ['--buffer-interface', `tcp://127.0.0.1:${bifPort}`, '--buffer-window', '16'])
  // Fill the window: 20 batches of 1 MiB of real-looking (written) packets.
  const d = await dealer(t, r.ep)
  const pkt = ipv4(17, udp(5, 6, Buffer.alloc(60000, 0x77)))
  for (let i = 0; i < 20; i++) await d.send(batch({ host: 'filler', packets: Array.from({ length: 17 }, () => pkt) }))
  await waitForCounters(r.recv, (c) => (c.batches ?? 0) >= 20, 30000, 'the window to fill')
  const before = memMiB(r.recv.child.pid!, 'VmRSS')
  const peers: ZmtpPeer[] = []
  t.teardown(() => { for (const p of peers) p.destroy() })
  for (let i = 0; i < 100; i++) {
    const p = zmtpConnect(bifPort, 'REQ')
    await p.ready
    p.pause()
    await p.send([Buffer.alloc(0), 'dump'])
    peers.push(p)
  }
  const c1 = await waitForCounters(r.recv, (c) => (c.buffer_queries ?? 0) >= 100, 30000, 'every query')
  await sleep(500)
  const peak = memMiB(r.recv.child.pid!, 'VmRSS')
  t.log(`RSS ${before.toFixed(0)} MiB before, ${peak.toFixed(0)} MiB with 100 dumps asked for and never read; busy=${c1.buffer_busy}`)
  t.true(peak - before < 64, `grew ${peak - before} MiB`)
  t.true((c1.buffer_busy ?? 0) >= 95)
  // Once they are gone, a real query gets its dump (libzmq let go of theirs).
  for (const p of peers) p.destroy()
  const gone = Date.now()
  let dump: Buffer | undefined
  for (let i = 0; i < 50; i++) {
    const req = new Request({ linger: 0, receiveTimeout: 10000 })
    req.connect(`tcp://127.0.0.1:${bifPort}`)
    await req.send('dump')
    ;[dump] = await req.receive()
    req.close()
    if (dump!.readUInt32LE(0) === 0xa1b2c3d4) break
    await sleep(100)
  }
  t.log(`a dump again ${Date.now() - gone} ms after the peers left`)
  t.is(dump!.readUInt32LE(0), 0xa1b2c3d4, dump!.subarray(0, 200).toString())
  t.true(dump!.length > 15 * MiB && dump!.length <= 16 * MiB + 24)
  const sent = await sendReal(r, t)
  await finish(t, r, sent)
})

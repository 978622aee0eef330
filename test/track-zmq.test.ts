import test, { type ExecutionContext } from 'ava'
import { Dealer, Publisher, Subscriber } from 'zeromq'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { uuid7Millis } from '../lib/track/uuid7.js'
import { createBatchBuilder, decodeBatch } from '../lib/wire/batch.js'
import { isShardTopic, parseShard, stampPublished } from '../lib/wire/batch-shards.js'
import { ipcEndpoint, runTool, sleep, startTool, tempDir, waitFor, type Tool } from './helpers/env.js'
import { counters, readPackets, startRecv, waitForCounters } from './helpers/pipeline.js'
import { arpFrame, dnsMessage, nflogMeta, pcapOf, SESSION_T0, sessionCapture } from './helpers/track-capture.js'
import { frame } from './helpers/track-frames.js'

type Ev = Record<string, unknown>
const SENSOR = 'edge-7'

/**
 * The events of sessionCapture(), worked out by hand from its packets (history letters, IP byte
 * counts, conntrack states); community ids as `tshark --enable-protocol communityid` prints them.
 * session_id is checked separately (its low bits are random).
 */
function expectedEvents(sensor: string | null): Ev[] {
  const tcp = { src_ip: '10.1.0.1', dst_ip: '10.1.0.2', src_port: 40000, dst_port: 80, protocol_num: 6, protocol_name: 'TCP' }
  const udp = { src_ip: '10.1.0.1', dst_ip: '10.1.0.3', src_port: 50000, dst_port: 53, protocol_num: 17, protocol_name: 'UDP' }
  const tcpCid = '1:lhdUFDeMSvz1xoTr5joR4K+uoR0='
  const udpCid = '1:k2ZO7zPXralxzQdIMRb+tw9hOyo='
  const at = (us: string) => `2023-11-14T22:13:20.${us}`
  const dns = { dns: 'www.example.test' }
  return [
    { ...tcp, state: 'NEW', timestamp: at('100001'), payload: null, sensor, orig_packets: 1, orig_bytes: 40, reply_packets: 0, reply_bytes: 0, first_seen: at('100001'), last_seen: at('100001'), duration: 0, tcp_state: 'SYN_SENT', history: 'S', reason: null, community_id: tcpCid },
    { ...tcp, state: 'ESTABLISHED', timestamp: at('100801'), payload: null, sensor, orig_packets: 2, orig_bytes: 80, reply_packets: 1, reply_bytes: 40, first_seen: at('100001'), last_seen: at('100801'), duration: 0.0008, tcp_state: 'ESTABLISHED', history: 'ShA', reason: null, community_id: tcpCid },
    { ...udp, state: 'NEW', timestamp: at('102001'), payload: dns, sensor, orig_packets: 1, orig_bytes: 62, reply_packets: 0, reply_bytes: 0, first_seen: at('102001'), last_seen: at('102001'), duration: 0, tcp_state: null, history: 'D', reason: null, community_id: udpCid },
    { ...udp, state: 'REPLIED', timestamp: at('103001'), payload: dns, sensor, orig_packets: 1, orig_bytes: 62, reply_packets: 1, reply_bytes: 62, first_seen: at('102001'), last_seen: at('103001'), duration: 0.001, tcp_state: null, history: 'Dd', reason: null, community_id: udpCid },
    { ...tcp, state: 'CLOSE', timestamp: at('105751'), payload: { host: 'www.example.test' }, sensor, orig_packets: 5, orig_bytes: 242, reply_packets: 4, reply_bytes: 160, first_seen: at('100001'), last_seen: at('105751'), duration: 0.00575, tcp_state: 'TIME_WAIT', history: 'ShADaFf', reason: 'fin', community_id: tcpCid },
    // At shutdown, least recently seen first: the open UDP session expires, and the closed TCP
    // one, lingering in TIME_WAIT, ends with DESTROY and its final counts.
    { ...udp, state: 'EXPIRED', timestamp: at('105751'), payload: dns, sensor, orig_packets: 1, orig_bytes: 62, reply_packets: 1, reply_bytes: 62, first_seen: at('102001'), last_seen: at('103001'), duration: 0.001, tcp_state: null, history: 'Dd', reason: 'eof', community_id: udpCid },
    { ...tcp, state: 'DESTROY', timestamp: at('105751'), payload: { host: 'www.example.test' }, sensor, orig_packets: 5, orig_bytes: 242, reply_packets: 4, reply_bytes: 160, first_seen: at('100001'), last_seen: at('105751'), duration: 0.00575, tcp_state: 'TIME_WAIT', history: 'ShADaFf', reason: 'eof', community_id: tcpCid },
  ]
}

const FIELD_ORDER = [
  'src_ip', 'dst_ip', 'src_port', 'dst_port', 'protocol_num', 'protocol_name', 'state', 'timestamp', 'session_id', 'payload',
  'sensor', 'orig_packets', 'orig_bytes', 'reply_packets', 'reply_bytes', 'first_seen', 'last_seen', 'duration', 'tcp_state',
  'history', 'reason', 'community_id',
]

const lines = (text: string) => text.split('\n').filter((l) => l !== '')
const parse = (text: string): Ev[] => lines(text).map((l) => JSON.parse(l) as Ev)

/** Exact events in order; session ids are UUIDv7 of the session's first packet, one per session, TCP's sorting first. */
function assertSessionEvents(t: ExecutionContext, events: Ev[], sensor: string | null, idleMs = 0): void {
  for (const e of events) t.deepEqual(Object.keys(e), FIELD_ORDER)
  const expected = expectedEvents(sensor)
  if (idleMs >= 1000 && events.length === expected.length) {
    // Live input idle for a whole second lets the wall clock move packet time on (so sessions
    // expire when traffic stops); a slow machine may have stopped us that late.
    for (const i of [5, 6]) {
      t.true((events[i].timestamp as string) >= (expected[i].timestamp as string))
      expected[i].timestamp = events[i].timestamp
    }
  }
  t.deepEqual(events.map(({ session_id: _, ...rest }) => rest), expected)
  const ids = events.map((e) => e.session_id as string)
  for (const id of ids) t.regex(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  const tcpId = ids[0]
  const udpId = ids[2]
  t.deepEqual(ids, [tcpId, tcpId, udpId, udpId, tcpId, udpId, tcpId])
  t.is(uuid7Millis(tcpId), Math.floor(SESSION_T0 * 1000))
  t.is(uuid7Millis(udpId), Math.floor(SESSION_T0 * 1000) + 2)
  t.true(tcpId < udpId)
}

/** Until the ipc socket file exists: the tool has bound its endpoint. */
async function bound(tool: Tool, ep: string): Promise<void> {
  await waitFor(() => existsSync(ep.slice('ipc://'.length)) || tool.child.exitCode !== null, 10000, `bind of ${ep}`)
  if (tool.child.exitCode !== null) throw new Error(`exited early: ${tool.stderr()}`)
}

/**
 * PUB/SUB slow joiner: sends a probe through `pcap-zmq-send SEND_ARGS` (an ARP frame: counted, no
 * session) until the tracker reports it; returns how many were sent (each reached the receiver).
 * Its time is an hour early, so wall-clock idling between probes cannot move the clock past a capture.
 */
async function probeUntilSubscribed(track: Tool, sendArgs: string[]): Promise<number> {
  const probe = pcapOf([{ t: SESSION_T0 - 3600, data: arpFrame() }])
  let probes = 0
  await waitFor(async () => {
    if (track.child.exitCode !== null) throw new Error(`track exited: ${track.stderr()}`)
    probes += 1
    runTool('send', sendArgs, probe)
    await sleep(150)
    track.child.kill('SIGUSR1')
    await sleep(100)
    return (counters(track.stderr(), 'pcap-zmq-track').packets ?? 0) > 0
  }, 20000, 'track to receive from recv --publish')
  return probes
}

/** SIGTERM; returns how long after `since` (when the last packet was handed over) the stop came. */
async function stopAndCheck(t: ExecutionContext, tool: Tool, since = Date.now()): Promise<number> {
  const idle = Date.now() - since
  const code = await tool.stop('SIGTERM')
  t.is(code, 0, tool.stderr())
  return idle
}

test('send - EP < capture into track EP --pull: the exact session events', async (t) => {
  const ep = ipcEndpoint()
  const track = startTool('track', [ep, '--pull'])
  t.teardown(() => track.stop('SIGKILL'))
  await bound(track, ep)
  // Taken before sending: the last packet reaches track after this, so the idle time is not underestimated.
  const sent = Date.now()
  const send = runTool('send', ['-', ep, '--sensor-id', SENSOR], sessionCapture())
  t.is(send.status, 0, send.stderr)
  await waitFor(() => lines(track.stdout()).length >= 5, 10000, 'five events')
  const idle = await stopAndCheck(t, track, sent)
  assertSessionEvents(t, parse(track.stdout()), SENSOR, idle)
  t.like(counters(track.stderr(), 'pcap-zmq-track'), { packets: 11, sessions: 2, events: 7, not_ip: 0, bad_batches: 0, live: 0 })
})

test('recv EP1 FILE --publish EP2, track EP2 (SUB): the same events, and recv still writes the file', async (t) => {
  const tmp = tempDir()
  t.teardown(tmp.cleanup)
  const ep1 = ipcEndpoint()
  const ep2 = ipcEndpoint()
  const file = join(tmp.dir, 'out.pcap')
  const recv = await startRecv([ep1, file, '--publish', ep2])
  t.teardown(() => recv.stop('SIGKILL'))
  const track = startTool('track', [ep2])
  t.teardown(() => track.stop('SIGKILL'))
  const probes = await probeUntilSubscribed(track, ['-', ep1, '--sensor-id', SENSOR])
  // Taken before sending: the last packet reaches track after this, so the idle time is not underestimated.
  const sent = Date.now()
  const send = runTool('send', ['-', ep1, '--sensor-id', SENSOR], sessionCapture())
  t.is(send.status, 0, send.stderr)
  await waitFor(() => lines(track.stdout()).length >= 5, 10000, 'five events')
  const idle = await stopAndCheck(t, track, sent)
  assertSessionEvents(t, parse(track.stdout()), SENSOR, idle)
  const c = counters(track.stderr(), 'pcap-zmq-track')
  t.is(c.not_ip, c.packets - 11, 'every packet but the capture was a probe')
  t.true(c.not_ip >= 1 && c.not_ip <= probes)
  await recv.stop('SIGINT')
  const written = readPackets(file)
  t.is(written.filter((p) => p.data.readUInt16BE(12) === 0x0800).length, 11)
})

test('a live NFLOG batch (TLVs in meta, IP packet in data) pushed into track --pull: NEW, REPLIED, EXPIRED', async (t) => {
  const ep = ipcEndpoint()
  const track = startTool('track', [ep, '--pull'])
  t.teardown(() => track.stop('SIGKILL'))
  await bound(track, ep)
  const b = createBatchBuilder({ host: 'fw1', sensorId: 'nflog-sensor', source: 'nflog:5', linktype: 239, instance: 42 })
  const meta = nflogMeta(5, 'dns-in')
  const query = frame({ src: '10.2.0.9', dst: '10.2.0.1', proto: 'udp', sport: 33333, dport: 53, payload: dnsMessage(7, 'nflog.example', false) })
  const reply = frame({ src: '10.2.0.1', dst: '10.2.0.9', proto: 'udp', sport: 53, dport: 33333, payload: dnsMessage(7, 'nflog.example', true) })
  // The IP packet without its Ethernet header, as NFULA_PAYLOAD carries it.
  b.append(1_700_000_100, 250_000_000, query.length - 14, query, 14, query.length, meta, 0, meta.length)
  b.append(1_700_000_100, 251_500_000, reply.length - 14, reply, 14, reply.length, meta, 0, meta.length)
  const push = new Dealer({ linger: 1000 })
  push.connect(ep)
  await push.send(b.finish(false))
  push.close()
  await waitFor(() => lines(track.stdout()).length >= 2, 10000, 'two events')
  await stopAndCheck(t, track)
  const ev = parse(track.stdout())
  const common = {
    src_ip: '10.2.0.9', dst_ip: '10.2.0.1', src_port: 33333, dst_port: 53, protocol_num: 17, protocol_name: 'UDP',
    payload: { dns: 'nflog.example' }, sensor: 'nflog-sensor', orig_bytes: 59, first_seen: '2023-11-14T22:15:00.250000',
  }
  t.is(ev.length, 3)
  t.like(ev[0], { ...common, state: 'NEW', timestamp: '2023-11-14T22:15:00.250000', orig_packets: 1, reply_packets: 0, history: 'D', reason: null })
  t.like(ev[1], { ...common, state: 'REPLIED', timestamp: '2023-11-14T22:15:00.251500', reply_packets: 1, reply_bytes: 59, history: 'Dd' })
  t.like(ev[2], { ...common, state: 'EXPIRED', reason: 'eof', last_seen: '2023-11-14T22:15:00.251500', duration: 0.0015 })
  t.is(new Set(ev.map((e) => e.session_id)).size, 1)
  t.like(counters(track.stderr(), 'pcap-zmq-track'), { packets: 2, not_ip: 0, decode_errors: 0, sessions: 1, bad_batches: 0 })
})

test('track --publish: a SUB socket gets exactly the NDJSON lines printed on stdout', async (t) => {
  const ep = ipcEndpoint()
  const pubEp = ipcEndpoint()
  const track = startTool('track', [ep, '--pull', '--publish', pubEp, '--stdout'])
  t.teardown(() => track.stop('SIGKILL'))
  await bound(track, ep)
  await bound(track, pubEp)
  const sub = new Subscriber()
  t.teardown(() => { if (!sub.closed) sub.close() })
  const connected = new Promise<void>((resolve) => sub.events.on('connect', () => resolve()))
  sub.connect(pubEp)
  sub.subscribe()
  await connected
  // The subscription travels after the connection: give it time to reach the PUB side.
  await sleep(500)
  let received = ''
  let messages = 0
  const reading = (async () => {
    for await (const [m] of sub) {
      messages += 1
      received += m.toString('utf8')
    }
  })().catch(() => {})
  // Taken before sending: the last packet reaches track after this, so the idle time is not underestimated.
  const sent = Date.now()
  const send = runTool('send', ['-', ep, '--sensor-id', SENSOR], sessionCapture())
  t.is(send.status, 0, send.stderr)
  await waitFor(() => lines(received).length >= 5, 10000, 'five published events')
  const idle = await stopAndCheck(t, track, sent)
  await waitFor(() => lines(received).length >= 6, 5000, 'the EXPIRED event published at shutdown')
  sub.close()
  await reading
  t.true(received.endsWith('\n'))
  t.true(messages >= 1 && messages <= 6)
  t.is(received, track.stdout())
  assertSessionEvents(t, parse(received), SENSOR, idle)
})

/** One batch of `frames` (Ethernet), numbered `seq` in `instance`'s stream. */
function numberedBatch(frames: Buffer[], instance: number, seq: number, t0 = SESSION_T0 - 3600): Buffer {
  const b = createBatchBuilder({ host: 'gw', sensorId: '', source: 'pcap:-', linktype: 1, instance })
  frames.forEach((f, i) => b.append(Math.floor(t0), i * 1000, f.length, f, 0, f.length))
  const m = b.finish(false)
  m.writeUInt32BE(seq, 12)
  return m
}

test('track EP (SUB): gaps in the publisher\'s numbering count as lost_batches; a new instance is not a loss', async (t) => {
  const ep = ipcEndpoint()
  const pub = new Publisher({ linger: 0 })
  t.teardown(() => pub.close())
  await pub.bind(ep)
  const track = startTool('track', [ep])
  t.teardown(() => track.stop('SIGKILL'))
  const arp = [arpFrame()]
  // Slow joiner: numbered probes until one arrives; from then on every message arrives.
  let seq = 0
  await waitFor(async () => {
    if (track.child.exitCode !== null) throw new Error(`track exited: ${track.stderr()}`)
    await pub.send(numberedBatch(arp, 7, seq++))
    await sleep(100)
    track.child.kill('SIGUSR1')
    await sleep(100)
    return (counters(track.stderr(), 'pcap-zmq-track').packets ?? 0) > 0
  }, 20000, 'track to receive from the publisher')
  const got = counters(track.stderr(), 'pcap-zmq-track').packets!
  const probes = seq
  await pub.send(numberedBatch(arp, 7, seq++))
  await pub.send(numberedBatch(arp, 7, seq++))
  seq += 3 // three messages the PUB socket "dropped"
  await pub.send(numberedBatch(arp, 7, seq++))
  // A restarted publisher: another instance, its own numbering.
  await pub.send(numberedBatch(arp, 8, 5000))
  await pub.send(numberedBatch(arp, 8, 5001))
  // A jump no queue can explain is a restart, not a loss.
  await pub.send(numberedBatch(arp, 7, seq + 1_000_000))
  await waitFor(() => { track.child.kill('SIGUSR1'); return (counters(track.stderr(), 'pcap-zmq-track').packets ?? 0) >= got + 6 }, 10000, 'six more batches')
  await stopAndCheck(t, track)
  const c = counters(track.stderr(), 'pcap-zmq-track')
  t.true(probes - got >= 0)
  t.like(c, { packets: got + 6, lost_batches: 3, source_restarts: 1, bad_batches: 0 })
})

test('recv --publish --shards 2 numbers each topic\'s messages itself: one instance per topic, no gaps', async (t) => {
  const tmp = tempDir()
  t.teardown(tmp.cleanup)
  const ep1 = ipcEndpoint()
  const ep2 = ipcEndpoint()
  const recv = await startRecv([ep1, join(tmp.dir, 'out.pcap'), '--publish', ep2, '--shards', '2'])
  t.teardown(() => recv.stop('SIGKILL'))
  const sub = new Subscriber({ linger: 0 })
  t.teardown(() => { if (!sub.closed) sub.close() })
  sub.connect(ep2)
  sub.subscribe()
  const seen: Array<{ shard: number; instance: number; seq: number; count: number }> = []
  const reading = (async () => {
    for await (const [topic, msg] of sub) {
      t.true(isShardTopic(topic!))
      const b = decodeBatch(msg!)
      seen.push({ shard: parseShard(topic!.toString('latin1').slice(0, -1))!.index, instance: b.info.instance, seq: b.info.seq, count: b.info.count })
    }
  })().catch(() => {})
  // Eight UDP flows per batch: both shards get part of nearly every batch.
  const flows = Array.from({ length: 8 }, (_, i) => frame({ src: '10.9.0.1', dst: `10.9.1.${i + 1}`, proto: 'udp', sport: 40000 + i, dport: 53, payload: 'x' }))
  const dealer = new Dealer({ linger: 1000 })
  t.teardown(() => dealer.close())
  dealer.connect(ep1)
  let n = 0
  await waitFor(async () => {
    await dealer.send(numberedBatch(flows, 11, n++))
    await sleep(100)
    return seen.length > 0
  }, 20000, 'the subscriber to receive')
  const first = seen.length
  for (let i = 0; i < 50; i++) await dealer.send(numberedBatch(flows, 11, n++))
  await waitFor(() => seen.slice(first).reduce((a, m) => a + m.count, 0) >= 50 * 8, 10000, 'fifty more batches')
  sub.close()
  await reading
  const shardsSeen = new Set(seen.map((m) => m.shard))
  t.deepEqual([...shardsSeen].sort(), [0, 1], 'the eight flows fall in both shards')
  const inst = (k: number) => new Set(seen.filter((m) => m.shard === k).map((m) => m.instance))
  t.is(inst(0).size, 1)
  t.is(inst(1).size, 1)
  t.is(([...inst(1)][0]! - [...inst(0)][0]!) >>> 0, 1, 'instance of topic k is the publisher\'s + k')
  t.not([...inst(0)][0], 11, 'not the sender\'s instance')
  for (const k of [0, 1]) {
    const seqs = seen.filter((m) => m.shard === k).map((m) => m.seq)
    t.deepEqual(seqs, seqs.map((_, i) => seqs[0]! + i), `topic ${k} numbered without gaps`)
  }
})

test('a tracker that stops reading: what the PUB socket dropped for it is counted in lost_batches', async (t) => {
  const tmp = tempDir()
  t.teardown(tmp.cleanup)
  const ep1 = ipcEndpoint()
  const ep2 = ipcEndpoint()
  const out = join(tmp.dir, 'out.pcap')
  const recv = await startRecv([ep1, out, '--publish', ep2])
  t.teardown(() => recv.stop('SIGKILL'))
  const track = startTool('track', [ep2])
  t.teardown(() => { track.child.kill('SIGCONT'); return track.stop('SIGKILL') })
  const probes = await probeUntilSubscribed(track, ['-', ep1])
  const before = counters(track.stderr(), 'pcap-zmq-track').packets!
  // 200,000 UDP packets in 8 KiB batches (about 70 each), published while the tracker is stopped:
  // far more than the PUB queue and the socket buffers hold.
  const PACKETS = 200_000
  const data = Array.from({ length: 64 }, (_, i) => frame({ src: '10.8.0.1', dst: '10.8.0.2', proto: 'udp', sport: 30000 + i, dport: 9, payload: Buffer.alloc(64, i) }))
  const capture = pcapOf(Array.from({ length: PACKETS }, (_, i) => ({ t: SESSION_T0 + i / 1e5, data: data[i % 64]! })))
  track.child.kill('SIGSTOP')
  const send = runTool('send', ['-', ep1, '--batch-size', '8'], capture, 60000)
  t.is(send.status, 0, send.stderr)
  await waitForCounters(recv, (c) => c.packets_written >= PACKETS + probes, 20000, 'recv to write everything')
  track.child.kill('SIGCONT')
  // Until what was queued for the tracker has been read: its counter stops moving.
  let last = -1
  await waitFor(async () => {
    track.child.kill('SIGUSR1')
    await sleep(300)
    const now = counters(track.stderr(), 'pcap-zmq-track').packets ?? 0
    const still = now === last
    last = now
    return still
  }, 30000, 'the tracker to catch up')
  // The drops were at the end of the burst: the next heartbeat (every second) shows the gap.
  await waitFor(() => { track.child.kill('SIGUSR1'); return (counters(track.stderr(), 'pcap-zmq-track').lost_batches ?? 0) > 0 }, 5000, 'a heartbeat')
  await stopAndCheck(t, track)
  const c = counters(track.stderr(), 'pcap-zmq-track')
  const got = c.packets! - before
  t.log(`the tracker got ${got} of ${PACKETS} packets and counted ${c.lost_batches} lost batches`)
  t.true(got < PACKETS, `the tracker got ${got} of ${PACKETS}: the PUB socket dropped some`)
  t.true(c.lost_batches! > 0, `and the tracker counted them: ${JSON.stringify(c)}`)
  // Each lost batch held at most 8 KiB of 106-byte records.
  t.true(got + c.lost_batches! * Math.ceil(8192 / 106) >= PACKETS, `${got} + ${c.lost_batches} lost batches account for every packet`)
  t.is(c.source_restarts, 0)
  const r = await recv.stop('SIGINT')
  t.is(r, 0)
  t.is(readPackets(out).length, PACKETS + probes, 'the file has everything')
})

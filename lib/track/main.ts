import { isShardTopic, PUBLISHED_MESSAGE_MAX, shardTopic } from '../wire/batch-shards.js'
import { fstatSync } from 'node:fs'
import { Publisher, Subscriber } from 'zeromq'
import type { TrackConfig } from '../filter/config.js'
import { createRateMeter, formatCounters, installSignals, snakeKeys } from '../util/stats.js'
import { serveMetrics } from '../util/metrics.js'
import { sanitize } from '../util/sanitize.js'
import { isPipeError, messageOf, type PipeError } from '../util/errors.js'
import { decodeBatch, forEachRecord, recordLinktype, senderLabel } from '../wire/batch.js'
import { bindBatchInlet } from '../wire/batch-inlet.js'
import { createBatchAuthenticator, curveClientOptions, curveServerOptions, startGatekeeper, type CurveSetup, type Gatekeeper } from '../wire/curve.js'
import { endpointError, warnUnprotectedBinds } from '../wire/endpoint.js'
import { rebind } from '../wire/rebind.js'
import { hwmForBudget, PUB_QUEUE_BYTES, SUBSCRIPTION_MAX } from '../wire/queues.js'
import { createSeqTable, SEQ_RESTART } from '../pipeline/senders.js'
import { readCaptureInput } from './capture-input.js'
import { openTrackCapture, readIfaceInput } from './iface-input.js'
import type { AfPacketCapture, IfaceCaptureSettings } from '../capture/afpacket.js'
import { EVENT_MESSAGE_MAX, EventOutput } from './output.js'
import { PacketPipeline } from './pipeline.js'
import { eventJson } from './session-event.js'

export const NAME = 'pcap-zmq-track'

/** --publish: events for pcap-zmq-plugin, messages of at most EVENT_MESSAGE_MAX. */
const PUB_HWM = hwmForBudget(PUB_QUEUE_BYTES, EVENT_MESSAGE_MAX)

export interface TrackOptions {
  /** '-' for pcap/pcapng on stdin, iface:NAME[,NAME] for a live capture, else a ZeroMQ endpoint. */
  source: string
  /** The iface: source's ring, filter and flags. */
  capture?: IfaceCaptureSettings
  /** -u: the user to run as once the capture rings are set up. */
  user?: string
  pull: boolean
  /** --shard K/N: one shard of a sharded published stream. */
  shard?: { index: number; count: number } | null
  config: TrackConfig
  attributes: Record<string, unknown> | null
  packets: boolean
  publish: string | null
  stdout: boolean
  maxSessions: number
  dropBadChecksum: boolean
  statsInterval: number
  /** Say at start what was opened, bound and connected. */
  debug?: boolean
  sensor: string | null
  /** --metrics HOST:PORT: Prometheus exposition of the counters. */
  metrics?: string
  /** CURVE: server on --pull and --publish (clients from --curve-allow), client of a SUB source. */
  curve?: CurveSetup
  input?: NodeJS.ReadableStream
  output?: NodeJS.WritableStream
  log?: (msg: string) => void
}

/**
 * pcap-zmq-track: packets in (stdin capture, SUB or PULL socket), session events (or decoded
 * packets) out as NDJSON. Stops on SIGINT/SIGTERM or end of input, then reports every open
 * session as EXPIRED (reason "eof") so counts add up, and prints its counters on stderr.
 */
export async function runTrack(o: TrackOptions): Promise<number> {
  const log = o.log ?? ((m: string) => process.stderr.write(`${NAME}: ${m}\n`))
  let stopping = false
  let stopSource: () => void = () => {}
  const stop = () => { stopping = true; stopSource() }
  // The ZAP handler must be bound before any CURVE server socket, or libzmq lets every client in.
  let gate: Gatekeeper | undefined
  if (o.curve?.allowDir) gate = await startGatekeeper(o.curve, log)
  const authenticate = o.curve && gate && o.pull ? createBatchAuthenticator(o.curve, gate) : undefined
  if (!o.curve) warnUnprotectedBinds([o.pull ? o.source : null, o.publish], o.pull ? 'inject packets or read events' : 'read events', log)
  const newPub = () => {
    const p = new Publisher({ sendHighWaterMark: PUB_HWM, maxMessageSize: SUBSCRIPTION_MAX, ...curveServerOptions(gate ? o.curve : undefined) })
    gate?.watch(p)
    return p
  }
  let pub: Publisher | null = null
  if (o.publish) {
    pub = newPub()
    try { await pub.bind(o.publish) } catch (err) { pub.close(); gate?.close(); throw endpointError('bind', o.publish, err) }
  }
  const out = new EventOutput(o.stdout ? (o.output ?? process.stdout) : null, pub, stop)
  const pipeline = new PacketPipeline({
    config: o.config, attributes: o.attributes, packets: o.packets, dropBadChecksum: o.dropBadChecksum,
    maxSessions: o.maxSessions, onEvent: (ev) => out.writeJson(eventJson(ev)), onPacket: (p) => out.write(p), log,
  })
  const tracker = pipeline.tracker
  const badInput = { badBatches: 0, badRecords: 0 }
  // From ZeroMQ: batches missing from a sender's or publisher's numbered stream, and restarts of it.
  let stream: { lostBatches: number; sourceRestarts: number } | undefined
  let cap: AfPacketCapture | undefined
  const kernel = (): Record<string, number> => {
    if (!cap) return {}
    cap.refreshStats()
    const s = cap.stats
    return { kernelPackets: s.kernelPackets, kernelDrops: s.kernelDrops, kernelFreezes: s.kernelFreezes, ringTruncated: s.truncated, badFrames: s.badFrames }
  }
  const counters = () => snakeKeys({
    ...pipeline.counters, ...kernel(), ...badInput, ...stream, live: tracker.live, sessions: tracker.stats.sessions,
    events: tracker.stats.events, evicted: tracker.stats.evicted, notIp: tracker.stats.notIp,
    fragments: tracker.stats.fragments, filtered: tracker.stats.filtered, ignoredSessions: tracker.stats.ignoredSessions,
    tcpInvalid: tracker.stats.tcpInvalid, tcpOutOfWindow: tracker.stats.tcpOutOfWindow, orphanRst: tracker.stats.orphanRst, ...tracker.hello.stats, pubDropped: out.counters.pubDropped,
    ...(gate ? { authRejected: gate.stats.auth_rejected } : {}),
  })
  if (o.debug) log(`reading ${o.source}${o.pull ? ' (bound for senders)' : ''}${o.shard ? `, shard ${o.shard.index}/${o.shard.count}` : ''}; events to ${[o.stdout ? 'stdout' : '', o.publish ?? ''].filter(Boolean).join(' and ') || 'nowhere'}; at most ${o.maxSessions} live sessions`)
  const rates = createRateMeter()
  const report = () => {
    const c = counters()
    process.stderr.write(formatCounters(NAME, c, '', rates(c)) + '\n')
  }
  const metrics = o.metrics ? await serveMetrics(o.metrics, 'track', { counters }) : undefined
  // A key left --curve-allow: subscribers authenticated only at their handshake, so the PUB socket
  // is bound anew and each must pass the ZAP handler again (batches on --pull carry proofs).
  const reauthenticate = async () => {
    if (!pub || !o.publish) return
    try {
      pub = await rebind(pub, newPub, o.publish)
      out.replacePublisher(pub)
      log('--curve-allow lost a key: the publish socket was bound anew, so its subscribers authenticate again')
    } catch (err) {
      log(`after --curve-allow changed: ${messageOf(err)}`)
    }
  }
  const removeSignals = installSignals(stop, report, o.statsInterval, () => {
    if (gate?.reload() && !stopping) void reauthenticate()
  })

  // Packet time drives expiry; while live input is idle, let wall time move it on.
  let lastPkt = 0
  let wallAtLastPkt = 0
  let seen = 0
  let seenAtTick = -1
  // A capture file on stdin (`< file.pcap`) is a replay: only packet time may move the clock there.
  const replay = o.source === '-' && isRegularFile(o.input ?? process.stdin)
  const idle = setInterval(() => {
    if (!replay && seen === seenAtTick && lastPkt > 0 && !out.congested) {
      tracker.advance(lastPkt + (Date.now() * 1000 - wallAtLastPkt))
      out.flush()
    }
    seenAtTick = seen
  }, 1000)
  idle.unref()
  const sensorIdx = tracker.sensorId(o.sensor)
  const onPacket = (linktype: number, data: Buffer, sec: number, nsec: number, len: number, sensor: number) => {
    seen += 1
    const us = sec * 1e6 + Math.floor(nsec / 1000)
    if (us > lastPkt) lastPkt = us
    wallAtLastPkt = Date.now() * 1000
    pipeline.packet(linktype, data, sec, nsec, len, sensor)
  }

  // Bad stdin input ends the run with its one line and exit 1, after the events of what was read.
  let inputError: PipeError | null = null
  if (o.capture) {
    // A bad interface or filter is one line, before any counters.
    try {
      cap = await openTrackCapture(o.capture, o.user, log)
    } catch (err) {
      clearInterval(idle)
      removeSignals()
      pipeline.close()
      pub?.close()
      gate?.close()
      throw err
    }
  }
  try {
    if (cap) {
      const opened = cap
      stopSource = () => opened.stop()
      if (stopping) opened.stop()
      await readIfaceInput(opened, (linktype, data, sec, nsec, len) => onPacket(linktype, data, sec, nsec, len, sensorIdx), async () => {
        out.flush()
        if (out.congested) await out.drained()
        if (out.closed) opened.stop()
      }, log)
    } else if (o.source === '-') {
      const input = o.input ?? process.stdin
      stopSource = () => { (input as NodeJS.ReadStream).destroy?.() }
      const res = await readCaptureInput(
        input, 'stdin',
        (p) => onPacket(p.linktype, p.data, p.tsSec, p.tsNsec, p.origLen, sensorIdx),
        async () => {
          out.flush()
          if (out.congested) await out.drained()
          return stopping || out.closed
        },
        () => stopping,
      )
      badInput.badRecords = res.badRecords
      inputError = res.error
    } else {
      // --pull: senders connect here and get delivery acknowledgements; otherwise subscribe.
      const inlet = o.pull ? await bindBatchInlet(o.source, { receiveHighWaterMark: 10_000, security: curveServerOptions(gate ? o.curve : undefined) }) : undefined
      // pcap-zmq-recv --publish cuts what it publishes: none is larger than this.
      const sub = inlet ? undefined : new Subscriber({ receiveHighWaterMark: 10_000, maxMessageSize: PUBLISHED_MESSAGE_MAX, ...curveClientOptions(o.curve) })
      if (inlet && gate) gate.watch(inlet.socket)
      const sock = inlet ?? sub!
      stopSource = () => sock.close()
      if (sub) {
        try {
          sub.connect(o.source)
          // The publisher filters by topic: the other shards never cross the network.
          if (o.shard) sub.subscribe(shardTopic(o.shard.index, o.shard.count))
          else sub.subscribe()
        } catch (err) {
          sub.close()
          throw endpointError('connect', o.source, err)
        }
      }
      const messages = inlet ? inlet.messages() : subscribed(sub!)
      const warned = new Set<string>()
      // Senders number their batches; pcap-zmq-recv --publish numbers what it publishes per topic
      // (stampPublished), so a gap there is what its PUB socket dropped for this subscriber.
      const seqs = createSeqTable()
      stream = { lostBatches: 0, sourceRestarts: 0 }
      try {
        for await (const { frames, peer } of messages) {
          // A sharded stream's messages start with their topic; a tracker of all shards skips it.
          const [msg, named] = !inlet && frames.length > 1 && isShardTopic(frames[0]!) ? frames.slice(1) : frames
          try {
            const batch = decodeBatch(msg!)
            let host = batch.info.host
            // From pcap-zmq-recv --publish with CURVE: the sender's name as recv authenticated it.
            if (!inlet && named && o.curve) host = sanitize(named.toString('utf8'))
            if (authenticate) {
              // The key's certificate names the sender; the header's names are only claims.
              const name = authenticate(batch.info.proof, sanitize(senderLabel(host, batch.info.sensorId)))
              if (name === undefined) continue
              host = name
            }
            if (inlet && peer) inlet.delivered(peer, batch.info.instance, batch.info.seq)
            const step = seqs.step(batch.info.instance, batch.info.seq)
            if (step > 0) stream.lostBatches += step
            else if (step === SEQ_RESTART) stream.sourceRestarts += 1
            // A publisher's heartbeat (no records) only carries its topic's number.
            if (batch.info.count === 0) continue
            const authenticated = authenticate !== undefined || (!inlet && named !== undefined && o.curve !== undefined)
            const sensor = tracker.sensorId(authenticated ? (batch.info.sensorId ? `${host}/${batch.info.sensorId}` : host) : (batch.info.sensorId || host || o.sensor))
            const lt = batch.info.linktype
            // NFLOG records travel split (TLVs in meta, the IP packet in data): decode data as RAW.
            forEachRecord(batch, (r) => onPacket(recordLinktype(lt, r), r.data, r.tsSec, r.tsNsec, r.origLen, sensor))
          } catch (err) {
            if (!isPipeError(err)) throw err
            badInput.badBatches += 1
            if (!warned.has(err.code)) { warned.add(err.code); log(`skipping bad batch: ${messageOf(err)}`) }
          }
          out.flush()
          if (out.congested) await out.drained()
          if (stopping || out.closed) break
        }
      } catch (err) {
        if (!stopping) throw err
      }
      sock.close()
    }
  } finally {
    clearInterval(idle)
    removeSignals()
    cap?.close()
    tracker.flush()
    pipeline.close()
    await out.end()
    pub?.close()
    gate?.close()
    await metrics?.close()
    // The last line: totals only, as every tool ends.
    if (inputError === null) process.stderr.write(formatCounters(NAME, counters()) + '\n')
  }
  if (inputError !== null) throw inputError
  if (cap?.failure) throw cap.failure
  return 0
}

/** Whether a stream reads a regular file (its fd says so), as opposed to a pipe, FIFO or socket. */
function isRegularFile(input: NodeJS.ReadableStream): boolean {
  const fd = (input as { fd?: unknown }).fd
  if (typeof fd !== 'number') return false
  try {
    return fstatSync(fd).isFile()
  } catch {
    return false
  }
}

async function* subscribed(sub: Subscriber): AsyncIterable<{ frames: Buffer[]; peer?: Buffer }> {
  for await (const frames of sub) yield { frames }
}

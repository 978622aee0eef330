import { createBatchSplitter, createHeartbeat, PUBLISHED_HEARTBEAT_MS, PUBLISHED_MESSAGE_MAX, PUBLISHED_RECORDS_MAX, shardTopic, stampPublished } from '../wire/batch-shards.js'
import { randomInt } from 'node:crypto'
import { hostname } from 'node:os'
import { Publisher, Reply } from 'zeromq'
import { createEncoder } from '../pcap/encoder.js'
import { linktypeName, LINKTYPE } from '../pcap/linktypes.js'
import { createRing } from '../pcap/ring.js'
import { openSink } from '../pcap/sink.js'
import { pcapHeader } from '../pcap/writer.js'
import { decodeBatch, peekSender, senderLabel } from '../wire/batch.js'
import { bindBatchInlet } from '../wire/batch-inlet.js'
import { createBatchAuthenticator, curveServerOptions, startGatekeeper, type CurveSetup, type Gatekeeper } from '../wire/curve.js'
import { endpointError, warnUnprotectedBinds } from '../wire/endpoint.js'
import { rebind } from '../wire/rebind.js'
import { hwmForBudget, PUB_QUEUE_BYTES, SUBSCRIPTION_MAX } from '../wire/queues.js'
import { isPipeError, messageOf, userError } from '../util/errors.js'
import { sanitize } from '../util/sanitize.js'
import { createOnceLogger, createRateMeter, formatCounters, installSignals } from '../util/stats.js'
import { serveMetrics, type MetricsServer } from '../util/metrics.js'
import { dumpBudget, REP_OPTIONS, serveBufferInterface } from './buffer-interface.js'
import { createSenderTable, createSeqTable, MAX_SENDERS, SEQ_LATE, SEQ_RESTART, type SenderCounters } from './senders.js'

export type { SenderCounters } from './senders.js'

export interface RecvOptions {
  endpoint: string
  output: string
  format: 'pcap' | 'pcapng'
  linktype?: number
  /** pcapng only: each packet keeps its own link type (tshark/Wireshark; libpcap readers refuse it). */
  mixedLinktypes?: boolean
  rotateBytes: number
  rotateSeconds: number
  rotateCount: number
  publish?: string
  /** --shards: the published stream split by flow into this many topics (1: one stream, no topic). */
  shards?: number
  bufferInterface?: string
  bufferWindow: number
  zmqBuffer: number
  maxPending: number
  statsInterval: number
  debug: boolean
  /** --metrics HOST:PORT: Prometheus exposition of the counters, per sender too. */
  metrics?: string
  /** CURVE on every bound socket: clients from --curve-allow only, senders named by their key. */
  curve?: CurveSetup
  log: (msg: string) => void
}

export interface RecvCounters {
  batches: number
  packets_in: number
  packets_written: number
  bytes_written: number
  compressed_batches: number
  /** Wire bytes of the compressed batches decoded, and what their records inflated to. */
  compressed_bytes: number
  inflated_bytes: number
  /** Compressed batches refused unread: declared beyond MAX_INFLATE_RATIO, or inflating past their size (EWIREBOMB). */
  zlib_bombs: number
  bad_frames: number
  /** Sequence jumps taken for a sender restart rather than loss (see seqStep). */
  sender_restarts: number
  skipped_linktype: number
  no_reader: number
  slow_reader: number
  /** Failed writes, opens and retries of the output. */
  write_errors: number
  /** Packets lost to write errors (never counted as written). */
  write_failed: number
  reader_reopens: number
  /** Messages published (with --shards, one per shard a batch had packets for). */
  published: number
  buffer_queries: number
  /** CURVE handshakes and batches refused (unknown key, missing or wrong sender proof). */
  auth_rejected: number
  /** Buffer queries answered "busy": dumps libzmq still held filled the budget (buffer-interface.ts). */
  buffer_busy: number
}

const BIND_OPTS = { linger: 0 }
/** Re-published batches are cut to at most PUBLISHED_MESSAGE_MAX each (lib/wire/batch-shards.ts). */
const PUB_HWM = hwmForBudget(PUB_QUEUE_BYTES, PUBLISHED_MESSAGE_MAX)

export async function runRecv(opts: RecvOptions): Promise<{ counters: RecvCounters; senders: Map<string, SenderCounters> }> {
  const c: RecvCounters = {
    batches: 0, packets_in: 0, packets_written: 0, bytes_written: 0, compressed_batches: 0, compressed_bytes: 0, inflated_bytes: 0,
    zlib_bombs: 0, bad_frames: 0, sender_restarts: 0, skipped_linktype: 0, no_reader: 0, slow_reader: 0, write_errors: 0,
    write_failed: 0, reader_reopens: 0, published: 0, buffer_queries: 0, buffer_busy: 0, auth_rejected: 0,
  }
  const senders = createSenderTable()
  const seqs = createSeqTable()
  const warnOnce = createOnceLogger(opts.log)
  const encoder = createEncoder({ format: opts.format, linktype: opts.linktype, mixedLinktypes: opts.mixedLinktypes, application: 'pcap-zmq-recv' })
  const ring = createRing(opts.bufferInterface ? opts.bufferWindow : 0)
  const shards = opts.shards ?? 1
  const splitter = opts.publish ? createBatchSplitter(shards, PUBLISHED_RECORDS_MAX) : undefined
  const topics = Array.from({ length: shards }, (_, k) => shardTopic(k, shards))
  // The published stream is numbered per topic by this process, not by the senders (stampPublished).
  const pubInstance = randomInt(0, 2 ** 32 - 1)
  const pubSeq = new Uint32Array(shards)

  // An output that cannot be written is a user error found before anything is bound.
  const sink = openSink({
    path: opts.output, format: opts.format, linktype: opts.linktype, preamble: encoder.preamble,
    rotateBytes: opts.rotateBytes, rotateSeconds: opts.rotateSeconds, rotateCount: opts.rotateCount,
    maxPending: opts.maxPending, log: opts.log,
  })
  // The ZAP handler must be bound before any CURVE socket, or libzmq lets every client in.
  let gate: Gatekeeper | undefined
  if (opts.curve) gate = await startGatekeeper(opts.curve, opts.log)
  const authenticate = opts.curve && gate ? createBatchAuthenticator(opts.curve, gate) : undefined
  const security = curveServerOptions(opts.curve)
  let inlet
  try {
    inlet = await bindBatchInlet(opts.endpoint, { receiveHighWaterMark: opts.zmqBuffer, security })
  } catch (err) {
    gate?.close()
    throw err
  }
  const sockets: Array<{ close(): void }> = [inlet]
  if (gate) {
    sockets.push(gate)
    gate.watch(inlet.socket)
  }
  const bind = async (sock: { bind(ep: string): Promise<void>; close(): void }, ep: string) => {
    try { await sock.bind(ep) } catch (err) {
      for (const s of sockets) s.close()
      throw endpointError('bind', ep, err)
    }
  }
  const newPub = () => {
    const p = new Publisher({ ...BIND_OPTS, sendHighWaterMark: PUB_HWM, maxMessageSize: SUBSCRIPTION_MAX, ...security })
    gate?.watch(p)
    return p
  }
  const newRep = () => {
    const r = new Reply({ ...REP_OPTIONS, ...security })
    gate?.watch(r)
    return r
  }
  let pub: Publisher | undefined
  if (opts.publish) {
    pub = newPub()
    sockets.push(pub)
    await bind(pub, opts.publish)
  }
  let rep: Reply | undefined
  if (opts.bufferInterface) {
    rep = newRep()
    sockets.push(rep)
    await bind(rep, opts.bufferInterface)
  }
  try { sink.start() } catch (err) {
    for (const s of sockets) s.close()
    throw err
  }
  if (!opts.curve) warnUnprotectedBinds([opts.endpoint, opts.publish, opts.bufferInterface], 'inject or read packets', opts.log)

  const snapshot = () => {
    c.no_reader = sink.stats.noReader
    c.slow_reader = sink.stats.slowReader
    c.write_errors = sink.stats.writeErrors
    c.write_failed = sink.stats.writeFailed
    c.reader_reopens = Math.max(0, sink.stats.opens - 1)
    if (gate) c.auth_rejected = gate.stats.auth_rejected
    return { ...c }
  }
  const rates = createRateMeter()
  const report = () => {
    const now = snapshot()
    opts.log(formatCounters('counters', now, '', rates(now)))
    senders.report(opts.log)
  }
  let metrics: MetricsServer | undefined
  if (opts.metrics) {
    try {
      metrics = await serveMetrics(opts.metrics, 'recv', {
        counters: () => snapshot(),
        series: () => new Map([...senders.entries()].map(([name, s]) => [name, { ...s }])),
      })
    } catch (err) {
      for (const s of sockets) s.close()
      throw err
    }
  }
  let stopping = false
  let rebinding = false
  const serve = (r: Reply) => serveBufferInterface(r, {
    ring, preamble: () => encoder.preamble() ?? pcapHeader(opts.linktype ?? LINKTYPE.RAW), budget: dumpBudget(opts.bufferWindow),
    counters: c, stopping: () => stopping || rebinding, log: opts.log,
  })
  let bufferTask = rep ? serve(rep) : Promise.resolve()
  const swap = <T extends { close(): void }>(old: T, fresh: T) => { sockets[sockets.indexOf(old)] = fresh }
  /**
   * A key left --curve-allow: batches carry proofs and are refused from the next one on, but PUB
   * and REP peers authenticated only at their handshake. Bound anew, every one of them must pass
   * the ZAP handler again, and the removed key does not.
   */
  const reauthenticate = async () => {
    rebinding = true
    try {
      if (pub && opts.publish) {
        const old = pub
        pub = await rebind(old, newPub, opts.publish)
        swap(old, pub)
      }
      if (rep && opts.bufferInterface) {
        const old = rep
        rep = await rebind(old, newRep, opts.bufferInterface)
        swap(old, rep)
        await bufferTask
        bufferTask = serve(rep)
      }
      opts.log('--curve-allow lost a key: the publish and buffer sockets were bound anew, so their clients authenticate again')
    } catch (err) {
      opts.log(`after --curve-allow changed: ${messageOf(err)}`)
    } finally {
      rebinding = false
    }
  }
  // One send in flight at a time on the PUB socket (zeromq.js allows no more): batches and heartbeats.
  let publishing: Promise<unknown> = Promise.resolve()
  const publish = (frames: Buffer[]): Promise<unknown> => (publishing = publishing.then(() => pub?.send(frames)).catch(() => { /* PUB drops at its HWM by design */ }))
  const heartbeat = createHeartbeat(hostname(), LINKTYPE.ETHERNET)
  const beats = pub ? setInterval(() => {
    for (let k = 0; k < shards; k++) {
      const m = heartbeat()
      stampPublished(m, pubInstance, k, pubSeq[k]!++)
      void publish(shards > 1 ? [topics[k]!, m] : [m])
    }
  }, PUBLISHED_HEARTBEAT_MS) : undefined
  const uninstall = installSignals(() => {
    stopping = true
    for (const s of sockets) s.close()
  }, report, opts.statsInterval, () => {
    if (gate?.reload() && (pub || rep) && !stopping) void reauthenticate()
  })
  // Said once the signals are ours: a supervisor (or a test) that stops the receiver as soon as it
  // reads this line gets a clean shutdown, not the default action of SIGINT.
  if (opts.debug) opts.log(`listening on ${opts.endpoint}, writing ${opts.format} to ${opts.output === '-' ? 'stdout' : opts.output}`)

  /**
   * `who` is a sanitized name (peekSender): it goes into the log line as it is. Once per kind and
   * known sender; a name no batch has decoded with is only a claim (random bytes give a new one
   * each frame), so those are logged once per kind and connection.
   */
  const bad = (who: string, kind: string, msg: string, peer: Buffer | undefined, s = senders.byName(who)) => {
    c.bad_frames += 1
    if (kind === 'EWIREBOMB') c.zlib_bombs += 1
    if (s) s.bad_frames += 1
    const key = s || !peer ? `${kind}\0${who}` : `${kind}\0\0${peer.toString('latin1')}`
    warnOnce(key, () => `bad frame from ${who}: ${msg} (counted; further ${kind} frames from it are counted silently)`)
  }

  try {
    for await (const { frames, peer } of inlet.messages()) {
      if (frames.length !== 1) {
        bad(peekSender(frames[0] ?? Buffer.alloc(0)), 'multipart', `${frames.length}-part message`, peer)
        continue
      }
      const msg = frames[0]!
      let batch
      try {
        batch = decodeBatch(msg)
      } catch (err) {
        bad(peekSender(msg), isPipeError(err) ? err.code : 'error', messageOf(err), peer)
        continue
      }
      const info = batch.info
      let key = senderLabel(info.host, info.sensorId)
      // How logs name the sender: the raw header's names, escaped; with CURVE its certificate's name.
      let shown = (): string => peekSender(msg)
      if (authenticate) {
        // The key's certificate names the sender; the header's host name is only a claim.
        const name = authenticate(info.proof, peekSender(msg))
        if (name === undefined) continue
        info.host = name
        key = senderLabel(name, info.sensorId)
        const label = sanitize(key)
        shown = () => label
      }
      let s = senders.get(key)
      if (!s) {
        const added = senders.add(key, () => shown())
        s = added.counters
        if (added.added && opts.debug) opts.log(`new sender ${shown()} (${sanitize(info.source)}, ${linktypeName(info.linktype)})`)
        if (!added.added) warnOnce('others', () => `more than ${MAX_SENDERS} senders: ${shown()} and later ones are counted together as others`)
      }
      // Sequence numbers count one sender process's batches over its socket, all sources together.
      const step = seqs.step(info.instance, info.seq)
      if (step > 0) s.lost_batches += step
      else if (step === SEQ_LATE) s.late_batches += 1
      else if (step === SEQ_RESTART) {
        s.restarts += 1
        c.sender_restarts += 1
      }
      // A late batch still arrived: acknowledged and written like any other.
      inlet.delivered(peer, info.instance, info.seq)
      // Cut for publishing first: the parts are copies (or the message itself), so the records can
      // then become the pcap records in place, unless they are the published message's own bytes.
      let parts: Array<[number, Buffer]> | undefined
      if (pub) {
        try {
          parts = splitter!.split(msg, batch)
        } catch (err) {
          bad(shown(), isPipeError(err) ? err.code : 'error', messageOf(err), peer, s)
          continue
        }
      }
      let res
      try {
        res = encoder.encode(batch, !pub || info.compressed)
      } catch (err) {
        bad(shown(), isPipeError(err) ? err.code : 'error', messageOf(err), peer, s)
        continue
      }
      c.batches += 1
      c.packets_in += info.count
      if (info.compressed) {
        c.compressed_batches += 1
        c.compressed_bytes += info.wireBytes
        c.inflated_bytes += batch.records.length
      }
      s.batches += 1
      s.packets += info.count
      s.bytes += res.bytes
      s.wire_bytes += info.wireBytes
      if (res.skipped) {
        c.skipped_linktype += res.skipped
        const lt = `lt\0${key}\0${res.skippedLinktype}`
        warnOnce(lt, () => `packets with link type ${linktypeName(res.skippedLinktype)} from ${shown()} skipped: ${encoder.explainSkip(res.skippedLinktype)}`)
      }
      if (pub && parts) {
        // With CURVE a last frame names the authenticated sender: subscribers trust this
        // publisher's key, not the header's claim. With --shards the topic comes first.
        const named = authenticate ? Buffer.from(info.host) : undefined
        for (const [k, part] of parts) {
          stampPublished(part, pubInstance, k, pubSeq[k]!++)
          const frames = shards > 1 ? [topics[k]!, part] : [part]
          if (named) frames.push(named)
          await publish(frames)
          c.published += 1
        }
      }
      ring.push(res.chunk)
      if (await sink.write(res.chunk, res.written, res.preface)) {
        c.packets_written += res.written
        c.bytes_written += res.bytes
      }
      if (sink.closed) break
    }
  } catch (err) {
    if (!stopping) throw err
  } finally {
    clearInterval(beats)
    uninstall()
    await metrics?.close()
    for (const s of sockets) s.close()
    await sink.close()
    await bufferTask
  }
  const final = snapshot()
  opts.log(formatCounters('final counters', final))
  senders.report(opts.log)
  // stdout cannot be reopened: a write error there ends the run as a failure.
  if (sink.failure) throw userError(sink.failure, 'EOUTPUT')
  return { counters: final, senders: senders.entries() }
}

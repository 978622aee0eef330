import { Publisher, Reply } from 'zeromq'
import { createEncoder } from '../pcap/encoder.js'
import { linktypeName, LINKTYPE } from '../pcap/linktypes.js'
import { createRing } from '../pcap/ring.js'
import { openSink } from '../pcap/sink.js'
import { pcapHeader } from '../pcap/writer.js'
import { decodeBatch, peekSender, senderLabel } from '../wire/batch.js'
import { bindBatchInlet } from '../wire/batch-inlet.js'
import { createBatchAuthenticator, curveServerOptions, startGatekeeper, type CurveSetup, type Gatekeeper } from '../wire/curve.js'
import { endpointError, isLoopbackOnly } from '../wire/endpoint.js'
import { isPipeError, messageOf, userError } from '../util/errors.js'
import { createOnceLogger, formatCounters, installSignals } from '../util/stats.js'

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
  bufferInterface?: string
  bufferWindow: number
  zmqBuffer: number
  maxPending: number
  statsInterval: number
  debug: boolean
  /** CURVE on every bound socket: clients from --curve-allow only, senders named by their key. */
  curve?: CurveSetup
  log: (msg: string) => void
}

export interface SenderCounters { batches: number; packets: number; bytes: number; wire_bytes: number; lost_batches: number; bad_frames: number }

export interface RecvCounters {
  batches: number
  packets_in: number
  packets_written: number
  bytes_written: number
  compressed_batches: number
  bad_frames: number
  skipped_linktype: number
  no_reader: number
  slow_reader: number
  /** Failed writes, opens and retries of the output. */
  write_errors: number
  /** Packets lost to write errors (never counted as written). */
  write_failed: number
  reader_reopens: number
  published: number
  buffer_queries: number
  /** CURVE handshakes and batches refused (unknown key, missing or wrong sender proof). */
  auth_rejected: number
}

const BIND_OPTS = { linger: 0 }

export async function runRecv(opts: RecvOptions): Promise<{ counters: RecvCounters; senders: Map<string, SenderCounters> }> {
  const c: RecvCounters = {
    batches: 0, packets_in: 0, packets_written: 0, bytes_written: 0, compressed_batches: 0, bad_frames: 0,
    skipped_linktype: 0, no_reader: 0, slow_reader: 0, write_errors: 0, write_failed: 0, reader_reopens: 0, published: 0, buffer_queries: 0,
    auth_rejected: 0,
  }
  const senders = new Map<string, SenderCounters>()
  const lastSeq = new Map<number, number>()
  const warnOnce = createOnceLogger(opts.log)
  const encoder = createEncoder({ format: opts.format, linktype: opts.linktype, mixedLinktypes: opts.mixedLinktypes, application: 'pcap-zmq-recv' })
  const ring = createRing(opts.bufferInterface ? opts.bufferWindow : 0)

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
  let pub: Publisher | undefined
  if (opts.publish) {
    pub = new Publisher({ ...BIND_OPTS, sendHighWaterMark: 10000, ...security })
    sockets.push(pub)
    gate?.watch(pub)
    await bind(pub, opts.publish)
  }
  let rep: Reply | undefined
  if (opts.bufferInterface) {
    rep = new Reply({ ...BIND_OPTS, sendTimeout: 1000, ...security })
    sockets.push(rep)
    gate?.watch(rep)
    await bind(rep, opts.bufferInterface)
  }
  try { sink.start() } catch (err) {
    for (const s of sockets) s.close()
    throw err
  }
  if (!opts.curve) {
    const open = [opts.endpoint, opts.publish, opts.bufferInterface].filter((ep): ep is string => !!ep && !isLoopbackOnly(ep))
    if (open.length) opts.log(`${open.join(', ')}: bound without CURVE: anyone who reaches ${open.length > 1 ? 'them' : 'it'} can inject or read packets (--curve-key and --curve-allow; docs/security.md)`)
  }
  if (opts.debug) opts.log(`listening on ${opts.endpoint}, writing ${opts.format} to ${opts.output === '-' ? 'stdout' : opts.output}`)

  const snapshot = () => {
    c.no_reader = sink.stats.noReader
    c.slow_reader = sink.stats.slowReader
    c.write_errors = sink.stats.writeErrors
    c.write_failed = sink.stats.writeFailed
    c.reader_reopens = Math.max(0, sink.stats.opens - 1)
    if (gate) c.auth_rejected = gate.stats.auth_rejected
    return { ...c }
  }
  const report = () => {
    opts.log(formatCounters('counters', snapshot()))
    for (const [who, s] of senders) opts.log(formatCounters(`  sender ${who}`, { ...s }))
  }
  let stopping = false
  const uninstall = installSignals(() => {
    stopping = true
    for (const s of sockets) s.close()
  }, report, opts.statsInterval, () => gate?.reload())

  const serveBuffer = async () => {
    if (!rep) return
    try {
      for await (const _req of rep) {
        c.buffer_queries += 1
        const pre = encoder.preamble() ?? pcapHeader(opts.linktype ?? LINKTYPE.RAW)
        await rep.send(ring.dump(pre))
      }
    } catch (err) {
      if (!stopping) opts.log(`buffer interface failed: ${messageOf(err)}`)
    }
  }
  const bufferTask = serveBuffer()

  const bad = (who: string, kind: string, msg: string) => {
    c.bad_frames += 1
    const s = senders.get(who)
    if (s) s.bad_frames += 1
    warnOnce(`${kind}\0${who}`, `bad frame from ${who}: ${msg} (counted; further ${kind} frames from it are counted silently)`)
  }

  try {
    for await (const { frames, peer } of inlet.messages()) {
      if (frames.length !== 1) {
        bad(peekSender(frames[0] ?? Buffer.alloc(0)), 'multipart', `${frames.length}-part message`)
        continue
      }
      const msg = frames[0]!
      let batch
      try {
        batch = decodeBatch(msg)
      } catch (err) {
        bad(peekSender(msg), isPipeError(err) ? err.code : 'error', messageOf(err))
        continue
      }
      const info = batch.info
      let who = senderLabel(info.host, info.sensorId)
      if (authenticate) {
        // The key's certificate names the sender; the header's host name is only a claim.
        const name = authenticate(info.proof, who)
        if (name === undefined) continue
        info.host = name
        who = senderLabel(name, info.sensorId)
      }
      let s = senders.get(who)
      if (!s) {
        senders.set(who, (s = { batches: 0, packets: 0, bytes: 0, wire_bytes: 0, lost_batches: 0, bad_frames: 0 }))
        if (opts.debug) opts.log(`new sender ${who} (${info.source}, ${linktypeName(info.linktype)})`)
      }
      // Sequence numbers count one sender process's batches over its socket, all sources together.
      const prev = lastSeq.get(info.instance)
      if (prev !== undefined && info.seq !== ((prev + 1) >>> 0)) s.lost_batches += (info.seq - prev - 1) >>> 0
      lastSeq.set(info.instance, info.seq)
      inlet.delivered(peer, info.instance, info.seq)
      let res
      try {
        // The records can become the pcap records in place unless the message is also published.
        res = encoder.encode(batch, !pub || info.compressed)
      } catch (err) {
        bad(who, isPipeError(err) ? err.code : 'error', messageOf(err))
        continue
      }
      c.batches += 1
      c.packets_in += info.count
      if (info.compressed) c.compressed_batches += 1
      s.batches += 1
      s.packets += info.count
      s.bytes += res.bytes
      s.wire_bytes += info.wireBytes
      if (res.skipped) {
        c.skipped_linktype += res.skipped
        warnOnce(`lt\0${who}\0${res.skippedLinktype}`, `packets with link type ${linktypeName(res.skippedLinktype)} from ${who} skipped: ${encoder.explainSkip(res.skippedLinktype)}`)
      }
      if (pub) {
        try { await pub.send(msg); c.published += 1 } catch { /* PUB drops at its HWM by design */ }
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
    uninstall()
    for (const s of sockets) s.close()
    await sink.close()
    await bufferTask
  }
  const final = snapshot()
  opts.log(formatCounters('final counters', final))
  for (const [who, s] of senders) opts.log(formatCounters(`  sender ${who}`, { ...s }))
  // stdout cannot be reopened: a write error there ends the run as a failure.
  if (sink.failure) throw userError(sink.failure, 'EOUTPUT')
  return { counters: final, senders }
}

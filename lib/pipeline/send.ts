import { createReadStream, statSync, type ReadStream } from 'node:fs'
import { hostname } from 'node:os'
import { randomInt } from 'node:crypto'
import { openNflog, type NflogCapture } from '../capture/nflog.js'
import { openIfaceCapture } from '../capture/iface.js'
import type { AfPacketCapture, IfaceCaptureSettings } from '../capture/afpacket.js'
import { writeFrame, type RingFrame } from '../capture/tpacket.js'
import type { NflogPacket } from '../capture/nfula.js'
import { createCaptureReader, type CapturePacket } from '../pcap/reader.js'
import { LINKTYPE } from '../pcap/linktypes.js'
import { createBatchBuilder, type BatchBuilder } from '../wire/batch.js'
import { connectBatchSender, type BatchSender } from '../wire/batch-sender.js'
import { curveClientOptions, senderProof, type CurveSetup } from '../wire/curve.js'
import { createShaper, type Shaper } from '../wire/shaper.js'
import { dropPrivileges } from '../util/privileges.js'
import { createRateMeter, formatCounters, installSignals } from '../util/stats.js'
import { serveMetrics, type MetricsServer } from '../util/metrics.js'
import { messageOf, userError } from '../util/errors.js'

export type SendSource = { kind: 'nflog'; groups: number[] } | { kind: 'pcap'; path: string } | { kind: 'iface'; ifaces: string[] }

export interface SendOptions {
  source: SendSource
  endpoint: string
  nlbufsiz: number
  nlbufsizMax: number
  qthresh: number
  timeout: number
  zmqBuffer: number
  /** Bytes of batches queued and not yet acknowledged, at most (--zmq-buffer-size). */
  zmqBufferBytes: number
  rateControl: boolean
  lwm: number
  hwm: number
  window: number
  user?: string
  sensorId: string
  batchBytes: number
  statsInterval: number
  /** A file replay gives up when nothing is taken or acknowledged for this long, seconds. */
  deliveryTimeout: number
  debug: boolean
  /** --metrics HOST:PORT: Prometheus exposition of the counters. */
  metrics?: string
  /** CURVE client of the receiver's key, with this sender's key proven in every batch. */
  curve?: CurveSetup
  /** The iface: source's ring, filter and flags. */
  capture?: IfaceCaptureSettings
  log: (msg: string) => void
}

export interface SendCounters {
  packets_in: number
  bytes_in: number
  /** Handed to ZeroMQ: in its queue, on the way, or delivered. */
  packets_queued: number
  /** Acknowledged by the receiver: these arrived. */
  packets_sent: number
  batches_sent: number
  wire_bytes_sent: number
  /** Queued, then lost with a connection that died or a socket that was replaced. */
  packets_lost: number
  /** Queued and neither acknowledged nor known lost (still on the way, or the fate is unknown). */
  packets_unconfirmed: number
  batches_compressed: number
  dropped_hwm: number
  /** Never queued: ZeroMQ's queue was full or no receiver was connected. */
  dropped_queue: number
  enobufs: number
  /** NFLOG datagrams cut by the receive buffer (packets in the cut part are lost). */
  truncated: number
  /** Packets the kernel numbered for a group that never reached us (ENOBUFS and the like); iface: ring drops. */
  kernel_lost: number
  bad_input: number
  socket_resets: number
  /** iface: PACKET_STATISTICS tp_packets: passed the kernel filter, taken or dropped for want of ring space. */
  kernel_packets?: number
  /** iface: tp_freeze_q_cnt, times the ring was full and the kernel waited for a block back. */
  kernel_freezes?: number
}

/** Finished batches waiting for the socket; sending is async, building is not. */
interface Outbox { msgs: Buffer[]; packets: number[] }

export async function runSend(opts: SendOptions): Promise<SendCounters> {
  const c: SendCounters = {
    packets_in: 0, bytes_in: 0, packets_queued: 0, packets_sent: 0, batches_sent: 0, wire_bytes_sent: 0,
    packets_lost: 0, packets_unconfirmed: 0, batches_compressed: 0, dropped_hwm: 0, dropped_queue: 0,
    enobufs: 0, truncated: 0, kernel_lost: 0, bad_input: 0, socket_resets: 0,
  }
  const host = hostname()
  const instance = randomInt(0, 2 ** 32 - 1)
  const shaper: Shaper = createShaper(opts.rateControl ? { lwm: opts.lwm, hwm: opts.hwm, window: opts.window } : { lwm: 0, hwm: 0, window: 0 })
  const builders = new Map<string, BatchBuilder>()
  const proof = opts.curve ? senderProof(opts.curve) : undefined
  const outbox: Outbox = { msgs: [], packets: [] }
  let lastMode = shaper.mode

  function builderFor(source: string, linktype: number): BatchBuilder {
    const key = `${source}\0${linktype}`
    let b = builders.get(key)
    if (!b) {
      b = createBatchBuilder({ host, sensorId: opts.sensorId, source, linktype, instance, proof }, opts.batchBytes)
      builders.set(key, b)
    }
    return b
  }

  function seal(b: BatchBuilder): void {
    const compress = shaper.compress
    outbox.packets.push(b.count)
    outbox.msgs.push(b.finish(compress))
    if (compress) c.batches_compressed += 1
  }

  /** Per packet: rate control, then copy into the source's batch. */
  function take(b: BatchBuilder, tsSec: number, tsNsec: number, origLen: number, buf: Buffer, start: number, end: number, meta?: Buffer, mStart?: number, mEnd?: number): void {
    if (admit(b, end - start, (mEnd ?? 0) - (mStart ?? 0))) b.append(tsSec, tsNsec, origLen, buf, start, end, meta, mStart, mEnd)
  }

  /** Counts a packet of `len` bytes in, applies rate control, and seals `b` if the packet and `extra` bytes of metadata will not fit. */
  function admit(b: BatchBuilder, len: number, extra: number): boolean {
    c.packets_in += 1
    c.bytes_in += len
    if (!shaper.admit(len)) {
      c.dropped_hwm += 1
      return false
    }
    if (b.count > 0 && !b.fits(len + extra)) seal(b)
    return true
  }

  let sender: BatchSender | undefined
  let waitOnFull = false
  let gaveUp = false
  async function flush(): Promise<void> {
    for (const b of builders.values()) if (b.count > 0) seal(b)
    if (shaper.mode !== lastMode) {
      opts.log(`rate ${(shaper.rate / 1048576).toFixed(2)} MiB/s: ${shaper.mode === 'drop' ? 'above the high watermark, dropping the excess' : shaper.mode === 'compress' ? 'above the low watermark, compressing' : 'below the watermarks, sending as is'}`)
      lastMode = shaper.mode
    }
    while (outbox.msgs.length > 0) {
      const msg = outbox.msgs.shift()!
      const n = outbox.packets.shift()!
      let ok = await sender!.send(msg, n)
      // A file being replayed loses nothing by waiting; live capture must never wait on the network.
      if (!ok && waitOnFull && !gaveUp) {
        const since = Date.now()
        while (!ok && !stopping) {
          if (Date.now() - since > opts.deliveryTimeout * 1000 && sender!.quietMs > opts.deliveryTimeout * 1000) {
            gaveUp = true
            opts.log(`no receiver at ${opts.endpoint} took a batch for ${opts.deliveryTimeout} s (--delivery-timeout): giving up; the rest of the input is counted as not delivered`)
            break
          }
          await new Promise((r) => setTimeout(r, 5))
          ok = await sender!.send(msg, n)
        }
      }
      if (!ok) c.dropped_queue += n
    }
    sync()
  }

  /** Copies the delivery side's view into the counters. */
  function sync(): void {
    if (!sender) return
    const d = sender.stats
    c.packets_queued = d.packetsQueued
    c.packets_sent = d.packetsDelivered
    c.batches_sent = d.batchesDelivered
    c.wire_bytes_sent = d.wireBytesDelivered
    c.packets_lost = d.packetsLost
    c.packets_unconfirmed = d.packetsUnconfirmed + sender.packetsInFlight
    c.socket_resets = d.resets
  }

  /** Per ring frame: rate control, then the frame (tag or SLL2 header put in) straight into the batch. */
  function takeFrame(b: BatchBuilder, ring: Buffer, f: RingFrame): void {
    if (admit(b, f.caplen, 0)) writeFrame(ring, f, b.buffer, b.reserve(f.tsSec, f.tsNsec, f.origLen, f.caplen), b.view)
  }

  function syncIface(): void {
    if (!ifaceCap) return
    const s = ifaceCap.stats
    c.kernel_lost = s.kernelDrops
    c.truncated = s.truncated
    c.bad_input = s.badFrames
    c.kernel_packets = s.kernelPackets
    c.kernel_freezes = s.kernelFreezes
  }

  let stopping = false
  let capture: NflogCapture | undefined
  let ifaceCap: AfPacketCapture | undefined
  let stream: ReadStream | NodeJS.ReadStream | undefined
  const rates = createRateMeter()
  const report = () => {
    sync()
    ifaceCap?.refreshStats()
    syncIface()
    const now = { ...c }
    opts.log(formatCounters('counters', now, capture ? `rcvbuf=${capture.stats.rcvbuf}` : '', rates(now)))
  }
  let metrics: MetricsServer | undefined
  if (opts.metrics) metrics = await serveMetrics(opts.metrics, 'send', { counters: () => { sync(); return { ...c } } })
  const uninstall = installSignals(() => {
    stopping = true
    capture?.stop()
    ifaceCap?.stop()
    if (stream && 'destroy' in stream) stream.destroy()
  }, report, opts.statsInterval)

  try {
    if (opts.source.kind === 'nflog') {
      capture = openNflog({
        groups: opts.source.groups, rcvbuf: opts.nlbufsiz, rcvbufMax: opts.nlbufsizMax,
        qthresh: opts.qthresh, timeout: opts.timeout, copyRange: 0xffff,
      })
    } else if (opts.source.kind === 'iface') {
      ifaceCap = await openIfaceCapture(opts.capture!, opts.endpoint, opts.log, opts.debug)
      c.kernel_packets = 0
      c.kernel_freezes = 0
    }
    sender = await connectBatchSender(opts.endpoint, opts.zmqBuffer, instance, opts.zmqBufferBytes, curveClientOptions(opts.curve))
    if (opts.user) {
      dropPrivileges(opts.user)
      if (opts.debug) opts.log(`running as ${opts.user} (uid ${process.getuid?.()})`)
    }
    const what = opts.source.kind === 'nflog' ? `NFLOG groups ${opts.source.groups.join(',')}` : opts.source.kind === 'iface' ? `iface:${opts.source.ifaces.join(',')}` : opts.source.path
    if (opts.debug) opts.log(`sending ${what} to ${opts.endpoint} as ${host}${opts.sensorId ? `/${opts.sensorId}` : ''}`)

    if (capture) {
      const cap = capture
      const groupBuilders = new Map<number, BatchBuilder>()
      await cap.run((buf: Buffer, p: NflogPacket) => {
        let b = groupBuilders.get(p.group)
        if (!b) groupBuilders.set(p.group, (b = builderFor(`nflog:${p.group}`, LINKTYPE.NFLOG)))
        let sec: number, nsec: number
        if (p.hasTimestamp) {
          sec = p.tsSec
          nsec = p.tsUsec * 1000
        } else {
          // libpcap's nflog reader always uses receive time; we do only when the kernel gave none.
          const ms = performance.timeOrigin + performance.now()
          sec = Math.floor(ms / 1000)
          nsec = Math.floor((ms - sec * 1000) * 1e6)
        }
        take(b, sec, nsec, p.origLen, buf, p.payloadStart, p.payloadEnd, buf, p.metaStart, p.metaEnd)
      }, async () => {
        c.enobufs = cap.stats.enobufs
        c.truncated = cap.stats.truncated
        c.kernel_lost = cap.stats.seqGaps
        c.bad_input = cap.stats.malformed
        await flush()
      }, opts.log)
    } else if (ifaceCap) {
      const cap = ifaceCap
      const perIface = cap.interfaces.map((i) => builderFor(`iface:${i.name}`, i.linktype))
      await cap.run((ring, f, i) => takeFrame(perIface[i]!, ring, f), async () => {
        syncIface()
        await flush()
      }, opts.log)
    } else if (opts.source.kind === 'pcap') {
      await pumpPcap(opts.source.path)
    }
    await flush()
    // Let what is on the way be acknowledged: the end of a pcap input waits up to --delivery-timeout with
    // no progress; anything stopped by a signal (live capture, or a pipe on stdin) only briefly.
    const replay = opts.source.kind === 'pcap' && !stopping && !gaveUp
    const deadline = Date.now() + (replay ? Infinity : 1000)
    await sender!.settle(replay ? opts.deliveryTimeout * 1000 : 300, () => Date.now() > deadline || (replay && stopping))
  } finally {
    uninstall()
    await metrics?.close()
    capture?.close()
    ifaceCap?.close()
    syncIface()
    sync()
    sender?.close()
  }
  opts.log(formatCounters('final counters', { ...c }))
  if (ifaceCap?.failure) throw ifaceCap.failure
  const notDelivered = c.packets_in - c.dropped_hwm - c.packets_sent
  if (opts.source.kind === 'pcap' ? notDelivered > 0 : c.packets_in > 0 && c.packets_sent === 0) {
    throw userError(`${notDelivered} of ${c.packets_in} packets were not delivered to ${opts.endpoint} (dropped_queue=${c.dropped_queue} lost=${c.packets_lost} unconfirmed=${c.packets_unconfirmed})`, 'EDELIVERY')
  }
  return c

  async function pumpPcap(path: string): Promise<void> {
    const label = `pcap:${path}`
    let isFifo = false
    if (path === '-') {
      waitOnFull = statSync('/dev/stdin', { throwIfNoEntry: false })?.isFile() ?? false
    } else {
      const st = statSync(path, { throwIfNoEntry: false })
      if (!st) throw userError(`cannot read ${path}: no such file`, 'EUSAGE')
      isFifo = st.isFIFO()
      waitOnFull = st.isFile()
    }
    // A FIFO (ulogd's pcap output, tcpdump -w FIFO) is reopened when its writer restarts.
    do {
      const onPacket = (p: CapturePacket) => {
        take(builderFor(p.iface ? `${label}#${p.iface}` : label, p.linktype), p.tsSec, p.tsNsec, p.origLen, p.data, 0, p.data.length)
      }
      const reader = createCaptureReader(onPacket)
      stream = path === '-' ? process.stdin : createReadStream(path, { highWaterMark: 256 << 10 })
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          reader.push(chunk)
          await flush()
          if (stopping) break
        }
        reader.end()
      } catch (err) {
        if (stopping) break
        if ((err as { code?: string }).code?.startsWith('EPCAP')) throw userError(`${path === '-' ? 'stdin' : path}: ${messageOf(err)}`, 'EINPUT')
        throw err
      }
      c.bad_input += reader.stats.badRecords
      if (reader.stats.error) opts.log(`${path === '-' ? 'stdin' : path}: ${reader.stats.error}`)
      await flush()
    } while (isFifo && !stopping)
  }
}

import { createReadStream, statSync, type ReadStream } from 'node:fs'
import { hostname } from 'node:os'
import { randomInt } from 'node:crypto'
import { openNflog, type NflogCapture } from '../capture/nflog.js'
import { openIfaceCapture } from '../capture/iface.js'
import type { AfPacketCapture, IfaceCaptureSettings } from '../capture/afpacket.js'
import { storedFrameEnd, writeFrame, FRAME_SLL2, type RingFrame } from '../capture/tpacket.js'
import type { NflogPacket } from '../capture/nfula.js'
import { createCaptureReader, type CapturePacket } from '../pcap/reader.js'
import { LINKTYPE } from '../pcap/linktypes.js'
import { createBatchBuilder, type BatchBuilder } from '../wire/batch.js'
import { connectBatchSender, type BatchSender } from '../wire/batch-sender.js'
import { curveClientOptions, senderProof, type CurveSetup } from '../wire/curve.js'
import { createShaper, type Shaper } from '../wire/shaper.js'
import { createFlowSharder } from '../decode/flow-hash.js'
import { dropPrivileges } from '../util/privileges.js'
import { createRateMeter, formatCounters, installSignals } from '../util/stats.js'
import { serveMetrics, type MetricsServer } from '../util/metrics.js'
import { messageOf, userError } from '../util/errors.js'

export type SendSource = { kind: 'nflog'; groups: number[] } | { kind: 'pcap'; path: string } | { kind: 'iface'; ifaces: string[] }

export interface SendOptions {
  source: SendSource
  /** Destinations; with several, each flow goes to the one its hash picks (lib/decode/flow-hash.ts). */
  endpoints: string[]
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

/** Counters a destination has of its own; the totals are their sums. */
const PER_DESTINATION = ['packets_queued', 'packets_sent', 'batches_sent', 'wire_bytes_sent', 'packets_lost', 'packets_unconfirmed', 'dropped_queue', 'socket_resets'] as const

/** What one destination of several took: its share of the totals, and `packets`, those the flow hash routed to it. */
export type DestinationCounters = { packets: number } & Pick<SendCounters, (typeof PER_DESTINATION)[number]>

/**
 * One destination: its own socket, batches and queue, so a destination that is down or slow
 * fills only its own queue and loses only its own share. Finished batches wait in the outbox
 * for the socket (sending is async, building is not).
 */
interface Lane {
  endpoint: string
  sender?: BatchSender
  /** One per source and link type. */
  builders: BatchBuilder[]
  msgs: Buffer[]
  packets: number[]
  /** A file replay stopped waiting for this destination (--delivery-timeout). */
  gaveUp: boolean
  counters: DestinationCounters
}

export interface SendResult extends SendCounters {
  /** Per destination, when there are several. */
  destinations?: Map<string, DestinationCounters>
}

export async function runSend(opts: SendOptions): Promise<SendResult> {
  const c: SendCounters = {
    packets_in: 0, bytes_in: 0, packets_queued: 0, packets_sent: 0, batches_sent: 0, wire_bytes_sent: 0,
    packets_lost: 0, packets_unconfirmed: 0, batches_compressed: 0, dropped_hwm: 0, dropped_queue: 0,
    enobufs: 0, truncated: 0, kernel_lost: 0, bad_input: 0, socket_resets: 0,
  }
  const host = hostname()
  const instance = randomInt(0, 2 ** 32 - 1)
  const shaper: Shaper = createShaper(opts.rateControl ? { lwm: opts.lwm, hwm: opts.hwm, window: opts.window } : { lwm: 0, hwm: 0, window: 0 })
  const proof = opts.curve ? senderProof(opts.curve) : undefined
  const lanes: Lane[] = opts.endpoints.map((endpoint) => ({
    endpoint, builders: [], msgs: [], packets: [], gaveUp: false,
    counters: { packets: 0, packets_queued: 0, packets_sent: 0, batches_sent: 0, wire_bytes_sent: 0, packets_lost: 0, packets_unconfirmed: 0, dropped_queue: 0, socket_resets: 0 },
  }))
  const sharder = createFlowSharder(lanes.length)
  const sharded = lanes.length > 1
  let lastMode = shaper.mode

  /**
   * The batch builders of one source, one per destination (index = lane): a source's packets
   * are split by flow, and each destination gets batches of its own.
   */
  const bySource = new Map<string, BatchBuilder[]>()
  function buildersFor(source: string, linktype: number): BatchBuilder[] {
    const key = `${source}\0${linktype}`
    let bs = bySource.get(key)
    if (!bs) {
      bs = lanes.map((lane) => {
        const b = createBatchBuilder({ host, sensorId: opts.sensorId, source, linktype, instance, proof }, opts.batchBytes)
        lane.builders.push(b)
        return b
      })
      bySource.set(key, bs)
    }
    return bs
  }

  function seal(lane: Lane, b: BatchBuilder): void {
    const compress = shaper.compress
    lane.packets.push(b.count)
    lane.msgs.push(b.finish(compress))
    if (compress) c.batches_compressed += 1
  }

  /** Counts a packet of `len` bytes in and applies rate control. */
  function admit(len: number): boolean {
    c.packets_in += 1
    c.bytes_in += len
    if (shaper.admit(len)) return true
    c.dropped_hwm += 1
    return false
  }

  /** The builder of destination `k` for the packet, sealed first if `bytes` more will not fit. */
  function room(bs: BatchBuilder[], k: number, bytes: number): BatchBuilder {
    const b = bs[k]!
    const lane = lanes[k]!
    lane.counters.packets += 1
    if (b.count > 0 && !b.fits(bytes)) seal(lane, b)
    return b
  }

  /** Per packet: rate control, the destination its flow hashes to (read as `hashLinktype`), then a copy into that batch. */
  function take(bs: BatchBuilder[], hashLinktype: number, tsSec: number, tsNsec: number, origLen: number, buf: Buffer, start: number, end: number, meta?: Buffer, mStart = 0, mEnd = 0): void {
    if (!admit(end - start)) return
    const k = sharded ? sharder.shard(hashLinktype, buf, start, end) : 0
    room(bs, k, end - start + mEnd - mStart).append(tsSec, tsNsec, origLen, buf, start, end, meta, mStart, mEnd)
  }

  let waitOnFull = false
  async function flush(): Promise<void> {
    for (const lane of lanes) for (const b of lane.builders) if (b.count > 0) seal(lane, b)
    if (shaper.mode !== lastMode) {
      opts.log(`rate ${(shaper.rate / 1048576).toFixed(2)} MiB/s: ${shaper.mode === 'drop' ? 'above the high watermark, dropping the excess' : shaper.mode === 'compress' ? 'above the low watermark, compressing' : 'below the watermarks, sending as is'}`)
      lastMode = shaper.mode
    }
    for (const lane of lanes) await drain(lane)
    sync()
  }

  async function drain(lane: Lane): Promise<void> {
    const sender = lane.sender!
    while (lane.msgs.length > 0) {
      const msg = lane.msgs.shift()!
      const n = lane.packets.shift()!
      let ok = await sender.send(msg, n)
      // A file being replayed loses nothing by waiting; live capture must never wait on the network.
      if (!ok && waitOnFull && !lane.gaveUp) {
        const since = Date.now()
        while (!ok && !stopping) {
          if (Date.now() - since > opts.deliveryTimeout * 1000 && sender.quietMs > opts.deliveryTimeout * 1000) {
            lane.gaveUp = true
            opts.log(`no receiver at ${lane.endpoint} took a batch for ${opts.deliveryTimeout} s (--delivery-timeout): giving up; the rest of ${sharded ? 'its share' : 'the input'} is counted as not delivered`)
            break
          }
          await new Promise((r) => setTimeout(r, 5))
          ok = await sender.send(msg, n)
        }
      }
      if (!ok) lane.counters.dropped_queue += n
    }
  }

  /** Copies the delivery side's view into each destination's counters, and their sums into the totals. */
  function sync(): void {
    for (const key of PER_DESTINATION) c[key] = 0
    for (const lane of lanes) {
      const l = lane.counters
      const sender = lane.sender
      if (sender) {
        const d = sender.stats
        l.packets_queued = d.packetsQueued
        l.packets_sent = d.packetsDelivered
        l.batches_sent = d.batchesDelivered
        l.wire_bytes_sent = d.wireBytesDelivered
        l.packets_lost = d.packetsLost
        l.packets_unconfirmed = d.packetsUnconfirmed + sender.packetsInFlight
        l.socket_resets = d.resets
      }
      for (const key of PER_DESTINATION) c[key] += l[key]
    }
  }

  /** Per ring frame: rate control, the destination, then the frame (tag or SLL2 header put in) straight into the batch. */
  function takeFrame(bs: BatchBuilder[], linktype: number, ring: Buffer, f: RingFrame): void {
    if (!admit(f.caplen)) return
    // The hash reads the frame where it lies in the ring: what a cooked socket stores is the network layer.
    const k = sharded ? sharder.shard(f.insert === FRAME_SLL2 ? LINKTYPE.RAW : linktype, ring, f.start, storedFrameEnd(f)) : 0
    const b = room(bs, k, f.caplen)
    // reserve() first: it may give the batch a larger buffer.
    const at = b.reserve(f.tsSec, f.tsNsec, f.origLen, f.caplen)
    writeFrame(ring, f, b.buffer, at, b.view)
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
    reportDestinations()
  }
  const reportDestinations = () => {
    if (sharded) for (const lane of lanes) opts.log(formatCounters(`  destination ${lane.endpoint}`, { ...lane.counters }))
  }
  const destinations = () => new Map(lanes.map((lane) => [lane.endpoint, { ...lane.counters }]))
  let metrics: MetricsServer | undefined
  if (opts.metrics) {
    metrics = await serveMetrics(opts.metrics, 'send', {
      counters: () => { sync(); return { ...c } },
      ...(sharded ? { series: () => { sync(); return destinations() }, seriesLabel: 'destination' } : {}),
    })
  }
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
      ifaceCap = await openIfaceCapture(opts.capture!, opts.endpoints, opts.log, opts.debug)
      c.kernel_packets = 0
      c.kernel_freezes = 0
    }
    // One instance number for all: a receiver that gets several shards counts them as one sender.
    for (const lane of lanes) lane.sender = await connectBatchSender(lane.endpoint, opts.zmqBuffer, instance, opts.zmqBufferBytes, curveClientOptions(opts.curve))
    if (opts.user) {
      dropPrivileges(opts.user)
      if (opts.debug) opts.log(`running as ${opts.user} (uid ${process.getuid?.()})`)
    }
    const what = opts.source.kind === 'nflog' ? `NFLOG groups ${opts.source.groups.join(',')}` : opts.source.kind === 'iface' ? `iface:${opts.source.ifaces.join(',')}` : opts.source.path
    if (opts.debug) opts.log(`sending ${what} to ${opts.endpoints.join(' ')}${sharded ? ' (each flow to one, by its hash)' : ''} as ${host}${opts.sensorId ? `/${opts.sensorId}` : ''}`)

    if (capture) {
      const cap = capture
      const groupBuilders = new Map<number, BatchBuilder[]>()
      await cap.run((buf: Buffer, p: NflogPacket) => {
        let b = groupBuilders.get(p.group)
        if (!b) groupBuilders.set(p.group, (b = buildersFor(`nflog:${p.group}`, LINKTYPE.NFLOG)))
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
        // The payload is the IP packet itself, read as LINKTYPE_RAW for the hash.
        take(b, LINKTYPE.RAW, sec, nsec, p.origLen, buf, p.payloadStart, p.payloadEnd, buf, p.metaStart, p.metaEnd)
      }, async () => {
        c.enobufs = cap.stats.enobufs
        c.truncated = cap.stats.truncated
        c.kernel_lost = cap.stats.seqGaps
        c.bad_input = cap.stats.malformed
        await flush()
      }, opts.log)
    } else if (ifaceCap) {
      const cap = ifaceCap
      const perIface = cap.interfaces.map((i) => buildersFor(`iface:${i.name}`, i.linktype))
      const linktypes = cap.interfaces.map((i) => i.linktype)
      await cap.run((ring, f, i) => takeFrame(perIface[i]!, linktypes[i]!, ring, f), async () => {
        syncIface()
        await flush()
      }, opts.log)
    } else if (opts.source.kind === 'pcap') {
      await pumpPcap(opts.source.path)
    }
    await flush()
    // Let what is on the way be acknowledged: the end of a pcap input waits up to --delivery-timeout with
    // no progress; anything stopped by a signal (live capture, or a pipe on stdin) only briefly.
    const replay = opts.source.kind === 'pcap' && !stopping
    const deadline = Date.now() + (replay ? Infinity : 1000)
    await Promise.all(lanes.map((lane) => {
      const wait = replay && !lane.gaveUp
      return lane.sender!.settle(wait ? opts.deliveryTimeout * 1000 : 300, () => Date.now() > deadline || (wait && stopping))
    }))
  } finally {
    uninstall()
    await metrics?.close()
    capture?.close()
    ifaceCap?.close()
    syncIface()
    sync()
    for (const lane of lanes) lane.sender?.close()
  }
  opts.log(formatCounters('final counters', { ...c }))
  reportDestinations()
  if (ifaceCap?.failure) throw ifaceCap.failure
  const notDelivered = c.packets_in - c.dropped_hwm - c.packets_sent
  if (opts.source.kind === 'pcap' ? notDelivered > 0 : c.packets_in > 0 && c.packets_sent === 0) {
    const to = sharded ? lanes.filter((l) => l.counters.packets > l.counters.packets_sent).map((l) => l.endpoint).join(', ') : opts.endpoints[0]
    throw userError(`${notDelivered} of ${c.packets_in} packets were not delivered to ${to} (dropped_queue=${c.dropped_queue} lost=${c.packets_lost} unconfirmed=${c.packets_unconfirmed})`, 'EDELIVERY')
  }
  return sharded ? { ...c, destinations: destinations() } : c

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
        take(buildersFor(p.iface ? `${label}#${p.iface}` : label, p.linktype), p.linktype, p.tsSec, p.tsNsec, p.origLen, p.data, 0, p.data.length)
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

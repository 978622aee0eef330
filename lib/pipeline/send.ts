import { createReadStream, statSync, type ReadStream } from 'node:fs'
import { hostname } from 'node:os'
import { randomInt } from 'node:crypto'
import { openNflog, type NflogCapture } from '../capture/nflog.js'
import type { NflogPacket } from '../capture/nfula.js'
import { createCaptureReader, type CapturePacket } from '../pcap/reader.js'
import { LINKTYPE } from '../pcap/linktypes.js'
import { createBatchBuilder, type BatchBuilder } from '../wire/batch.js'
import { connectPush, type BatchSender } from '../wire/push.js'
import { createShaper, type Shaper } from '../wire/shaper.js'
import { dropPrivileges } from '../util/privileges.js'
import { formatCounters, installSignals } from '../util/stats.js'
import { messageOf, userError } from '../util/errors.js'

export type SendSource = { kind: 'nflog'; groups: number[] } | { kind: 'pcap'; path: string }

export interface SendOptions {
  source: SendSource
  endpoint: string
  nlbufsiz: number
  nlbufsizMax: number
  qthresh: number
  timeout: number
  zmqBuffer: number
  rateControl: boolean
  lwm: number
  hwm: number
  window: number
  user?: string
  sensorId: string
  batchBytes: number
  statsInterval: number
  debug: boolean
  log: (msg: string) => void
}

export interface SendCounters {
  packets_in: number
  bytes_in: number
  packets_sent: number
  batches_sent: number
  wire_bytes_sent: number
  batches_compressed: number
  dropped_hwm: number
  dropped_queue: number
  enobufs: number
  bad_input: number
  socket_resets: number
}

/** Finished batches waiting for the socket; sending is async, building is not. */
interface Outbox { msgs: Buffer[]; packets: number[] }

export async function runSend(opts: SendOptions): Promise<SendCounters> {
  const c: SendCounters = {
    packets_in: 0, bytes_in: 0, packets_sent: 0, batches_sent: 0, wire_bytes_sent: 0,
    batches_compressed: 0, dropped_hwm: 0, dropped_queue: 0, enobufs: 0, bad_input: 0, socket_resets: 0,
  }
  const host = hostname()
  const instance = randomInt(0, 2 ** 32 - 1)
  const shaper: Shaper = createShaper(opts.rateControl ? { lwm: opts.lwm, hwm: opts.hwm, window: opts.window } : { lwm: 0, hwm: 0, window: 0 })
  const builders = new Map<string, BatchBuilder>()
  const outbox: Outbox = { msgs: [], packets: [] }
  let lastMode = shaper.mode

  function builderFor(source: string, linktype: number): BatchBuilder {
    const key = `${source}\0${linktype}`
    let b = builders.get(key)
    if (!b) {
      b = createBatchBuilder({ host, sensorId: opts.sensorId, source, linktype, instance }, opts.batchBytes)
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
    const len = end - start
    c.packets_in += 1
    c.bytes_in += len
    if (!shaper.admit(len)) {
      c.dropped_hwm += 1
      return
    }
    const need = len + (mEnd ?? 0) - (mStart ?? 0)
    if (b.count > 0 && !b.fits(need)) seal(b)
    b.append(tsSec, tsNsec, origLen, buf, start, end, meta, mStart, mEnd)
  }

  let sender: BatchSender | undefined
  let waitOnFull = false
  async function flush(): Promise<void> {
    for (const b of builders.values()) if (b.count > 0) seal(b)
    if (shaper.mode !== lastMode) {
      opts.log(`rate ${(shaper.rate / 1048576).toFixed(2)} MiB/s: ${shaper.mode === 'drop' ? 'above the high watermark, dropping the excess' : shaper.mode === 'compress' ? 'above the low watermark, compressing' : 'below the watermarks, sending as is'}`)
      lastMode = shaper.mode
    }
    while (outbox.msgs.length > 0) {
      const msg = outbox.msgs.shift()!
      const n = outbox.packets.shift()!
      let ok = await sender!.send(msg)
      // A file being replayed loses nothing by waiting; live capture must never wait on the network.
      while (!ok && waitOnFull && !stopping) {
        await new Promise((r) => setTimeout(r, 5))
        ok = await sender!.send(msg)
      }
      if (ok) {
        c.packets_sent += n
        c.batches_sent += 1
        c.wire_bytes_sent += msg.length
      } else {
        c.dropped_queue += n
      }
      c.socket_resets = sender!.resets
    }
  }

  let stopping = false
  let capture: NflogCapture | undefined
  let stream: ReadStream | NodeJS.ReadStream | undefined
  const report = () => opts.log(formatCounters('counters', { ...c }, capture ? `rcvbuf=${capture.stats.rcvbuf}` : ''))
  const uninstall = installSignals(() => {
    stopping = true
    capture?.stop()
    if (stream && 'destroy' in stream) stream.destroy()
  }, report, opts.statsInterval)

  try {
    if (opts.source.kind === 'nflog') {
      capture = openNflog({
        groups: opts.source.groups, rcvbuf: opts.nlbufsiz, rcvbufMax: opts.nlbufsizMax,
        qthresh: opts.qthresh, timeout: opts.timeout, copyRange: 0xffff,
      })
    }
    sender = await connectPush(opts.endpoint, opts.zmqBuffer)
    if (opts.user) {
      dropPrivileges(opts.user)
      if (opts.debug) opts.log(`running as ${opts.user} (uid ${process.getuid?.()})`)
    }
    if (opts.debug) opts.log(`sending ${opts.source.kind === 'nflog' ? `NFLOG groups ${opts.source.groups.join(',')}` : opts.source.path} to ${opts.endpoint} as ${host}${opts.sensorId ? `/${opts.sensorId}` : ''}`)

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
        c.bad_input = cap.stats.malformed + cap.stats.truncated
        await flush()
      }, opts.log)
    } else if (opts.source.kind === 'pcap') {
      await pumpPcap(opts.source.path)
    }
    await flush()
  } finally {
    uninstall()
    capture?.close()
    // At the end of a file the last batches deserve a moment to leave; on a signal, stop now.
    sender?.close(stopping ? 200 : 2000)
  }
  opts.log(formatCounters('final counters', { ...c }))
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

import { closeSync, constants, createWriteStream, openSync, statSync } from 'node:fs'
import { Socket } from 'node:net'
import type { Writable } from 'node:stream'
import { messageOf, userError } from '../util/errors.js'

/**
 * Where the pcap stream goes: a FIFO (Snort, tcpdump or tshark reading it), a file (optionally
 * rotated like tcpdump -C/-G/-W) or stdout.
 *
 * FIFO rules: while no reader has it open, packets are not held back for it (they still go to
 * --publish and the buffer interface) and are counted; when a reader opens it, it gets a fresh
 * header first; when it goes away (EPIPE) we close our end and wait for the next reader. A header
 * is never written into a stream a reader already holds.
 */
export interface SinkOptions {
  path: string
  /** Rotate files after this many bytes (tcpdump -C, in units of 1,000,000 bytes there). */
  rotateBytes: number
  rotateSeconds: number
  /** Keep at most this many rotated files, reusing names in a ring (tcpdump -W). */
  rotateCount: number
  /** Bytes a reader may fall behind before whole chunks are dropped for it. */
  maxPending: number
  log: (msg: string) => void
}

export interface SinkStats {
  opens: number
  readerGone: number
  /** Packets not written because no reader had the FIFO open, or the reader fell too far behind. */
  noReader: number
  slowReader: number
  files: number
}

export interface Sink {
  stats: SinkStats
  /**
   * Writes a chunk holding `packets` packets. `preamble` is what a new reader or file gets first;
   * `preface` (new pcapng interfaces) goes before the chunk unless the preamble, which already
   * holds them, was just written.
   */
  write(chunk: Buffer, packets: number, preamble: () => Buffer | undefined, preface?: Buffer): Promise<void>
  /** True once stdout's reader has gone: the receiver should stop, like tcpdump -w - | head. */
  readonly closed: boolean
  close(): Promise<void>
}

type Kind = 'fifo' | 'file' | 'stdout'

export function openSink(opts: SinkOptions): Sink {
  const kind: Kind = opts.path === '-' ? 'stdout' : statSync(opts.path, { throwIfNoEntry: false })?.isFIFO() ? 'fifo' : 'file'
  const stats: SinkStats = { opens: 0, readerGone: 0, noReader: 0, slowReader: 0, files: 0 }
  let out: Writable | undefined
  let headerWritten = false
  let fileBytes = 0
  let fileOpened = 0
  let fileIndex = 0
  let closed = false
  let lastProbe = 0

  function attach(stream: Writable): void {
    out = stream
    headerWritten = false
    stats.opens += 1
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (stream !== out) return
      out = undefined
      if (err.code === 'EPIPE' || err.code === 'ECONNRESET') {
        stats.readerGone += 1
        if (kind === 'stdout') closed = true
        else opts.log(`${opts.path}: reader went away; waiting for the next one`)
      } else {
        opts.log(`${opts.path}: write failed: ${err.message}`)
      }
      stream.destroy()
    })
  }

  /** FIFO: non-blocking open fails with ENXIO until a reader opens the other end. */
  function tryOpenFifo(): void {
    const now = Date.now()
    if (now - lastProbe < 100) return
    lastProbe = now
    let fd: number
    try {
      fd = openSync(opts.path, constants.O_WRONLY | constants.O_NONBLOCK)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code !== 'ENXIO') opts.log(`${opts.path}: cannot open: ${messageOf(err)}`)
      return
    }
    try {
      attach(new Socket({ fd, readable: false, writable: true }))
    } catch (err) {
      closeSync(fd)
      opts.log(`${opts.path}: cannot write: ${messageOf(err)}`)
    }
  }

  function fileName(): string {
    if (!opts.rotateBytes && !opts.rotateSeconds) return opts.path
    let name = opts.rotateSeconds ? strftime(opts.path, new Date()) : opts.path
    if (opts.rotateBytes || opts.rotateCount) {
      const n = opts.rotateCount ? fileIndex % opts.rotateCount : fileIndex
      if (opts.rotateCount) name += String(n).padStart(String(opts.rotateCount - 1).length, '0')
      else if (n > 0) name += String(n)
    }
    return name
  }

  function openFile(): void {
    const name = fileName()
    const ws = createWriteStream(name, { flags: 'w' })
    ws.on('open', () => {})
    attach(ws)
    stats.files += 1
    fileBytes = 0
    fileOpened = Date.now()
    fileIndex += 1
  }

  const rotateDue = () =>
    (opts.rotateBytes > 0 && fileBytes >= opts.rotateBytes) || (opts.rotateSeconds > 0 && Date.now() - fileOpened >= opts.rotateSeconds * 1000)

  if (kind === 'stdout') attach(process.stdout)
  else if (kind === 'file') {
    try { openFile() } catch (err) { throw userError(`cannot write ${opts.path}: ${messageOf(err)}`, 'EOUTPUT') }
  }

  return {
    stats,
    get closed() { return closed },
    async write(chunk, packets, preamble, preface) {
      if (kind === 'fifo' && !out) tryOpenFifo()
      if (kind === 'file' && out && rotateDue()) {
        out.end()
        openFile()
      }
      const o = out
      if (!o) {
        stats.noReader += packets
        return
      }
      if (!headerWritten) {
        const pre = preamble()
        if (!pre) return
        o.write(pre)
        fileBytes += pre.length
        headerWritten = true
      } else if (preface && preface.length > 0) {
        o.write(preface)
        fileBytes += preface.length
      }
      if (kind !== 'file' && o.writableLength > opts.maxPending) {
        stats.slowReader += packets
        return
      }
      if (chunk.length === 0) return
      fileBytes += chunk.length
      if (!o.write(chunk) && kind === 'file') {
        // A disk keeps up; waiting here keeps memory bounded without losing packets.
        await new Promise<void>((resolve) => {
          const done = () => { o.off('drain', done); o.off('error', done); resolve() }
          o.on('drain', done)
          o.on('error', done)
        })
      }
    },
    async close() {
      const o = out
      out = undefined
      if (!o || o === process.stdout) return
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1000)
        o.end(() => { clearTimeout(t); resolve() })
      })
    },
  }
}

/** tcpdump -G style names: %Y %m %d %H %M %S (UTC would surprise; tcpdump uses local time). */
export function strftime(pattern: string, d: Date): string {
  const p2 = (n: number) => String(n).padStart(2, '0')
  return pattern.replace(/%([YmdHMS%])/g, (_, c: string) => {
    switch (c) {
      case 'Y': return String(d.getFullYear())
      case 'm': return p2(d.getMonth() + 1)
      case 'd': return p2(d.getDate())
      case 'H': return p2(d.getHours())
      case 'M': return p2(d.getMinutes())
      case 'S': return p2(d.getSeconds())
      default: return '%'
    }
  })
}

import { randomBytes } from 'node:crypto'
import { closeSync, constants, fstatSync, lchownSync, lstatSync, openSync, renameSync, rmSync } from 'node:fs'
import { Socket } from 'node:net'
import { basename, dirname, join } from 'node:path'
import type { Writable } from 'node:stream'
import { mkfifo, pollEvents, POLLERR, POLLHUP, POLLOUT, strerror } from '../native/libc.js'
import { codedError } from '../util/errors.js'
import { reason, type Framing, type HeaderState } from './sink-common.js'
import type { Sink, SinkOptions, SinkStats } from './sink.js'

// FIFO and stdout outputs, as described in sink.ts.

export function streamSink(kind: 'fifo' | 'stdout', opts: SinkOptions, stats: SinkStats, frame: Framing): Sink {
  let out: Writable | undefined
  let fd = -1
  let header: HeaderState = 'none'
  let started = false
  let closed = false
  let failure: string | undefined
  let lastProbe = 0
  let lastOpenError = ''
  let replace = kind === 'fifo'
  let timer: NodeJS.Timeout | undefined

  function attach(stream: Writable, streamFd: number): void {
    out = stream
    fd = streamFd
    header = 'none'
    stats.opens += 1
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (stream !== out) return
      detach()
      if (err.code === 'EPIPE' || err.code === 'ECONNRESET') {
        stats.readerGone += 1
        if (kind === 'stdout') closed = true
        else readerLeft()
        return
      }
      stats.writeErrors += 1
      opts.log(`${kind === 'stdout' ? 'stdout' : opts.path}: write failed: ${reason(err)} (write_errors=${stats.writeErrors})`)
      if (kind === 'stdout') {
        closed = true
        failure = `cannot write stdout: ${reason(err)}`
      } else {
        tryOpenFifo(true)
      }
    })
    const head = frame.opening()
    // A stream is read as it comes: only a header with its link type is worth sending ahead.
    if (head?.state === 'complete') {
      stream.write(head.buf)
      header = 'complete'
    }
  }

  function detach(): void {
    const s = out
    out = undefined
    fd = -1
    s?.destroy()
  }

  function readerLeft(): void {
    opts.log(`${opts.path}: reader went away; waiting for the next one`)
    tryOpenFifo(true)
  }

  /** POLLERR on our write end: the reader closed the FIFO. With it replaced, nobody else can join. */
  function checkReader(): void {
    if (out && fd >= 0) {
      const ev = pollEvents(fd, POLLOUT)
      if (ev < 0 || (ev & (POLLERR | POLLHUP)) !== 0) {
        detach()
        stats.readerGone += 1
        readerLeft()
      }
    }
    if (!out) tryOpenFifo()
  }

  /** FIFO: a non-blocking open fails with ENXIO until a reader opens the other end. */
  function tryOpenFifo(now = false): void {
    const t = Date.now()
    if (!now && t - lastProbe < 100) return
    lastProbe = t
    let f: number
    try {
      f = openSync(opts.path, constants.O_WRONLY | constants.O_NONBLOCK)
    } catch (err) {
      const why = reason(err)
      if ((err as NodeJS.ErrnoException).code !== 'ENXIO' && why !== lastOpenError) opts.log(`${opts.path}: cannot open: ${why}; trying again`)
      lastOpenError = why
      return
    }
    lastOpenError = ''
    try {
      if (!fstatSync(f).isFIFO()) throw codedError('it is no longer a FIFO', 'ENOTFIFO')
      if (replace) replaceFifo(f)
      attach(new Socket({ fd: f, readable: false, writable: true }), f)
    } catch (err) {
      closeSync(f)
      opts.log(`${opts.path}: cannot write: ${reason(err)}`)
    }
  }

  /**
   * Puts a fresh FIFO with the same mode and owner at the path, for the next reader (see sink.ts).
   * Made under an unguessable name with its final mode (umask cleared for the call) and chowned
   * without following links, so nothing in a shared directory can be redirected by a swap.
   */
  function replaceFifo(f: number): void {
    const st = fstatSync(f)
    const tmp = join(dirname(opts.path), `.${basename(opts.path)}.${randomBytes(6).toString('hex')}`)
    let made = false
    try {
      const mask = process.umask(0)
      let r: number
      try { r = mkfifo(tmp, st.mode & 0o7777) } finally { process.umask(mask) }
      if (r < 0) throw codedError(strerror(-r), 'EMKFIFO')
      made = true
      const now = lstatSync(tmp)
      if (now.uid !== st.uid || now.gid !== st.gid) lchownSync(tmp, st.uid, st.gid)
      renameSync(tmp, opts.path)
    } catch (err) {
      if (made) rmSync(tmp, { force: true })
      replace = false
      opts.log(`${opts.path}: cannot put a fresh FIFO in its place (${reason(err)}): a reader that opens it before the previous one's departure is noticed may get a stream without a header`)
    }
  }

  function start(): void {
    if (started) return
    started = true
    if (kind === 'stdout') {
      attach(process.stdout, 1)
      return
    }
    tryOpenFifo(true)
    // Readers come and go between packets too: the next one gets its header without waiting for traffic.
    timer = setInterval(checkReader, 100)
    timer.unref()
  }

  return {
    stats,
    start,
    get closed() { return closed },
    get failure() { return failure },
    async write(chunk, packets, preface) {
      start()
      if (kind === 'fifo') checkReader()
      const o = out
      if (!o) {
        if (failure) stats.writeFailed += packets
        else stats.noReader += packets
        return false
      }
      const lead = frame.lead(header, preface, packets)
      if (!lead) return packets === 0
      for (const b of lead.bufs) o.write(b)
      header = lead.state
      if (o.writableLength > opts.maxPending) {
        stats.slowReader += packets
        return false
      }
      if (chunk.length > 0) o.write(chunk)
      return true
    },
    async close() {
      if (timer) clearInterval(timer)
      const o = out
      out = undefined
      if (!o) return
      const tail = frame.completion(header)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1000)
        const done = () => { clearTimeout(t); resolve() }
        // stdout stays open for whoever else writes to it; ours is flushed, not ended.
        if (o === process.stdout) o.write(tail, done)
        else o.end(tail, done)
      })
    },
  }
}


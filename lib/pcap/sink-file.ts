import { closeSync, ftruncateSync, openSync, rmSync, writeSync } from 'node:fs'
import { codedError } from '../util/errors.js'
import { outputError, reason, type Framing, type HeaderState } from './sink-common.js'
import type { Sink, SinkOptions, SinkStats } from './sink.js'

// File outputs: rotation (tcpdump -C/-G/-W) and recovery from write errors, as described in sink.ts.
// Writes are synchronous pwrite(2)s, as tcpdump and Snort write theirs: a write into the page cache
// takes microseconds, while handing each batch to the thread pool and back costs two thread
// wake-ups per batch (with in-place encoding, 15-20% less receiver CPU per MiB was measured).
// Batches that arrive during a slow write wait in ZeroMQ's queue.

/** File names in tcpdump's order: path, path1, path2... with -C; a ring with -W; strftime with -G. */
export function fileNamer(opts: SinkOptions): { next(afterFailure: boolean): string } {
  const numbered = (opts.rotateBytes > 0 || opts.rotateSeconds > 0) && (opts.rotateBytes > 0 || opts.rotateCount > 0)
  let index = 0
  let lastBase = ''
  let suffix = 0
  return {
    next(afterFailure) {
      const base = opts.rotateSeconds ? strftime(opts.path, new Date()) : opts.path
      if (numbered) {
        const n = opts.rotateCount ? index % opts.rotateCount : index
        index += 1
        if (opts.rotateCount) return base + String(n).padStart(String(opts.rotateCount - 1).length, '0')
        return n > 0 ? base + String(n) : base
      }
      // Not numbered: the fresh file after a failure takes the next number, never the old name.
      if (base !== lastBase) {
        lastBase = base
        suffix = 0
      } else if (afterFailure) {
        suffix += 1
      }
      return suffix > 0 ? base + String(suffix) : base
    },
  }
}

interface OpenFile { fd: number; name: string; pos: number; packets: number; header: HeaderState; opened: number }

export function fileSink(opts: SinkOptions, stats: SinkStats, frame: Framing): Sink {
  const retryMs = opts.retryMs ?? 1000
  const names = fileNamer(opts)
  let cur: OpenFile | undefined
  /** A fresh file whose open failed: the next attempt uses the same name. */
  let pendingName: string | undefined
  let started = false
  let down = false
  let retryAt = 0
  let failingSince = 0
  let lostBefore = 0
  let lastLog = 0

  function openNew(name: string): void {
    pendingName = name
    const fd = openSync(name, 'w')
    pendingName = undefined
    cur = { fd, name, pos: 0, packets: 0, header: 'none', opened: Date.now() }
    stats.files += 1
    writeHeader(cur)
  }

  function writeHeader(f: OpenFile): void {
    const head = frame.opening()
    if (!head) return
    writeAllSync(f.fd, [head.buf], f.pos)
    f.pos += head.buf.length
    f.header = head.state
  }

  /** Closes the current file; one without packets gets the header it lacks, or goes if even that fails. */
  function finish(): void {
    const f = cur
    if (!f) return
    cur = undefined
    const tail = frame.completion(f.header)
    try {
      if (tail.length > 0) writeAllSync(f.fd, [tail], f.pos)
    } catch (err) {
      stats.writeErrors += 1
      rmSync(f.name, { force: true })
      opts.log(`${f.name}: removed: it holds no packet and its header could not be written (${reason(err)})`)
    }
    try { closeSync(f.fd) } catch (err) { opts.log(`${f.name}: close failed: ${reason(err)}`) }
  }

  function fail(err: unknown, packets: number): void {
    stats.writeErrors += 1
    stats.writeFailed += packets
    let note = ''
    if (cur) {
      try { cut(cur.fd, cur.pos) } catch (e) { note = `; its partial last record could not be cut off (${reason(e)})` }
    }
    const now = Date.now()
    down = true
    retryAt = now + retryMs
    const where = cur?.name ?? pendingName ?? opts.path
    const counts = `write_errors=${stats.writeErrors} write_failed=${stats.writeFailed}`
    if (!failingSince) {
      failingSince = now
      lastLog = now
      lostBefore = stats.writeFailed - packets
      opts.log(`${where}: write failed: ${reason(err)}${note} (${counts}); packets are dropped and counted as write_failed until a fresh file can be written, tried every ${retryMs / 1000} s`)
    } else if (now - lastLog >= 60_000) {
      lastLog = now
      opts.log(`${where}: still failing: ${reason(err)}${note} (${counts})`)
    }
  }

  /** A fresh file after a failure: the current one started over when it holds no packet, else the next name. */
  function recover(): boolean {
    try {
      if (cur && cur.packets === 0) {
        cut(cur.fd, 0)
        cur.pos = 0
        cur.header = 'none'
        cur.opened = Date.now()
        writeHeader(cur)
      } else {
        const name = pendingName ?? names.next(true)
        finish()
        openNew(name)
      }
    } catch (err) {
      fail(err, 0)
      return false
    }
    down = false
    return true
  }

  function start(): void {
    if (started) return
    started = true
    try {
      openNew(names.next(false))
    } catch (err) {
      // The path was checked before binding: an open failing now is reported the same way.
      if (!cur) throw outputError(pendingName ?? opts.path, err)
      fail(err, 0)
    }
  }

  const rotateDue = (f: OpenFile) =>
    (opts.rotateBytes > 0 && f.pos >= opts.rotateBytes) || (opts.rotateSeconds > 0 && Date.now() - f.opened >= opts.rotateSeconds * 1000)

  return {
    stats,
    start,
    closed: false,
    failure: undefined,
    async write(chunk, packets, preface) {
      start()
      if (down && (Date.now() < retryAt || !recover())) {
        stats.writeFailed += packets
        return false
      }
      if (cur && rotateDue(cur)) {
        finish()
        try { openNew(names.next(false)) } catch (err) { fail(err, packets); return false }
      }
      const f = cur
      if (!f) {
        stats.writeFailed += packets
        return false
      }
      const lead = frame.lead(f.header, preface, packets)
      if (!lead) return packets === 0
      try {
        // Header and new interfaces go first, on their own: a chunk that fails then leaves a
        // valid capture behind (a file that stays empty through an outage keeps its header).
        if (lead.bufs.length > 0) f.pos += writeAllSync(f.fd, lead.bufs, f.pos)
        f.header = lead.state
        if (chunk.length > 0) f.pos += writeAllSync(f.fd, [chunk], f.pos)
      } catch (err) {
        fail(err, packets)
        return false
      }
      f.packets += packets
      if (failingSince && packets > 0) {
        opts.log(`${f.name}: writing again after ${((Date.now() - failingSince) / 1000).toFixed(1)} s; ${stats.writeFailed - lostBefore} packets were lost meanwhile (write_failed)`)
        failingSince = 0
      }
      return true
    },
    async close() {
      finish()
      started = true
    },
  }
}

/** ftruncate(2) back to the last complete chunk; a device such as /dev/null has nothing to cut. */
function cut(fd: number, length: number): void {
  try { ftruncateSync(fd, length) } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err
  }
}

/** pwrite(2) of every buffer from `pos` on, through short writes; returns the bytes written. */
function writeAllSync(fd: number, bufs: Buffer[], pos: number): number {
  let at = pos
  for (const b of bufs) {
    for (let off = 0; off < b.length;) {
      const n = writeSync(fd, b, off, b.length - off, at)
      if (n <= 0) throw codedError('write wrote nothing', 'EIO')
      off += n
      at += n
    }
  }
  return at - pos
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

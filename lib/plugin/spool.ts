import {
  closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, statSync,
  readSync, renameSync, rmSync, unlinkSync, writeFileSync, writeSync,
} from 'node:fs'
import { join } from 'node:path'
import { userError } from '../util/errors.js'
import type { SessionEvent } from './event.js'

interface Segment { seq: number; bytes: number; events: number }

const SEG_RE = /^(\d{12})\.seg$/
const segName = (seq: number) => `${String(seq).padStart(12, '0')}.seg`

/**
 * The on-disk spool: events the plugin has not accepted yet, in delivery order. Append-only
 * segment files of NDJSON (`000000000001.seg`, ...) plus a `cursor` file naming the first
 * undelivered byte. Appends are fsync'ed once per call (one call per failed batch or spill);
 * the cursor is rewritten by rename after each delivered batch, without fsync: after a power cut
 * it can only lag, which means redelivery, never loss. When the reader catches up, every file is
 * removed. When `maxBytes` would be exceeded the oldest segments are dropped whole and counted.
 */
export class Spool {
  private segs: Segment[] = []
  private curSeq = 0
  private curOff = 0
  private writeFd = -1
  private readFd = -1
  private readFdSeq = -1
  private buf: Buffer
  /** Segment-local end offsets of the lines returned by the last read(), for commit(). */
  private readEnds: number[] = []
  private readSeq = -1
  private readStart = -1
  private bytes = 0
  /** What `buf` holds: bytes [bufBase, bufBase + bufLen) of segment bufSeq. */
  private bufSeq = -1
  private bufBase = 0
  private bufLen = 0
  /** Undelivered events in the spool. */
  pending = 0
  /** Counts head segments dropped by the size cap: a batch read before a drop must not be committed after it. */
  dropEpoch = 0
  private closed = false
  private readonly segMax: number
  private readonly lockPath: string

  constructor(
    readonly dir: string,
    private readonly maxBytes: number,
    maxLine: number,
    private readonly onDrop: (events: number, bytes: number) => void,
  ) {
    mkdirSync(dir, { recursive: true })
    this.lockPath = join(dir, 'lock')
    this.lock()
    this.segMax = Math.max(64 << 10, Math.min(8 << 20, Math.floor(maxBytes / 4)))
    this.buf = Buffer.allocUnsafe(Math.max(1 << 20, 2 * maxLine + 2))
    this.recover()
  }

  /**
   * One process per spool: a second runner on the same directory would deliver twice. The lock file
   * is created exclusively (O_EXCL), so two runners starting together cannot both take it; a lock
   * whose process is gone is stale and taken over.
   */
  private lock(): void {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        writeFileSync(this.lockPath, `${process.pid}\n`, { flag: 'wx' })
        return
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      }
      let text = ''
      let age = Infinity
      try {
        text = readFileSync(this.lockPath, 'utf8').trim()
        age = Date.now() - statSync(this.lockPath).mtimeMs
      } catch { continue } // removed meanwhile: try again
      const pid = Number(text)
      if (pid === process.pid) return
      let alive = false
      if (Number.isInteger(pid) && pid > 0) {
        try { process.kill(pid, 0); alive = true } catch (e) { alive = (e as NodeJS.ErrnoException).code === 'EPERM' }
      } else if (text === '' && age < 5000) {
        alive = true // created a moment ago, its pid not written yet
      }
      if (alive) throw userError(`spool directory ${this.dir} is in use by process ${pid || 'starting up'}`, 'ESPOOLLOCK')
      rmSync(this.lockPath, { force: true })
    }
    throw userError(`spool directory ${this.dir}: cannot take its lock file`, 'ESPOOLLOCK')
  }

  /** Scan segments left by an earlier run; cut a torn last line; count what is left to deliver. */
  private recover(): void {
    const seqs = readdirSync(this.dir).map((f) => SEG_RE.exec(f)).filter((m) => m !== null)
      .map((m) => Number(m[1])).sort((a, b) => a - b)
    let cursor = { seq: seqs[0] ?? 0, offset: 0 }
    try {
      const c = JSON.parse(readFileSync(join(this.dir, 'cursor'), 'utf8'))
      if (Number.isInteger(c.seq) && Number.isInteger(c.offset)) cursor = c
    } catch { /* no cursor: start at the first segment */ }
    for (const seq of seqs) {
      const path = join(this.dir, segName(seq))
      if (seq < cursor.seq) { unlinkSync(path); continue }
      let data = readFileSync(path)
      const lastNl = data.lastIndexOf(10)
      if (lastNl + 1 !== data.length) {
        // A write cut short by a crash: the partial line was never acknowledged as spooled.
        data = data.subarray(0, lastNl + 1)
        writeFileSync(path, data)
      }
      const from = seq === cursor.seq ? Math.min(cursor.offset, data.length) : 0
      let events = 0
      for (let i = data.indexOf(10, from); i >= 0; i = data.indexOf(10, i + 1)) events++
      this.segs.push({ seq, bytes: data.length, events })
      this.bytes += data.length
      this.pending += events
    }
    if (this.segs.length > 0) {
      this.curSeq = this.segs[0].seq
      this.curOff = this.segs[0].seq === cursor.seq ? Math.min(cursor.offset, this.segs[0].bytes) : 0
    }
    if (this.pending === 0) this.clear()
  }

  /** Appends events after everything already spooled; one write and one fsync. */
  append(events: SessionEvent[], from = 0, to = events.length): number {
    if (to <= from || this.closed) return 0
    let text = ''
    for (let i = from; i < to; i++) text += JSON.stringify(events[i]) + '\n'
    const data = Buffer.from(text)
    this.makeRoom(data.length)
    let seg = this.segs[this.segs.length - 1]
    if (!seg || seg.bytes >= this.segMax) {
      if (this.writeFd >= 0) closeSync(this.writeFd)
      seg = { seq: seg ? seg.seq + 1 : 1, bytes: 0, events: 0 }
      if (this.segs.length === 0) { this.curSeq = seg.seq; this.curOff = 0 }
      this.segs.push(seg)
      this.writeFd = openSync(join(this.dir, segName(seg.seq)), 'a')
    } else if (this.writeFd < 0) {
      this.writeFd = openSync(join(this.dir, segName(seg.seq)), 'a')
    }
    writeSync(this.writeFd, data)
    fsyncSync(this.writeFd)
    seg.bytes += data.length
    seg.events += to - from
    this.bytes += data.length
    this.pending += to - from
    return to - from
  }

  /** The --spool-max policy: drop the oldest whole segments (counted) until `need` bytes fit. */
  private makeRoom(need: number): void {
    while (this.bytes + need > this.maxBytes && this.segs.length > 0) {
      const seg = this.segs[0]
      const last = this.segs.length === 1
      const left = seg.seq === this.curSeq ? this.countFrom(seg, this.curOff) : seg.events
      if (this.readFdSeq === seg.seq) { closeSync(this.readFd); this.readFd = -1; this.readFdSeq = -1 }
      if (last && this.writeFd >= 0) { closeSync(this.writeFd); this.writeFd = -1 }
      rmSync(join(this.dir, segName(seg.seq)), { force: true })
      this.segs.shift()
      this.bufSeq = -1
      this.dropEpoch++
      this.bytes -= seg.bytes
      this.pending -= left
      this.readEnds.length = 0
      this.onDrop(left, seg.bytes)
      if (last) {
        // Keep numbering increasing so a stale cursor can never point into a new segment.
        this.segs.push({ seq: seg.seq + 1, bytes: 0, events: 0 })
        this.writeFd = openSync(join(this.dir, segName(seg.seq + 1)), 'a')
      }
      this.curSeq = this.segs[0].seq
      this.curOff = 0
      this.saveCursor()
    }
  }

  private countFrom(seg: Segment, off: number): number {
    const data = readFileSync(join(this.dir, segName(seg.seq)))
    let n = 0
    for (let i = data.indexOf(10, off); i >= 0; i = data.indexOf(10, i + 1)) n++
    return n
  }

  /**
   * Reads up to `max` undelivered events from the head, without consuming them: call commit(k)
   * once k of them are delivered. Lines that no longer parse (disk damage) are skipped and
   * reported through `onCorrupt`.
   */
  read(out: SessionEvent[], max: number, onCorrupt: () => void): number {
    this.readEnds.length = 0
    while (this.segs.length > 0) {
      const seg = this.segs[0]
      if (this.curOff >= seg.bytes) {
        if (this.segs.length === 1) { if (this.pending === 0) this.clear(); return 0 }
        this.dropHead()
        continue
      }
      if (this.readFdSeq !== seg.seq) {
        if (this.readFd >= 0) closeSync(this.readFd)
        this.readFd = openSync(join(this.dir, segName(seg.seq)), 'r')
        this.readFdSeq = seg.seq
      }
      // Reuse what the last read brought in when the cursor is still inside it: replay then
      // reads each byte from disk once, whatever the batch size.
      let base: number
      let got: number
      let pos: number
      if (this.bufSeq === seg.seq && this.curOff >= this.bufBase && this.buf.indexOf(10, this.curOff - this.bufBase) >= 0 &&
          this.buf.indexOf(10, this.curOff - this.bufBase) < this.bufLen) {
        base = this.bufBase
        got = this.bufLen
        pos = this.curOff - this.bufBase
      } else {
        base = this.curOff
        got = readSync(this.readFd, this.buf, 0, this.buf.length, base)
        pos = 0
        this.bufSeq = seg.seq
        this.bufBase = base
        this.bufLen = got
      }
      const start = pos
      let n = 0
      while (n < max) {
        const nl = this.buf.indexOf(10, pos)
        if (nl < 0 || nl >= got) break
        let ev: SessionEvent
        try {
          ev = JSON.parse(this.buf.toString('utf8', pos, nl))
        } catch {
          if (n > 0) break
          // An unreadable line at the head (disk damage): consume it so it never blocks delivery.
          this.curOff = base + nl + 1
          this.pending--
          onCorrupt()
          pos = nl + 1
          continue
        }
        out[n++] = ev
        this.readEnds.push(base + nl + 1)
        pos = nl + 1
      }
      this.readSeq = seg.seq
      this.readStart = this.curOff
      if (n > 0) return n
      this.bufSeq = -1
      if (start === 0 && pos === 0 && got === this.buf.length) this.buf = Buffer.allocUnsafe(this.buf.length * 2)
      else if (got === 0) this.curOff = seg.bytes
    }
    return 0
  }

  /** Marks the first `k` undelivered events as delivered. */
  commit(k: number): void {
    if (k <= 0 || this.closed) return
    while (k > 0 && this.segs.length > 0) {
      const seg = this.segs[0]
      if (this.readSeq === seg.seq && this.readStart === this.curOff && this.readEnds.length > 0) {
        const take = Math.min(k, this.readEnds.length)
        this.curOff = this.readEnds[take - 1]
        this.readEnds.splice(0, take)
        this.readStart = this.curOff
        k -= take
        this.pending -= take
      } else {
        // Lines not returned by read() (spilled while in flight): find their ends on disk.
        this.readEnds.length = 0
        const data = readFileSync(join(this.dir, segName(seg.seq)))
        while (k > 0) {
          const nl = data.indexOf(10, this.curOff)
          if (nl < 0) break
          this.curOff = nl + 1
          k--
          this.pending--
        }
      }
      if (this.curOff >= seg.bytes) {
        if (this.segs.length > 1) this.dropHead()
        else if (this.pending === 0) { this.clear(); return }
        else break
      }
    }
    this.saveCursor()
  }

  private dropHead(): void {
    const seg = this.segs.shift() as Segment
    this.bufSeq = -1
    if (this.readFdSeq === seg.seq) { closeSync(this.readFd); this.readFd = -1; this.readFdSeq = -1 }
    rmSync(join(this.dir, segName(seg.seq)), { force: true })
    this.bytes -= seg.bytes
    this.curSeq = this.segs[0].seq
    this.curOff = 0
    this.readEnds.length = 0
  }

  private saveCursor(): void {
    if (this.segs.length === 0) return
    const tmp = join(this.dir, 'cursor.tmp')
    writeFileSync(tmp, JSON.stringify({ seq: this.curSeq, offset: this.curOff }))
    renameSync(tmp, join(this.dir, 'cursor'))
  }

  /** Caught up: remove every segment and the cursor. */
  private clear(): void {
    this.bufSeq = -1
    if (this.readFd >= 0) closeSync(this.readFd)
    if (this.writeFd >= 0) closeSync(this.writeFd)
    this.readFd = this.writeFd = this.readFdSeq = -1
    for (const seg of this.segs) rmSync(join(this.dir, segName(seg.seq)), { force: true })
    rmSync(join(this.dir, 'cursor'), { force: true })
    this.segs = []
    this.bytes = 0
    this.pending = 0
    this.readEnds.length = 0
  }

  get sizeBytes(): number {
    return this.bytes
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    if (this.readFd >= 0) closeSync(this.readFd)
    if (this.writeFd >= 0) { fsyncSync(this.writeFd); closeSync(this.writeFd) }
    this.readFd = this.writeFd = this.readFdSeq = -1
    if (this.pending === 0) this.clear()
    rmSync(this.lockPath, { force: true })
  }
}


import { codedError, messageOf } from '../util/errors.js'
import type { Counters } from './counters.js'
import type { SessionEvent } from './event.js'
import type { EventQueue } from './queue.js'
import type { Spool } from './spool.js'
import type { Plugin, Progress } from './types.js'

export interface DeliveryOptions {
  /** Events per plugin call (receiverBatch) or per delivery round (receiver). */
  batch: number
  /** Wait up to this long for a batch to fill (0: deliver what is there). */
  batchMs: number
  /** A call making no progress for this long is a failure (--plugin-timeout). */
  timeoutMs: number
  retryMinMs: number
  retryMaxMs: number
}

interface InFlight {
  n: number
  fromSpool: boolean
  /** The unacknowledged part of this batch is at the spool's head (read from it, or spilled). */
  inSpool: boolean
  spoolBase: number
  /** spool.dropEpoch when the batch's lines were at the spool head. */
  epoch: number
  progress: Progress
}

/**
 * The delivery loop. Order is kept by one invariant: everything in the spool is older than
 * everything in the queue. So the spool is always served first; a failed batch taken from the
 * queue goes to the (then empty) spool; a full queue is spilled to the spool whole, together with
 * the unacknowledged rest of a batch in flight, which is then committed from the spool as the
 * plugin accepts it.
 */
export class Delivery {
  private readonly batchArr: SessionEvent[] = []
  private readonly max: number
  private inflight: InFlight | null = null
  private wake: (() => void) | null = null
  private fillWaiter: (() => void) | null = null
  private sleeper: { timer: NodeJS.Timeout; resolve: () => void } | null = null
  private watch: { p: Progress; since: number; last: number; reject: (e: Error) => void } | null = null
  private watchdog: NodeJS.Timeout | null = null
  private backoff: number
  private failing = false
  private flusher: NodeJS.Timeout | undefined
  private failStreak = 0
  private spilling = false
  private eof = false
  stopping = false

  constructor(
    private readonly plugin: Plugin,
    private readonly queue: EventQueue,
    private readonly spool: Spool,
    private readonly counters: Counters,
    private readonly opts: DeliveryOptions,
    private readonly warn: (m: string) => void,
  ) {
    this.max = plugin.batched ? opts.batch : Math.max(opts.batch, 1024)
    this.backoff = opts.retryMinMs
  }

  /** One event from the source. Never blocks and never drops: a full queue spills to the spool. */
  offer(ev: SessionEvent): void {
    this.counters.received++
    if (this.queue.full) this.spill(ev)
    else this.queue.push(ev)
    if (this.wake) { const w = this.wake; this.wake = null; w() }
    if (this.fillWaiter && this.queue.length >= this.max) { const f = this.fillWaiter; this.fillWaiter = null; f() }
  }

  private spill(ev: SessionEvent | null): void {
    if (this.queue.length === 0 && !ev && (!this.inflight || this.inflight.inSpool)) return
    if (!this.spilling && ev) {
      this.spilling = true
      this.warn(`queue full (${this.queue.capacity} events): spilling to the spool in ${this.spool.dir} instead of dropping`)
    }
    this.spoolInflight()
    const events = this.queue.drain()
    if (ev) events.push(ev)
    const n = this.spool.append(events)
    this.counters.spooled += n
    if (ev) this.counters.spilled += n
  }

  /** Moves the unacknowledged rest of a batch taken from the queue to the spool's (empty) head. */
  private spoolInflight(): void {
    const f = this.inflight
    if (!f || f.inSpool) return
    f.spoolBase = f.progress.done
    f.epoch = this.spool.dropEpoch
    this.counters.spooled += this.spool.append(this.batchArr, f.spoolBase, f.n)
    f.inSpool = true
  }

  inputEnded(): void {
    this.eof = true
    this.poke()
  }

  private poke(): void {
    if (this.wake) { const w = this.wake; this.wake = null; w() }
    if (this.fillWaiter) { const f = this.fillWaiter; this.fillWaiter = null; f() }
    if (this.sleeper) { clearTimeout(this.sleeper.timer); this.sleeper.resolve(); this.sleeper = null }
  }

  /** Delivers until the input has ended and everything is delivered, or until stop(). */
  async run(): Promise<void> {
    const tick = Math.max(10, Math.min(250, Math.floor(this.opts.timeoutMs / 4)))
    this.watchdog = setInterval(() => this.checkWatch(), tick)
    try {
      await this.loop()
    } finally {
      clearInterval(this.watchdog)
      clearInterval(this.flusher)
    }
  }

  private async loop(): Promise<void> {
    const batch = this.batchArr
    while (!this.stopping) {
      let n = 0
      let fromSpool = false
      if (this.spool.pending > 0) {
        n = this.spool.read(batch, this.max, () => this.warn(`skipped an unreadable line in the spool ${this.spool.dir}`))
        fromSpool = n > 0
      }
      if (n === 0) {
        if (this.spilling && this.spool.pending === 0) {
          this.spilling = false
          this.warn('spool drained: delivering from memory again')
        }
        if (this.queue.length === 0) {
          if (this.eof) return
          await new Promise<void>((r) => { this.wake = r })
          continue
        }
        if (this.opts.batchMs > 0 && this.queue.length < this.max && !this.eof) {
          await new Promise<void>((r) => {
            const t = setTimeout(() => { this.fillWaiter = null; r() }, this.opts.batchMs)
            this.fillWaiter = () => { clearTimeout(t); r() }
          })
          if (this.stopping) return
          if (this.spool.pending > 0) continue
        }
        n = this.queue.takeInto(batch, this.max)
      }
      const progress: Progress = { done: 0, cancelled: false }
      const f: InFlight = { n, fromSpool, inSpool: fromSpool, spoolBase: 0, epoch: this.spool.dropEpoch, progress }
      this.inflight = f
      if (this.failing) this.counters.retried++
      let error: Error | null = null
      try {
        const r = this.plugin.deliver(batch, n, progress)
        if (r) await this.watched(r, progress)
      } catch (err) {
        error = err instanceof Error ? err : new Error(String(err))
      }
      this.inflight = null
      const done = Math.min(progress.done, n)
      // If the size cap dropped the head segment meanwhile, these lines are gone from disk already.
      if (f.inSpool && done > f.spoolBase && f.epoch === this.spool.dropEpoch) this.spool.commit(done - f.spoolBase)
      this.counters.delivered += done
      if (fromSpool) this.counters.replayed += done
      if (error) {
        this.counters.failed++
        if ((error as { code?: string }).code === 'EPLUGINTIMEOUT') this.counters.timeouts++
        if (!f.inSpool) this.counters.spooled += this.spool.append(batch, done, n)
        if (!this.failing) {
          this.warn(`plugin ${this.plugin.name} failed: ${messageOf(error)}; ` +
            `${this.spool.pending} events in the spool, retrying with backoff`)
        }
        if (!this.failing) {
          // While the sink is down, events are written through to disk every 100 ms, so a
          // crash of the runner itself (SIGKILL, power) loses at most that much of an outage.
          this.flusher = setInterval(() => { if (!this.stopping) this.spill(null) }, 100)
        }
        this.failing = true
        this.failStreak++
        await this.sleep(this.backoff)
        this.backoff = Math.min(this.backoff * 2, this.opts.retryMaxMs)
      } else if (this.failing) {
        this.warn(`plugin ${this.plugin.name} accepts events again after ${this.failStreak} failed attempts; ` +
          `replaying ${this.spool.pending} spooled events first`)
        this.failing = false
        this.failStreak = 0
        clearInterval(this.flusher)
        this.backoff = this.opts.retryMinMs
      }
    }
  }

  private watched(r: PromiseLike<void>, p: Progress): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.watch = { p, since: Date.now(), last: p.done, reject }
      r.then(resolve, reject)
    }).finally(() => { this.watch = null })
  }

  /** Timeouts are checked by one interval, not a timer per call: progress resets the clock. */
  private checkWatch(): void {
    const w = this.watch
    if (!w) return
    const now = Date.now()
    if (w.p.done !== w.last) { w.last = w.p.done; w.since = now; return }
    if (now - w.since < this.opts.timeoutMs) return
    this.watch = null
    w.p.cancelled = true
    this.plugin.abort?.()
    w.reject(codedError(`no answer within ${this.opts.timeoutMs} ms (--plugin-timeout)`, 'EPLUGINTIMEOUT'))
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopping || (this.eof && this.queue.length === 0 && this.spool.pending === 0)) return Promise.resolve()
    return new Promise((resolve) => {
      this.sleeper = { timer: setTimeout(() => { this.sleeper = null; resolve() }, ms), resolve }
    })
  }

  /**
   * SIGINT/SIGTERM or a drain timeout: stop taking batches, give a batch in flight `graceMs` to
   * finish, then put everything not acknowledged into the spool for the next start.
   */
  async stop(running: Promise<void>, graceMs: number): Promise<void> {
    this.stopping = true
    this.poke()
    if (this.inflight) {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([running, new Promise<void>((r) => { timer = setTimeout(r, graceMs) })])
      clearTimeout(timer)
    }
    // Whatever is still in flight (and the queue behind it) goes to the spool in order.
    this.spill(null)
  }

  get queued(): number {
    return this.queue.length
  }
}

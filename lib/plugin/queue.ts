import type { SessionEvent } from './event.js'

/**
 * The bounded in-memory queue between the source and the plugin: a ring of fixed capacity
 * (PokieStream's queue_size, default 10000). It never grows; when full the runner spills to the
 * spool instead of dropping.
 */
export class EventQueue {
  private readonly ring: (SessionEvent | undefined)[]
  private head = 0
  length = 0

  constructor(readonly capacity: number) {
    this.ring = new Array(capacity)
  }

  get full(): boolean {
    return this.length === this.capacity
  }

  push(ev: SessionEvent): void {
    this.ring[(this.head + this.length) % this.capacity] = ev
    this.length++
  }

  /** Moves up to `max` events into `out` (reused by the caller); returns how many. */
  takeInto(out: SessionEvent[], max: number): number {
    const n = Math.min(max, this.length)
    for (let i = 0; i < n; i++) {
      out[i] = this.ring[this.head] as SessionEvent
      this.ring[this.head] = undefined
      this.head = this.head + 1 === this.capacity ? 0 : this.head + 1
    }
    this.length -= n
    return n
  }

  /** Everything, oldest first (for spilling to the spool). */
  drain(): SessionEvent[] {
    const out: SessionEvent[] = new Array(this.length)
    this.takeInto(out, this.length)
    return out
  }
}

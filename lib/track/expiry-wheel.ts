import type { SessionStore } from './session-store.js'

const SLOTS = 4096
const MASK = SLOTS - 1

/**
 * A hashed timer wheel with one-second ticks: each session sits in the bucket of the second it
 * is due, linked through the store's wheelNext/wheelPrev columns, so expiry never scans the
 * table. Packets do not move a session in the wheel; when its bucket comes round the owner
 * checks the real deadline and reschedules it if traffic kept it alive (lazy expiry). Deadlines
 * more than 4096 s away simply stay in their bucket for another lap.
 */
export class ExpiryWheel {
  private readonly heads = new Int32Array(SLOTS).fill(-1)
  /** The last tick fully processed. */
  current = -1
  size = 0
  /** No row is due in a bucket before this tick (see soonest); lowered by every schedule before it. */
  private cursor = 0

  constructor(private readonly store: SessionStore) {}

  /** Put `row` in the bucket for `dueTick` (unlinking it first when already scheduled). */
  schedule(row: number, dueTick: number, linked: boolean): void {
    if (linked) this.unlink(row)
    const s = this.store
    if (this.current >= 0 && dueTick <= this.current) dueTick = this.current + 1
    if (dueTick < this.cursor) this.cursor = dueTick
    s.wheelDue[row] = dueTick
    const b = dueTick & MASK
    const head = this.heads[b]
    s.wheelPrev[row] = -1
    s.wheelNext[row] = head
    if (head >= 0) s.wheelPrev[head] = row
    this.heads[b] = row
    this.size += 1
  }

  unlink(row: number): void {
    const s = this.store
    const p = s.wheelPrev[row]
    const n = s.wheelNext[row]
    if (p >= 0) s.wheelNext[p] = n
    else this.heads[s.wheelDue[row] & MASK] = n
    if (n >= 0) s.wheelPrev[n] = p
    this.size -= 1
  }

  /**
   * Advance to `tick`, calling `onDue` (already unlinked) for every row whose bucket second has
   * come; the callback expires it or schedules it again.
   */
  advance(tick: number, onDue: (row: number) => void): void {
    if (this.current < 0) {
      this.current = tick
      return
    }
    if (tick <= this.current) return
    const from = this.current + 1
    const all = tick - this.current >= SLOTS
    this.current = tick
    if (all) {
      for (let b = 0; b < SLOTS; b++) this.drain(b, tick, onDue)
    } else {
      for (let t = from; t <= tick; t++) this.drain(t & MASK, tick, onDue)
    }
  }

  /**
   * The row whose real deadline comes first (for eviction when the table is full), or -1. Buckets
   * are walked from the next tick on; a row whose deadline moved on since it was scheduled (lazy
   * expiry) is rescheduled to `deadlineTick(row)` on the way, and the first row really due in its
   * bucket's second is returned, still linked. The walk resumes where the last one stopped, so
   * evicting one row after another does not walk the empty seconds again.
   */
  soonest(deadlineTick: (row: number) => number): number {
    if (this.size === 0) return -1
    const s = this.store
    for (let t = Math.max(this.cursor, this.current + 1); ; t++) {
      this.cursor = t
      let row = this.heads[t & MASK]
      while (row >= 0) {
        const next = s.wheelNext[row]
        if (s.wheelDue[row] <= t) {
          const real = deadlineTick(row)
          if (real <= t) return row
          this.schedule(row, real, true)
          // Rescheduled past t: the cursor stays at t.
          this.cursor = t
        }
        row = next
      }
    }
  }

  private drain(bucket: number, tick: number, onDue: (row: number) => void): void {
    const s = this.store
    let row = this.heads[bucket]
    // Detach the chain so rows rescheduled into this bucket are not seen twice.
    this.heads[bucket] = -1
    while (row >= 0) {
      const next = s.wheelNext[row]
      if (s.wheelDue[row] > tick) {
        // Not this lap: put it back.
        const head = this.heads[bucket]
        s.wheelPrev[row] = -1
        s.wheelNext[row] = head
        if (head >= 0) s.wheelPrev[head] = row
        this.heads[bucket] = row
      } else {
        this.size -= 1
        onDue(row)
      }
      row = next
    }
  }
}

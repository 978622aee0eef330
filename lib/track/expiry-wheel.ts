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

  constructor(private readonly store: SessionStore) {}

  /** Put `row` in the bucket for `dueTick` (unlinking it first when already scheduled). */
  schedule(row: number, dueTick: number, linked: boolean): void {
    if (linked) this.unlink(row)
    const s = this.store
    if (this.current >= 0 && dueTick <= this.current) dueTick = this.current + 1
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

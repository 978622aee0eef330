import { randomFillSync } from 'node:crypto'

/**
 * Bytes a session's id takes in the store. Its 48-bit millisecond is the session's first packet
 * time, kept anyway, so only the rest is stored: [borrowed milliseconds << 4 | counter >> 8,
 * counter & 0xff, variant and the 62 random bits (8 bytes)]; formatUuid puts the id back together.
 */
export const UUID_STORED = 10

/**
 * RFC 9562 UUIDv7 from a caller's clock (the first packet's time), not the wall clock, so ids
 * sort in the order sessions began also when a capture is replayed. Within one millisecond the
 * 12-bit rand_a field is a counter (RFC 9562 section 6.2, method 1), so ids made in the same
 * millisecond still sort in creation order; when the counter runs out the millisecond is borrowed
 * forward by one, as the RFC allows, up to 15 ahead. Past that (more than 65,536 sessions in one
 * millisecond of packet time) the counter wraps: the ids stay unique by their random bits, only
 * their order within that run is lost.
 */
export class Uuid7Source {
  /** The caller's millisecond the counter counts in. */
  private lastInput = -1
  private borrow = 0
  private counter = 0
  private readonly pool = Buffer.alloc(4096)
  private poolPos = 4096

  /** Write the UUID_STORED bytes of a new id for `ms` (Unix milliseconds) into `out` at `offset`. */
  write(ms: number, out: Uint8Array, offset: number): void {
    if (ms === this.lastInput) {
      this.counter += 1
      if (this.counter > 0xfff) {
        if (this.borrow < 15) this.borrow += 1
        this.counter = 0
      }
    } else {
      this.lastInput = ms
      this.borrow = 0
      this.counter = 0
    }
    if (this.poolPos + 8 > this.pool.length) {
      randomFillSync(this.pool)
      this.poolPos = 0
    }
    out[offset] = (this.borrow << 4) | (this.counter >>> 8)
    out[offset + 1] = this.counter & 0xff
    const p = this.pool
    const i = this.poolPos
    out[offset + 2] = 0x80 | (p[i] & 0x3f)
    for (let k = 1; k < 8; k++) out[offset + 2 + k] = p[i + k]
    this.poolPos += 8
  }
}

/** ASCII hex digit pairs by byte value. */
const HEX = new Uint8Array(512)
for (let i = 0; i < 256; i++) {
  HEX[2 * i] = '0123456789abcdef'.charCodeAt(i >> 4)
  HEX[2 * i + 1] = '0123456789abcdef'.charCodeAt(i & 15)
}
const text = Buffer.alloc(36)
const full = new Uint8Array(16)

/**
 * The canonical 8-4-4-4-12 text form of the id stored at b[o, o + UUID_STORED) for a session whose
 * first packet was at `ms` (one flat string, built in a scratch buffer).
 */
export function formatUuid(ms: number, b: Uint8Array, o: number): string {
  const t = ms + (b[o] >>> 4)
  // 48-bit big-endian milliseconds; split to stay within 32-bit integer arithmetic.
  const hi = Math.floor(t / 0x1000000)
  const lo = t % 0x1000000
  full[0] = (hi >>> 16) & 0xff
  full[1] = (hi >>> 8) & 0xff
  full[2] = hi & 0xff
  full[3] = (lo >>> 16) & 0xff
  full[4] = (lo >>> 8) & 0xff
  full[5] = lo & 0xff
  full[6] = 0x70 | (b[o] & 0x0f)
  for (let k = 1; k < UUID_STORED; k++) full[6 + k] = b[o + k]
  let p = 0
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) text[p++] = 0x2d
    const v = full[i]
    text[p++] = HEX[2 * v]
    text[p++] = HEX[2 * v + 1]
  }
  return text.toString('latin1', 0, 36)
}

/** Unix milliseconds stored in a UUIDv7 string (for tests and tooling). */
export function uuid7Millis(id: string): number {
  return parseInt(id.replace(/-/g, '').slice(0, 12), 16)
}

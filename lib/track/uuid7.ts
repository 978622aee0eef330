import { randomFillSync } from 'node:crypto'

/**
 * RFC 9562 UUIDv7 from a caller's clock (the first packet's time), not the wall clock, so ids
 * sort in the order sessions began also when a capture is replayed. Within one millisecond the
 * 12-bit rand_a field is a counter (RFC 9562 section 6.2, method 1), so ids made in the same
 * millisecond still sort in creation order; when the counter runs out the millisecond is borrowed
 * forward by one, as the RFC allows.
 */
export class Uuid7Source {
  private lastMs = -1
  /** The caller's millisecond that lastMs stands for (lastMs may be borrowed ahead of it). */
  private lastInput = -1
  private counter = 0
  private readonly pool = Buffer.alloc(4096)
  private poolPos = 4096

  /** Write the 16 bytes of a new id for `ms` (Unix milliseconds) into `out` at `offset`. */
  write(ms: number, out: Uint8Array, offset: number): void {
    if (ms === this.lastInput) {
      this.counter += 1
      if (this.counter > 0xfff) {
        this.lastMs += 1
        this.counter = 0
      }
      ms = this.lastMs
    } else {
      this.lastInput = ms
      this.lastMs = ms
      this.counter = 0
    }
    if (this.poolPos + 8 > this.pool.length) {
      randomFillSync(this.pool)
      this.poolPos = 0
    }
    // 48-bit big-endian milliseconds; split to stay within 32-bit integer arithmetic.
    const hi = Math.floor(ms / 0x1000000)
    const lo = ms % 0x1000000
    out[offset] = (hi >>> 16) & 0xff
    out[offset + 1] = (hi >>> 8) & 0xff
    out[offset + 2] = hi & 0xff
    out[offset + 3] = (lo >>> 16) & 0xff
    out[offset + 4] = (lo >>> 8) & 0xff
    out[offset + 5] = lo & 0xff
    out[offset + 6] = 0x70 | (this.counter >>> 8)
    out[offset + 7] = this.counter & 0xff
    const p = this.pool
    const i = this.poolPos
    out[offset + 8] = 0x80 | (p[i] & 0x3f)
    for (let k = 1; k < 8; k++) out[offset + 8 + k] = p[i + k]
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

/** The canonical 8-4-4-4-12 text form of 16 id bytes (one flat string, built in a scratch buffer). */
export function formatUuid(b: Uint8Array, o: number): string {
  let p = 0
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) text[p++] = 0x2d
    const v = b[o + i]
    text[p++] = HEX[2 * v]
    text[p++] = HEX[2 * v + 1]
  }
  return text.toString('latin1', 0, 36)
}

/** Unix milliseconds stored in a UUIDv7 string (for tests and tooling). */
export function uuid7Millis(id: string): number {
  return parseInt(id.replace(/-/g, '').slice(0, 12), 16)
}

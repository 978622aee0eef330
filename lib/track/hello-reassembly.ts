import { tlsClientHelloSni } from '../decode/tls.js'

/**
 * TLS ClientHellos that span TCP segments. A ClientHello with post-quantum key shares (about
 * 1.8 KB from current browsers) no longer fits one 1460-byte segment, so the SNI is often in the
 * second one. When the originator's first data segment starts a ClientHello that it does not hold
 * whole, its bytes are kept, in sequence order, until the record is complete. Bounded: a record
 * of at most MAX_HELLO bytes per session, MAX_TOTAL bytes over all sessions; past that, or on a
 * gap in the sequence, the session is given up and counted.
 */
export const MAX_HELLO = 16384 + 5
const MAX_TOTAL = 32 << 20

interface Pending { buf: Buffer; have: number; next: number }

export interface HelloStats {
  /** ClientHellos put together from several segments. */
  helloReassembled: number
  /** Given up: a gap, a record too long, or the memory bound reached. */
  helloAbandoned: number
}

export class HelloReassembly {
  readonly stats: HelloStats = { helloReassembled: 0, helloAbandoned: 0 }
  private readonly pending = new Map<number, Pending>()
  private bytes = 0

  /**
   * The first data segment of a session's originator, starting a TLS record: returns the SNI when
   * the segment holds the whole ClientHello (null if it has none), or undefined when the rest
   * is awaited (feed() gets the next segments).
   */
  start(row: number, data: Buffer, start: number, end: number, seq: number): string | null | undefined {
    if (end - start < 5 || data[start + 1] !== 3) return tlsClientHelloSni(data, start, end)
    const need = 5 + ((data[start + 3]! << 8) | data[start + 4]!)
    if (end - start >= need || data[start + 5] !== 1) return tlsClientHelloSni(data, start, end)
    if (need > MAX_HELLO || this.bytes + need > MAX_TOTAL) {
      this.stats.helloAbandoned += 1
      return null
    }
    const buf = Buffer.allocUnsafe(need)
    const have = data.copy(buf, 0, start, end)
    this.pending.set(row, { buf, have, next: (seq + have) >>> 0 })
    this.bytes += need
    return undefined
  }

  waiting(row: number): boolean {
    return this.pending.has(row)
  }

  /** A later originator data segment: the SNI once the record is whole, undefined while waiting, null if given up. */
  feed(row: number, data: Buffer, start: number, end: number, seq: number): string | null | undefined {
    const p = this.pending.get(row)
    if (!p) return null
    // Retransmitted bytes we have are skipped; a gap ends the attempt (no out-of-order buffering).
    const skip = (p.next - seq) | 0
    if (skip < 0) {
      this.abandon(row, p)
      return null
    }
    if (skip >= end - start) return undefined
    const n = data.copy(p.buf, p.have, start + skip, end)
    p.have += n
    p.next = (p.next + n) >>> 0
    if (p.have < p.buf.length) return undefined
    this.drop(row, p)
    this.stats.helloReassembled += 1
    return tlsClientHelloSni(p.buf, 0, p.buf.length)
  }

  /** The session's row is freed (or reused): forget what it was waiting for. */
  forget(row: number): void {
    const p = this.pending.get(row)
    if (p) this.abandon(row, p)
  }

  private abandon(row: number, p: Pending): void {
    this.stats.helloAbandoned += 1
    this.drop(row, p)
  }

  private drop(row: number, p: Pending): void {
    this.pending.delete(row)
    this.bytes -= p.buf.length
  }
}

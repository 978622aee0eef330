import { UUID_STORED } from './uuid7.js'

/**
 * All live sessions as columns of typed arrays (struct of arrays), one row per session slot, so
 * a million sessions cost a few typed arrays instead of a million JS objects. Rows are reused
 * through a free list; the columns double when full, up to the configured maximum.
 */

/** Key words per row: [proto | ipVersion << 8 | kind << 16, addrA x4, addrB x4, portA << 16 | portB]. */
export const KEY_WORDS = 10
/** History letters kept per session (each letter once per direction, plus the flip mark). */
export const HISTORY_LEN = 12

export const F_USED = 1
/** The originator is endpoint B of the ordered key (its packets go B -> A). */
export const F_ORIG_B = 2
/** Filtered out: tracked so its packets are recognised, never reported. */
export const F_IGNORED = 4
/** CLOSE or ABORT already reported; lingers to count late packets until DESTROY. */
export const F_ENDED = 8
export const F_REPLIED = 16
/** Payload inspection done (found or not). */
export const F_INSPECTED = 32
/** cidHash holds the session's Community ID hash (made at its first event). */
export const F_CID = 64
/** Events held back until the DNS name filter can decide (TCP to a DNS port: the query follows the handshake). */
export const F_HELD = 128

/** tdFlags: bits 0-3 hold the direction's window scale (td_scale, 0-14). */
export const TD_SCALE_MASK = 0x0f
/** The direction sent TCPOPT_WINDOW in its SYN (IP_CT_TCP_FLAG_WINDOW_SCALE). */
export const TD_WSCALE_SENT = 0x10
/** Window bounds not enforced on this direction except for RST (IP_CT_TCP_FLAG_BE_LIBERAL). */
export const TD_LIBERAL = 0x20

export class SessionStore {
  capacity: number
  readonly max: number
  count = 0
  keys!: Uint32Array
  flags!: Uint8Array
  tcpState!: Uint8Array
  firstUs!: Float64Array
  lastUs!: Float64Array
  packets!: Uint32Array
  /** IP bytes per direction, 48 bits: the low 32 here, the high 16 in bytesHi (addBytes, bytesOf). */
  bytesLo!: Uint32Array
  bytesHi!: Uint16Array
  /** The session id without its millisecond (lib/track/uuid7.ts, UUID_STORED bytes a row). */
  uuid!: Uint8Array
  /** Community ID SHA-1, 20 bytes a row: hashed once per session, not per event. */
  cidHash!: Uint8Array
  history!: Uint8Array
  historySeen!: Uint32Array
  /** Idle timeout, encoded by setTimeoutSeconds (16 bits: seconds, or minutes past 9 hours). */
  timeout!: Uint16Array
  sensor!: Uint16Array
  /**
   * TCP window data, two entries a row (originator, responder), as conntrack's ip_ct_tcp_state:
   * td_end, td_maxend, td_maxwin and td_scale with flags. td_maxwin 0 means the direction's data
   * is not known yet (no packet from it seen).
   */
  tdEnd!: Uint32Array
  tdMaxEnd!: Uint32Array
  tdMaxWin!: Uint32Array
  /** For TCP the TD_* flags per direction; an ICMP session keeps its originator's type and code here (setIcmp). */
  tdFlags!: Uint8Array
  wheelNext!: Int32Array
  wheelPrev!: Int32Array
  /** The wheel second a row is due (Unix seconds of packet time: 32 bits hold them until 2106). */
  wheelDue!: Uint32Array
  private freeHead = -1
  /** Rows never handed out yet start here (cheaper than threading a free list through them). */
  private fresh = 0
  /** Inspected payload names by row: rare, so a Map rather than a column. */
  readonly payload = new Map<number, string>()

  constructor(initial: number, max: number) {
    this.max = max
    this.capacity = 0
    this.resize(Math.max(16, Math.min(initial, max)))
  }

  private resize(cap: number): void {
    const grow = <T extends Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array>(old: T | undefined, per: number, make: (n: number) => T): T => {
      const next = make(cap * per)
      if (old) next.set(old)
      return next
    }
    this.keys = grow(this.keys, KEY_WORDS, (n) => new Uint32Array(n))
    this.flags = grow(this.flags, 1, (n) => new Uint8Array(n))
    this.tcpState = grow(this.tcpState, 1, (n) => new Uint8Array(n))
    this.firstUs = grow(this.firstUs, 1, (n) => new Float64Array(n))
    this.lastUs = grow(this.lastUs, 1, (n) => new Float64Array(n))
    this.packets = grow(this.packets, 2, (n) => new Uint32Array(n))
    this.bytesLo = grow(this.bytesLo, 2, (n) => new Uint32Array(n))
    this.bytesHi = grow(this.bytesHi, 2, (n) => new Uint16Array(n))
    this.uuid = grow(this.uuid, UUID_STORED, (n) => new Uint8Array(n))
    this.cidHash = grow(this.cidHash, 20, (n) => new Uint8Array(n))
    this.history = grow(this.history, HISTORY_LEN, (n) => new Uint8Array(n))
    this.historySeen = grow(this.historySeen, 1, (n) => new Uint32Array(n))
    this.timeout = grow(this.timeout, 1, (n) => new Uint16Array(n))
    this.sensor = grow(this.sensor, 1, (n) => new Uint16Array(n))
    this.tdEnd = grow(this.tdEnd, 2, (n) => new Uint32Array(n))
    this.tdMaxEnd = grow(this.tdMaxEnd, 2, (n) => new Uint32Array(n))
    this.tdMaxWin = grow(this.tdMaxWin, 2, (n) => new Uint32Array(n))
    this.tdFlags = grow(this.tdFlags, 2, (n) => new Uint8Array(n))
    this.wheelNext = grow(this.wheelNext, 1, (n) => new Int32Array(n))
    this.wheelPrev = grow(this.wheelPrev, 1, (n) => new Int32Array(n))
    this.wheelDue = grow(this.wheelDue, 1, (n) => new Uint32Array(n))
    this.capacity = cap
  }

  get full(): boolean {
    return this.count >= this.max
  }

  /** A cleared row, or -1 when the maximum is reached. Returns whether the columns grew via `grew`. */
  alloc(): number {
    let row: number
    if (this.freeHead >= 0) {
      row = this.freeHead
      // Free rows are off the wheel, so its link column threads the free list.
      this.freeHead = this.wheelNext[row]
    } else {
      if (this.fresh >= this.capacity) {
        if (this.capacity >= this.max) return -1
        this.resize(Math.min(this.capacity * 2, this.max))
      }
      row = this.fresh++
    }
    this.count += 1
    this.flags[row] = F_USED
    this.tcpState[row] = 0
    this.packets[2 * row] = 0
    this.packets[2 * row + 1] = 0
    this.bytesLo[2 * row] = 0
    this.bytesLo[2 * row + 1] = 0
    this.bytesHi[2 * row] = 0
    this.bytesHi[2 * row + 1] = 0
    // A dozen stores beat a call into TypedArray.prototype.fill for so short a range.
    const h = this.history
    for (let i = row * HISTORY_LEN, end = i + HISTORY_LEN; i < end; i++) h[i] = 0
    this.historySeen[row] = 0
    this.sensor[row] = 0
    const w = 2 * row
    this.tdEnd[w] = 0; this.tdEnd[w + 1] = 0
    this.tdMaxEnd[w] = 0; this.tdMaxEnd[w + 1] = 0
    this.tdMaxWin[w] = 0; this.tdMaxWin[w + 1] = 0
    this.tdFlags[w] = 0; this.tdFlags[w + 1] = 0
    return row
  }

  free(row: number): void {
    this.flags[row] = 0
    this.payload.delete(row)
    this.count -= 1
    this.wheelNext[row] = this.freeHead
    this.freeHead = row
  }

  /** Adds `n` bytes to direction `dir` (0 originator, 1 responder) of `row`; 48 bits wrap past 256 TiB. */
  addBytes(row: number, dir: number, n: number): void {
    const i = 2 * row + dir
    const lo = this.bytesLo[i]! + n
    if (lo > 0xffffffff) {
      this.bytesLo[i] = lo - 0x100000000
      this.bytesHi[i] += 1
    } else {
      this.bytesLo[i] = lo
    }
  }

  bytesOf(row: number, dir: number): number {
    const i = 2 * row + dir
    return this.bytesHi[i]! * 0x100000000 + this.bytesLo[i]!
  }

  /** ICMP sessions have no TCP window, so its flag bytes hold the originator's type and code. */
  setIcmp(row: number, type: number, code: number): void {
    this.tdFlags[2 * row] = type
    this.tdFlags[2 * row + 1] = code
  }

  /** The originator's ICMP type << 8 | code. */
  icmpOf(row: number): number {
    return (this.tdFlags[2 * row]! << 8) | this.tdFlags[2 * row + 1]!
  }

  /**
   * Up to 32767 s a timeout is kept in seconds; longer ones (conntrack's established TCP is 5 days)
   * in whole minutes, rounded up, up to 32767 minutes (22 days).
   */
  setTimeoutSeconds(row: number, seconds: number): void {
    this.timeout[row] = seconds <= 0x7fff ? seconds : 0x8000 | Math.min(0x7fff, Math.ceil(seconds / 60))
  }

  timeoutSeconds(row: number): number {
    const v = this.timeout[row]!
    return v & 0x8000 ? (v & 0x7fff) * 60 : v
  }

  /** Bytes held by the columns, for the memory figures in the benchmark. */
  columnBytes(): number {
    let total = 0
    for (const v of Object.values(this)) {
      if (ArrayBuffer.isView(v)) total += v.byteLength
    }
    return total
  }
}

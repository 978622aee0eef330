import { codedError } from '../util/errors.js'

/**
 * Delivery acknowledgements, receiver -> sender: which batch sequence numbers of one sender
 * instance arrived since the last acknowledgement, as ranges in arrival order. Layout (big-endian):
 * magic "PA", version 1, reserved, instance (u32), range count (u16), reserved (u16), then per
 * range first and last sequence number (u32 each). See docs/wire-format.md.
 */
export const ACK_MAGIC = 0x5041 // "PA"
export const ACK_VERSION = 1
export const ACK_HEADER = 12
/** Ranges in one acknowledgement: bounds what a peer sending scattered numbers makes us buffer. */
export const ACK_MAX_RANGES = 64

export interface Ack {
  instance: number
  /** [first, last] pairs, flat: firsts at even indexes, lasts at odd ones. */
  ranges: number[]
}

export function ackEncodingLength(ack: Ack): number {
  return ACK_HEADER + (ack.ranges.length / 2) * 8
}

/** Writes `ack` into `buf` at `offset`; returns the end offset. */
export function encodeAck(ack: Ack, buf: Buffer, offset = 0): number {
  const n = ack.ranges.length / 2
  buf.writeUInt16BE(ACK_MAGIC, offset)
  buf[offset + 2] = ACK_VERSION
  buf[offset + 3] = 0
  buf.writeUInt32BE(ack.instance >>> 0, offset + 4)
  buf.writeUInt16BE(n, offset + 8)
  buf.writeUInt16BE(0, offset + 10)
  let o = offset + ACK_HEADER
  for (const seq of ack.ranges) {
    buf.writeUInt32BE(seq >>> 0, o)
    o += 4
  }
  return o
}

function fail(reason: string, code: string): never {
  throw codedError(`Cannot decode acknowledgement (${reason})`, code)
}

export function decodeAck(msg: Buffer): Ack {
  if (msg.length < ACK_HEADER) fail(`${msg.length} bytes is shorter than a header`, 'EACKSHORT')
  if (msg.readUInt16BE(0) !== ACK_MAGIC) fail('bad magic', 'EACKMAGIC')
  if (msg[2] !== ACK_VERSION) fail(`unknown version ${msg[2]}`, 'EACKVERSION')
  const n = msg.readUInt16BE(8)
  if (msg.length !== ACK_HEADER + n * 8) fail(`${n} ranges in ${msg.length} bytes`, 'EACKSIZE')
  const ranges = new Array<number>(n * 2)
  for (let i = 0; i < n * 2; i++) ranges[i] = msg.readUInt32BE(ACK_HEADER + i * 4)
  return { instance: msg.readUInt32BE(4), ranges }
}

/** RFC 1982 serial order for 32-bit sequence numbers: a comes before b. */
export function seqBefore(a: number, b: number): boolean {
  return a !== b && ((b - a) >>> 0) < 0x80000000
}

/**
 * Collects the sequence numbers one receiver got from one sender instance until the next flush:
 * a number following the previous one extends the last range, any other starts a new one.
 */
export interface AckCollector {
  /** Records `seq`; returns true when the ranges are full and should be flushed now. */
  add(seq: number): boolean
  readonly empty: boolean
  /** The acknowledgement so far, and a fresh start. */
  take(): Ack
}

export function createAckCollector(instance: number): AckCollector {
  let ranges: number[] = []
  return {
    add(seq) {
      const n = ranges.length
      if (n > 0 && ((ranges[n - 1]! + 1) >>> 0) === seq) ranges[n - 1] = seq
      else ranges.push(seq, seq)
      return ranges.length >= ACK_MAX_RANGES * 2
    },
    get empty() { return ranges.length === 0 },
    take() {
      const ack = { instance, ranges }
      ranges = []
      return ack
    },
  }
}

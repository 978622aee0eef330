import { deflateSync, inflateSync } from 'node:zlib'
import { codedError } from '../util/errors.js'
import { sanitize } from '../util/sanitize.js'
import { copyBytes, viewOf } from '../util/byte-view.js'

/**
 * Packet batches on the wire: one ZeroMQ message = one batch from one sender and source.
 * Layout (big-endian) in docs/wire-format.md. Version 1.
 */
export const WIRE_MAGIC = 0x505a // "PZ"
export const WIRE_VERSION = 1
export const FLAG_COMPRESSED = 0x01
export const FIXED_HEADER = 24
export const RECORD_HEADER = 20
/** Largest packet a record carries (libpcap's MAXIMUM_SNAPLEN). */
export const MAX_CAPLEN = 262144
/** Largest --batch-size a sender accepts, KiB (lib/cli/send-options.ts enforces it). */
export const MAX_BATCH_KIB = 16384
/** One record at its largest: header, a 16-bit metadata length, MAX_CAPLEN. */
export const MAX_RECORD_BYTES = RECORD_HEADER + 65535 + MAX_CAPLEN
/**
 * Largest records section a receiver accepts, compressed or not (inflating stops there, which
 * bounds zlib bombs): the largest batch a sender builds, a full --batch-size plus the one record
 * that did not fit (createBatchBuilder makes room for it).
 */
export const MAX_RECORDS_BYTES = MAX_BATCH_KIB * 1024 + MAX_RECORD_BYTES
/**
 * Largest inflate ratio (records bytes per compressed byte) a batch may declare; beyond it the
 * batch is refused before anything is inflated (EWIREBOMB). deflate itself tops out at 1028:1 (a
 * run of one byte, which is what bombs are made of). Real records measure far below that with
 * the sender's level 6: 57:1 for MTU-size TCP segments of zeros, 544:1 for 64 KiB GSO segments
 * of zeros (the most compressible thing NFLOG captures: it copies at most 64 KiB a packet), 867:1
 * for 256 KiB packets of zeros replayed from a file; every record's timestamp, lengths, IP ids,
 * sequence numbers and checksums break the runs. So nothing real is refused, and the bombs a
 * one-line script makes are.
 */
export const MAX_INFLATE_RATIO = 1000
/**
 * ZMQ_MAXMSGSIZE of every socket batches arrive on: the largest message a sender can build, so
 * libzmq refuses a frame claiming more as soon as its size is read (without this a frame header
 * claiming 20 GB has the receiver allocate as its bytes trickle in). The sum of: the fixed header,
 * three length-prefixed names of at most 255 bytes, up to 64 bytes of header extensions, and the
 * largest records section after zlib's compressBound (deflate grows incompressible input by a
 * few bytes per 16 KiB block).
 */
export const MAX_BATCH_MESSAGE = FIXED_HEADER + 3 * 256 + 64 +
  MAX_RECORDS_BYTES + (MAX_RECORDS_BYTES >>> 12) + (MAX_RECORDS_BYTES >>> 14) + (MAX_RECORDS_BYTES >>> 25) + 13

export interface BatchInfo {
  version: number
  compressed: boolean
  linktype: number
  /** Random per sender process: separates senders that share a host name, detects restarts. */
  instance: number
  seq: number
  count: number
  host: string
  sensorId: string
  source: string
  /** Bytes of the message on the wire (compressed size when compressed). */
  wireBytes: number
  /** CURVE sender proof from the header extensions (public key + tag), when the sender gave one. */
  proof?: Buffer
}

/** Header extension types: [type u8][length u8][value] after the names. */
export const EXT_SENDER_PROOF = 1

export interface WireRecord {
  tsSec: number
  tsNsec: number
  origLen: number
  data: Buffer
  /** LINKTYPE_NFLOG header and TLVs other than the payload (little-endian TLVs); empty otherwise. */
  meta: Buffer
}

export interface Batch {
  info: BatchInfo
  records: Buffer
}

function fail(reason: string, code: string): never {
  throw codedError(`Cannot decode batch (${reason})`, code)
}

/** Parses a message, inflating a compressed records section under a size cap. Throws EWIRE*. */
export function decodeBatch(msg: Buffer): Batch {
  if (msg.length < FIXED_HEADER) fail(`${msg.length} bytes is shorter than a header`, 'EWIRESHORT')
  if (msg.readUInt16BE(0) !== WIRE_MAGIC) fail('bad magic', 'EWIREMAGIC')
  const version = msg[2]!
  if (version !== WIRE_VERSION) fail(`unknown version ${version}`, 'EWIREVERSION')
  const flags = msg[3]!
  const headerLen = msg.readUInt16BE(6)
  if (headerLen < FIXED_HEADER + 3 || headerLen > msg.length) fail(`bad header length ${headerLen}`, 'EWIREHEADER')
  const count = msg.readUInt32BE(16)
  const recordsLen = msg.readUInt32BE(20)
  if (recordsLen > MAX_RECORDS_BYTES) fail(`records section of ${recordsLen} bytes exceeds the ${MAX_RECORDS_BYTES} limit`, 'EWIRESIZE')
  if (count * RECORD_HEADER > recordsLen) fail(`${count} records cannot fit in ${recordsLen} bytes`, 'EWIRECOUNT')
  let o = FIXED_HEADER
  const str = (): string => {
    if (o >= headerLen) fail('names run past the header', 'EWIREHEADER')
    const n = msg[o]!
    if (o + 1 + n > headerLen) fail('names run past the header', 'EWIREHEADER')
    const s = msg.toString('utf8', o + 1, o + 1 + n)
    o += 1 + n
    return s
  }
  const host = str()
  const sensorId = str()
  const source = str()
  // Extensions fill the rest of the header; unknown types are skipped, so old receivers read new senders.
  let proof: Buffer | undefined
  while (o < headerLen) {
    if (o + 2 > headerLen || o + 2 + msg[o + 1]! > headerLen) fail('header extension runs past the header', 'EWIREHEADER')
    const len = msg[o + 1]!
    if (msg[o] === EXT_SENDER_PROOF) proof = msg.subarray(o + 2, o + 2 + len)
    o += 2 + len
  }
  const body = msg.subarray(headerLen)
  const compressed = (flags & FLAG_COMPRESSED) !== 0
  let records: Buffer
  if (compressed) {
    // Judged on what the header declares, before any work: a bomb costs its receiver nothing.
    if (recordsLen > body.length * MAX_INFLATE_RATIO) {
      fail(`${body.length} compressed bytes declare ${recordsLen}, beyond the 1:${MAX_INFLATE_RATIO} real records reach`, 'EWIREBOMB')
    }
    try {
      records = inflateSync(body, { maxOutputLength: Math.max(recordsLen, 1) })
    } catch (err) {
      // Output past maxOutputLength: the stream holds more than it declared.
      if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') fail(`inflates past the declared ${recordsLen} bytes`, 'EWIREBOMB')
      fail(`zlib: ${(err as Error).message}`, 'EWIREZLIB')
    }
    if (records.length !== recordsLen) fail(`inflated to ${records.length} bytes, header says ${recordsLen}`, 'EWIRESIZE')
  } else {
    if (body.length !== recordsLen) fail(`records section is ${body.length} bytes, header says ${recordsLen}`, 'EWIRESIZE')
    records = body
  }
  return {
    info: {
      version, compressed, linktype: msg.readUInt16BE(4), instance: msg.readUInt32BE(8), seq: msg.readUInt32BE(12),
      count, host, sensorId, source, wireBytes: msg.length, proof,
    },
    records,
  }
}

/** Each of host and sensor id in a reported sender name (a DNS name is at most 253). */
const SENDER_NAME_CHARS = 128

/**
 * The sender's name from the identity fields only (for a batch that failed to decode, and for
 * reports), read from the raw bytes and sanitized: ready for a log line, invalid UTF-8 shown as
 * \xNN rather than lost.
 */
export function peekSender(msg: Buffer): string {
  try {
    if (msg.length < FIXED_HEADER + 3 || msg.readUInt16BE(0) !== WIRE_MAGIC) return 'unknown sender'
    const hl = Math.min(msg.readUInt16BE(6), msg.length)
    const h = msg[FIXED_HEADER]!
    if (FIXED_HEADER + 1 + h > hl) return 'unknown sender'
    const host = sanitize(msg.subarray(FIXED_HEADER + 1, FIXED_HEADER + 1 + h), SENDER_NAME_CHARS)
    const s = msg[FIXED_HEADER + 1 + h] ?? 0
    const sensor = FIXED_HEADER + 2 + h + s <= hl ? sanitize(msg.subarray(FIXED_HEADER + 2 + h, FIXED_HEADER + 2 + h + s), SENDER_NAME_CHARS) : ''
    return senderLabel(host, sensor)
  } catch {
    return 'unknown sender'
  }
}

export function senderLabel(host: string, sensorId: string): string {
  return sensorId ? `${host}/${sensorId}` : host
}

const EMPTY = Buffer.alloc(0)

/** Walks a batch's records; `rec` is reused. Throws EWIRETRUNC when a record overruns the section. */
export function forEachRecord(batch: Batch, onRecord: (rec: WireRecord) => void): void {
  const b = batch.records
  const rec: WireRecord = { tsSec: 0, tsNsec: 0, origLen: 0, data: EMPTY, meta: EMPTY }
  const v = viewOf(b)
  let o = 0
  for (let i = 0; i < batch.info.count; i++) {
    if (o + RECORD_HEADER > b.length) fail(`record ${i} header runs past the end`, 'EWIRETRUNC')
    const caplen = v.getUint32(o + 12)
    const metaLen = v.getUint16(o + 16)
    const end = o + RECORD_HEADER + metaLen + caplen
    if (end > b.length) fail(`record ${i} runs past the end`, 'EWIRETRUNC')
    rec.tsSec = v.getUint32(o)
    rec.tsNsec = v.getUint32(o + 4)
    rec.origLen = v.getUint32(o + 8)
    rec.meta = metaLen ? b.subarray(o + RECORD_HEADER, o + RECORD_HEADER + metaLen) : EMPTY
    rec.data = b.subarray(o + RECORD_HEADER + metaLen, end)
    onRecord(rec)
    o = end
  }
  if (o !== b.length) fail(`${b.length - o} bytes after the last record`, 'EWIRETRAIL')
}


/**
 * Accumulates records for one source in a reusable buffer (no allocation per packet) and turns
 * them into a message once per batch.
 */
export interface BatchBuilder {
  readonly count: number
  readonly bytes: number
  /** Appends one record; `data[start,end)` and `meta[mStart,mEnd)` are copied in place. */
  append(tsSec: number, tsNsec: number, origLen: number, data: Buffer, start: number, end: number, meta?: Buffer, mStart?: number, mEnd?: number): void
  /**
   * Appends one record of `caplen` bytes that the caller writes itself into `buffer` at the
   * returned offset, before the next call: for frames assembled from several pieces (a ring
   * frame with its VLAN tag put back) without an intermediate copy.
   */
  reserve(tsSec: number, tsNsec: number, origLen: number, caplen: number): number
  /** The builder's own buffer, for reserve(), and a view of it (lib/util/byte-view.ts). */
  readonly buffer: Buffer
  readonly view: DataView
  /** Room left before the batch should be flushed. */
  fits(bytes: number): boolean
  /** Builds the message (deflating the records when `compress`) and resets the builder. */
  finish(compress: boolean): Buffer
}

export interface BuilderIdentity {
  host: string
  sensorId: string
  source: string
  linktype: number
  instance: number
  /** CURVE sender proof (lib/wire/curve.ts), written into every header. */
  proof?: Buffer
}

export function createBatchBuilder(id: BuilderIdentity, capacity = 1 << 20): BatchBuilder {
  const names = Buffer.concat([...[id.host, id.sensorId, id.source].map((s) => {
    const b = Buffer.from(s, 'utf8').subarray(0, 255)
    return Buffer.concat([Buffer.from([b.length]), b])
  }), id.proof ? Buffer.concat([Buffer.from([EXT_SENDER_PROOF, id.proof.length]), id.proof]) : Buffer.alloc(0)])
  const headerLen = FIXED_HEADER + names.length
  // Records go after room for the header, so an uncompressed batch leaves in this very buffer:
  // ZeroMQ sends a buffer over 128 bytes without copying it, so a sealed batch's buffer is handed
  // over and the next batch gets a fresh one. A batch that fills less than half of it is copied out
  // instead (and the buffer kept), so a queue of small batches never pins full-size buffers.
  const fresh = () => Buffer.allocUnsafe(headerLen + capacity)
  let buf = fresh()
  let view = viewOf(buf)
  // The last source buffer and its view: captures append from one reused receive buffer.
  let src: Buffer = EMPTY
  let srcView = viewOf(EMPTY)
  const viewFor = (b: Buffer): DataView => {
    if (b !== src) {
      src = b
      srcView = viewOf(b)
    }
    return srcView
  }
  /** End of the records, an offset in buf (they start at headerLen). */
  let end = headerLen
  let count = 0
  // Callers seal a batch before a record that does not fit, so only a record larger than the
  // whole capacity, alone in its batch, needs more room: a buffer of its own size.
  const ensure = (need: number) => {
    if (end + need <= buf.length) return
    const b = Buffer.allocUnsafe(end + need)
    buf.copy(b, 0, 0, end)
    buf = b
    view = viewOf(b)
  }
  return {
    get count() { return count },
    get bytes() { return end - headerLen },
    get buffer() { return buf },
    get view() { return view },
    fits(bytes: number) { return end - headerLen + RECORD_HEADER + bytes <= capacity },
    reserve(tsSec, tsNsec, origLen, caplenWanted) {
      const caplen = Math.min(caplenWanted, MAX_CAPLEN)
      ensure(RECORD_HEADER + caplen)
      view.setUint32(end, tsSec >>> 0)
      view.setUint32(end + 4, tsNsec >>> 0)
      view.setUint32(end + 8, Math.max(origLen, caplen) >>> 0)
      view.setUint32(end + 12, caplen)
      view.setUint32(end + 16, 0) // no meta, reserved
      const at = end + RECORD_HEADER
      end = at + caplen
      count += 1
      return at
    },
    append(tsSec, tsNsec, origLen, data, start, stop, meta, mStart = 0, mEnd = 0) {
      const caplen = Math.min(stop - start, MAX_CAPLEN)
      const metaLen = meta ? Math.min(mEnd - mStart, 65535) : 0
      ensure(RECORD_HEADER + metaLen + caplen)
      view.setUint32(end, tsSec >>> 0)
      view.setUint32(end + 4, tsNsec >>> 0)
      view.setUint32(end + 8, Math.max(origLen, caplen) >>> 0)
      view.setUint32(end + 12, caplen)
      view.setUint16(end + 16, metaLen)
      view.setUint16(end + 18, 0)
      let o = end + RECORD_HEADER
      if (metaLen) o = copyBytes(buf, view, o, meta!, viewFor(meta!), mStart, mStart + metaLen)
      end = copyBytes(buf, view, o, data, viewFor(data), start, start + caplen)
      count += 1
    },
    finish(compress: boolean) {
      const recordsLen = end - headerLen
      let msg: Buffer
      if (compress) {
        const body = deflateSync(buf.subarray(headerLen, end), { level: 6 })
        msg = Buffer.allocUnsafe(headerLen + body.length)
        body.copy(msg, headerLen)
      } else if (end * 2 >= buf.length) {
        msg = buf.subarray(0, end)
        buf = fresh()
        view = viewOf(buf)
      } else {
        msg = Buffer.allocUnsafe(end)
        buf.copy(msg, headerLen, headerLen, end)
      }
      msg.writeUInt16BE(WIRE_MAGIC, 0)
      msg[2] = WIRE_VERSION
      msg[3] = compress ? FLAG_COMPRESSED : 0
      msg.writeUInt16BE(id.linktype, 4)
      msg.writeUInt16BE(headerLen, 6)
      msg.writeUInt32BE(id.instance >>> 0, 8)
      msg.writeUInt32BE(0, 12) // the sequence number is the socket's: set when sent
      msg.writeUInt32BE(count, 16)
      msg.writeUInt32BE(recordsLen, 20)
      names.copy(msg, FIXED_HEADER)
      end = headerLen
      count = 0
      return msg
    },
  }
}

/**
 * The link type of `rec.data` itself. NFLOG captures travel split: NFLOG header and TLVs in `meta`,
 * the IP packet in `data` (so the receiver can write LINKTYPE_RAW without parsing TLVs). A record
 * without meta carries its whole link-layer frame, NFLOG included (e.g. replayed from a pcap).
 */
export function recordLinktype(batchLinktype: number, rec: WireRecord): number {
  return rec.meta.length > 0 ? 101 : batchLinktype
}

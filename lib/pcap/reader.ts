import { codedError, type PipeError } from '../util/errors.js'
import { splitTicks } from './timestamp.js'

/** One packet from a pcap or pcapng stream. The reader reuses this object: copy `data` to keep it. */
export interface CapturePacket {
  linktype: number
  tsSec: number
  tsNsec: number
  origLen: number
  data: Buffer
  /** Interface index (pcapng: counted across sections; pcap: 0). */
  iface: number
}

export interface ReaderStats {
  packets: number
  bytes: number
  /** Records that could not be read (corrupt lengths, truncated tail, unknown interface). */
  badRecords: number
  /** Why reading stopped early, if it did ('' when the stream ended cleanly). */
  error: string
}

export interface CaptureReader {
  push(chunk: Buffer): void
  end(): void
  stats: ReaderStats
}

const PCAP_USEC = 0xa1b2c3d4
const PCAP_NSEC = 0xa1b23c4d
const PCAP_KUZNETZOV = 0xa1b2cd34
const PCAPNG_SHB = 0x0a0d0d0a
const PCAPNG_BOM = 0x1a2b3c4d
/** Larger records than this are corruption, not packets (libpcap's own limit is 256 KiB). */
const MAX_RECORD = 16 << 20

interface Iface { linktype: number; units: number; offset: number }

/**
 * Incremental pcap and pcapng parser: push chunks as they arrive (stdin, FIFO, file) and get each
 * complete packet through `onPacket`, zero-copy where the record lies within one chunk. A bad file
 * header throws (EPCAPMAGIC); corruption later stops reading and is reported in `stats.error`,
 * because neither format can be resynchronised safely.
 */
export function createCaptureReader(onPacket: (p: CapturePacket) => void): CaptureReader {
  const stats: ReaderStats = { packets: 0, bytes: 0, badRecords: 0, error: '' }
  const pkt: CapturePacket = { linktype: 0, tsSec: 0, tsNsec: 0, origLen: 0, data: Buffer.alloc(0), iface: 0 }
  const ts = { sec: 0, nsec: 0 }
  let pending: Buffer | null = null
  let format: 'unknown' | 'pcap' | 'pcapng' | 'stopped' = 'unknown'
  let le = true
  // pcap
  let pcapLinktype = 0
  let pcapNsec = false
  let pcapRecHdr = 16
  // pcapng
  let ifaces: Iface[] = []
  let ifaceBase = 0

  const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o))
  const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o))

  function stop(reason: string): void {
    stats.error = reason
    stats.badRecords += 1
    format = 'stopped'
    pending = null
  }

  /** Returns bytes consumed from the start of `b` (0 when more input is needed). */
  function readFileHeader(b: Buffer): number {
    if (b.length < 4) return 0
    const magicLE = b.readUInt32LE(0)
    const magicBE = b.readUInt32BE(0)
    if (magicLE === PCAPNG_SHB) {
      format = 'pcapng'
      return 0 // the SHB is parsed as a block
    }
    if (b.length < 24) return 0
    for (const [magic, isLe] of [[magicLE, true], [magicBE, false]] as const) {
      if (magic === PCAP_USEC || magic === PCAP_NSEC || magic === PCAP_KUZNETZOV) {
        le = isLe
        pcapNsec = magic === PCAP_NSEC
        pcapRecHdr = magic === PCAP_KUZNETZOV ? 24 : 16
        // Upper bits of the link-type field carry FCS information (pcap spec, LinkType and
        // additional information); the link type itself is the low 16 bits.
        pcapLinktype = u32(b, 20) & 0xffff
        format = 'pcap'
        return 24
      }
    }
    throw codedError('Cannot decode capture (not a pcap or pcapng stream: bad magic)', 'EPCAPMAGIC')
  }

  function readPcapRecord(b: Buffer, o: number): number {
    if (b.length - o < pcapRecHdr) return 0
    const caplen = u32(b, o + 8)
    if (caplen > MAX_RECORD) {
      stop(`pcap record at byte offset ${o} claims ${caplen} bytes: corrupt capture`)
      return 0
    }
    const total = pcapRecHdr + caplen
    if (b.length - o < total) return 0
    pkt.linktype = pcapLinktype
    pkt.tsSec = u32(b, o)
    const frac = u32(b, o + 4)
    pkt.tsNsec = pcapNsec ? frac : frac * 1000
    pkt.origLen = Math.max(u32(b, o + 12), caplen)
    pkt.data = b.subarray(o + pcapRecHdr, o + total)
    pkt.iface = 0
    emit(caplen)
    return total
  }

  function emit(caplen: number): void {
    stats.packets += 1
    stats.bytes += caplen
    onPacket(pkt)
  }

  function readIdbOptions(b: Buffer, start: number, end: number, iface: Iface): void {
    let o = start
    while (o + 4 <= end) {
      const code = u16(b, o)
      const len = u16(b, o + 2)
      const v = o + 4
      if (code === 0 || v + len > end) break
      if (code === 9 && len >= 1) {
        const r = b[v]!
        iface.units = r & 0x80 ? 2 ** (r & 0x7f) : 10 ** r
      } else if (code === 14 && len >= 8) {
        // if_tsoffset: whole seconds added to every timestamp (signed 64-bit).
        iface.offset = le ? Number(b.readBigInt64LE(v)) : Number(b.readBigInt64BE(v))
      }
      o = v + ((len + 3) & ~3)
    }
  }

  function readBlock(b: Buffer, o: number): number {
    if (b.length - o < 12) return 0
    const typeLE = b.readUInt32LE(o)
    if (typeLE === PCAPNG_SHB) {
      if (b.length - o < 12) return 0
      const bom = b.readUInt32LE(o + 8)
      if (bom === PCAPNG_BOM) le = true
      else if (b.readUInt32BE(o + 8) === PCAPNG_BOM) le = false
      else {
        stop(`pcapng section header at byte offset ${o} has a bad byte-order magic`)
        return 0
      }
      ifaceBase += ifaces.length
      ifaces = []
    }
    const type = u32(b, o)
    const len = u32(b, o + 4)
    if (len < 12 || len % 4 !== 0 || len > MAX_RECORD) {
      stop(`pcapng block at byte offset ${o} has a bad length ${len}`)
      return 0
    }
    if (b.length - o < len) return 0
    const body = o + 8
    const end = o + len - 4
    if (type === 1 && end - body >= 8) {
      const iface: Iface = { linktype: u16(b, body), units: 1e6, offset: 0 }
      readIdbOptions(b, body + 8, end, iface)
      ifaces.push(iface)
    } else if ((type === 6 || type === 2) && end - body >= 20) {
      const ifId = type === 6 ? u32(b, body) : u16(b, body)
      const iface = ifaces[ifId]
      const caplen = u32(b, body + 12)
      if (!iface || body + 20 + caplen > end) {
        stats.badRecords += 1
      } else {
        if (iface.units <= 1e9) splitTicks(u32(b, body + 4), u32(b, body + 8), iface.units, ts)
        else bigTicks(u32(b, body + 4), u32(b, body + 8), iface.units)
        pkt.linktype = iface.linktype
        pkt.tsSec = ts.sec + iface.offset
        pkt.tsNsec = ts.nsec
        pkt.origLen = Math.max(u32(b, body + 16), caplen)
        pkt.data = b.subarray(body + 20, body + 20 + caplen)
        pkt.iface = ifaceBase + ifId
        emit(caplen)
      }
    } else if (type === 3 && end - body >= 4) {
      const iface = ifaces[0]
      if (!iface) stats.badRecords += 1
      else {
        const origLen = u32(b, body)
        const caplen = Math.min(origLen, end - body - 4)
        pkt.linktype = iface.linktype
        pkt.tsSec = 0
        pkt.tsNsec = 0
        pkt.origLen = origLen
        pkt.data = b.subarray(body + 4, body + 4 + caplen)
        pkt.iface = ifaceBase
        emit(caplen)
      }
    }
    return len
  }

  function bigTicks(high: number, low: number, units: number): void {
    const t = (BigInt(high) << 32n) | BigInt(low)
    const u = BigInt(units)
    ts.sec = Number(t / u)
    ts.nsec = Number(((t % u) * 1000000000n) / u)
  }

  function parse(b: Buffer): void {
    let o = 0
    if (format === 'unknown') {
      o = readFileHeader(b)
      if (format === 'unknown') {
        pending = b
        return
      }
    }
    const stopped = () => (format as string) === 'stopped'
    for (;;) {
      const n = format === 'pcap' ? readPcapRecord(b, o) : readBlock(b, o)
      if (n === 0 || stopped()) break
      o += n
    }
    if (stopped()) return
    pending = o < b.length ? b.subarray(o) : null
  }

  return {
    stats,
    push(chunk: Buffer) {
      if (format === 'stopped' || chunk.length === 0) return
      if (pending && format === 'pcap') {
        // Join only the record that straddles the two chunks; the rest is read where it lies, so
        // no chunk is copied whole. (pcapng blocks keep the simple join: a section header that
        // straddles may change the byte order its length is read in.)
        const need = pcapRecHdr - pending.length
        if (need > 0) {
          pending = Buffer.concat([pending, chunk.subarray(0, need)])
          if (pending.length < pcapRecHdr) return
          chunk = chunk.subarray(need)
        }
        const caplen = u32(pending, 8)
        if (caplen <= MAX_RECORD) {
          const rest = pcapRecHdr + caplen - pending.length
          const record = Buffer.concat([pending, chunk.subarray(0, rest)])
          pending = null
          if (record.length < pcapRecHdr + caplen) {
            pending = record
            return
          }
          parse(record)
          if ((format as string) === 'stopped') return
          chunk = chunk.subarray(rest)
          if (chunk.length === 0) return
        }
      }
      parse(pending ? Buffer.concat([pending, chunk]) : chunk)
    },
    end() {
      if (format === 'unknown' && pending) {
        throw codedError('Cannot decode capture (stream ended inside the file header)', 'EPCAPSHORT')
      }
      if (pending && pending.length > 0 && format !== 'stopped') {
        stats.badRecords += 1
        stats.error = `truncated capture: ${pending.length} bytes of an incomplete record at the end`
      }
      pending = null
    },
  }
}

/** Reads a whole stream (stdin, file, FIFO) to its end. Rejects on a bad file header. */
export async function readCapture(input: NodeJS.ReadableStream, onPacket: (p: CapturePacket) => void): Promise<ReaderStats> {
  const reader = createCaptureReader(onPacket)
  let sawData = false
  for await (const chunk of input as AsyncIterable<Buffer>) {
    sawData = true
    reader.push(chunk)
  }
  if (!sawData) throw codedError('Cannot decode capture (empty input: no pcap header)', 'EPCAPEMPTY') as PipeError
  reader.end()
  return reader.stats
}

import { joinTicks } from './timestamp.js'

/**
 * pcap and pcapng encoders writing into a caller's buffer at an offset (host byte order = little
 * endian here, as libpcap writes). Each returns the offset after what it wrote.
 */
export const PCAP_HEADER = 24
export const PCAP_RECORD_HEADER = 16
export const SNAPLEN = 262144

/** pcap global header, microsecond timestamps (the form every reader accepts). */
export function pcapHeader(linktype: number): Buffer {
  const b = Buffer.alloc(PCAP_HEADER)
  b.writeUInt32LE(0xa1b2c3d4, 0)
  b.writeUInt16LE(2, 4)
  b.writeUInt16LE(4, 6)
  b.writeUInt32LE(SNAPLEN, 16)
  b.writeUInt32LE(linktype, 20)
  return b
}

/** The same record header through a DataView of the output (lib/util/byte-view.ts): for per-packet loops. */
export function putPcapRecordHeader(v: DataView, o: number, tsSec: number, tsNsec: number, caplen: number, origLen: number): number {
  v.setUint32(o, tsSec >>> 0, true)
  v.setUint32(o + 4, Math.floor(tsNsec / 1000), true)
  v.setUint32(o + 8, caplen, true)
  v.setUint32(o + 12, Math.max(origLen, caplen), true)
  return o + PCAP_RECORD_HEADER
}

export function writePcapRecordHeader(b: Buffer, o: number, tsSec: number, tsNsec: number, caplen: number, origLen: number): number {
  b.writeUInt32LE(tsSec >>> 0, o)
  b.writeUInt32LE(Math.floor(tsNsec / 1000), o + 4)
  b.writeUInt32LE(caplen, o + 8)
  b.writeUInt32LE(Math.max(origLen, caplen), o + 12)
  return o + PCAP_RECORD_HEADER
}

const pad4 = (n: number) => (n + 3) & ~3

function optionsLength(opts: Array<[number, Buffer]>): number {
  return opts.reduce((s, [, v]) => s + 4 + pad4(v.length), 0) + (opts.length ? 4 : 0)
}

function writeOptions(b: Buffer, o: number, opts: Array<[number, Buffer]>): number {
  for (const [code, v] of opts) {
    b.writeUInt16LE(code, o)
    b.writeUInt16LE(v.length, o + 2)
    v.copy(b, o + 4)
    b.fill(0, o + 4 + v.length, o + 4 + pad4(v.length))
    o += 4 + pad4(v.length)
  }
  if (opts.length) {
    b.writeUInt32LE(0, o) // opt_endofopt
    o += 4
  }
  return o
}

/** pcapng Section Header Block (length of section unknown: -1, as a stream must). */
export function pcapngSectionHeader(application: string): Buffer {
  const opts: Array<[number, Buffer]> = [[4, Buffer.from(application)]] // shb_userappl
  const len = 28 + optionsLength(opts)
  const b = Buffer.alloc(len)
  b.writeUInt32LE(0x0a0d0d0a, 0)
  b.writeUInt32LE(len, 4)
  b.writeUInt32LE(0x1a2b3c4d, 8)
  b.writeUInt16LE(1, 12)
  b.writeUInt16LE(0, 14)
  b.writeInt32LE(-1, 16)
  b.writeInt32LE(-1, 20)
  writeOptions(b, 24, opts)
  b.writeUInt32LE(len, len - 4)
  return b
}

/** pcapng Interface Description Block with if_name, if_description and nanosecond if_tsresol. */
export function pcapngInterface(linktype: number, name: string, description: string): Buffer {
  const opts: Array<[number, Buffer]> = [[2, Buffer.from(name)], [3, Buffer.from(description)], [9, Buffer.from([9])]]
  const len = 20 + optionsLength(opts)
  const b = Buffer.alloc(len)
  b.writeUInt32LE(1, 0)
  b.writeUInt32LE(len, 4)
  b.writeUInt16LE(linktype, 8)
  b.writeUInt16LE(0, 10)
  b.writeUInt32LE(SNAPLEN, 12)
  writeOptions(b, 16, opts)
  b.writeUInt32LE(len, len - 4)
  return b
}

/** Bytes an Enhanced Packet Block of `caplen` takes. */
export function epbLength(caplen: number): number {
  return 32 + pad4(caplen)
}

const ticks = { high: 0, low: 0 }

/** Writes an EPB header for `caplen` bytes that the caller copies at the returned offset. */
export function writeEpbHeader(b: Buffer, o: number, iface: number, tsSec: number, tsNsec: number, caplen: number, origLen: number): number {
  const len = epbLength(caplen)
  joinTicks(tsSec, tsNsec, 1e9, ticks)
  b.writeUInt32LE(6, o)
  b.writeUInt32LE(len, o + 4)
  b.writeUInt32LE(iface, o + 8)
  b.writeUInt32LE(ticks.high, o + 12)
  b.writeUInt32LE(ticks.low, o + 16)
  b.writeUInt32LE(caplen, o + 20)
  b.writeUInt32LE(Math.max(origLen, caplen), o + 24)
  return o + 28
}

/** Pads the EPB body and writes its trailing length; returns the offset after the block. */
export function finishEpb(b: Buffer, blockStart: number, caplen: number): number {
  const len = epbLength(caplen)
  const dataEnd = blockStart + 28 + caplen
  b.fill(0, dataEnd, blockStart + len - 4)
  b.writeUInt32LE(len, blockStart + len - 4)
  return blockStart + len
}

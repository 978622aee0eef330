import test from 'ava'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { createCaptureReader, readCapture, type CapturePacket } from '../lib/pcap/reader.js'
import { splitTicks, joinTicks } from '../lib/pcap/timestamp.js'
import { fixtures } from './helpers/env.js'

type Seen = Omit<CapturePacket, 'data'> & { len: number; hex: string }
const snap = (p: CapturePacket): Seen => ({ linktype: p.linktype, tsSec: p.tsSec, tsNsec: p.tsNsec, origLen: p.origLen, iface: p.iface, len: p.data.length, hex: p.data.subarray(0, 4).toString('hex') })

function pcapFile(le: boolean, nsec: boolean, linktype: number, pkts: Array<{ sec: number; frac: number; data: Buffer; orig?: number }>): Buffer {
  const h = Buffer.alloc(24)
  const w32 = (b: Buffer, v: number, o: number) => (le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o))
  const w16 = (b: Buffer, v: number, o: number) => (le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o))
  w32(h, nsec ? 0xa1b23c4d : 0xa1b2c3d4, 0); w16(h, 2, 4); w16(h, 4, 6); w32(h, 65535, 16); w32(h, linktype, 20)
  const recs = pkts.map((p) => {
    const r = Buffer.alloc(16)
    w32(r, p.sec, 0); w32(r, p.frac, 4); w32(r, p.data.length, 8); w32(r, p.orig ?? p.data.length, 12)
    return Buffer.concat([r, p.data])
  })
  return Buffer.concat([h, ...recs])
}

for (const le of [true, false]) {
  for (const nsec of [false, true]) {
    test(`pcap ${le ? 'LE' : 'BE'} ${nsec ? 'nsec' : 'usec'}, fed one byte at a time`, (t) => {
      const file = pcapFile(le, nsec, 1, [
        { sec: 100, frac: 5, data: Buffer.from('aabbccddeeff', 'hex'), orig: 1514 },
        { sec: 101, frac: 999, data: Buffer.from('0102030405', 'hex') },
      ])
      const seen: Seen[] = []
      const r = createCaptureReader((p) => seen.push(snap(p)))
      for (const byte of file) r.push(Buffer.from([byte]))
      r.end()
      const mul = nsec ? 1 : 1000
      t.deepEqual(seen, [
        { linktype: 1, tsSec: 100, tsNsec: 5 * mul, origLen: 1514, iface: 0, len: 6, hex: 'aabbccdd' },
        { linktype: 1, tsSec: 101, tsNsec: 999 * mul, origLen: 5, iface: 0, len: 5, hex: '01020304' },
      ])
      t.like(r.stats, { packets: 2, bytes: 11, badRecords: 0, error: '' })
    })
  }
}

test('pcap split at random points (records straddling chunks, chunks inside headers, records larger than chunks): the same packets, byte for byte', (t) => {
  let seed = 7
  const rnd = (n: number) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed % n }
  const pkts = Array.from({ length: 300 }, (_, i) => {
    const data = Buffer.alloc([0, 1, 15, 16, 17, 60, 1514, 9000, 70000][i % 9]!)
    for (let k = 0; k < data.length; k++) data[k] = (i * 31 + k) & 0xff
    return { sec: 1000 + i, frac: i, data }
  })
  for (const le of [true, false]) {
    const file = pcapFile(le, false, 1, pkts)
    for (let round = 0; round < 20; round++) {
      const seen: CapturePacket[] = []
      const r = createCaptureReader((p) => seen.push({ ...p, data: Buffer.from(p.data) }))
      // Chunk sizes from 1 byte to well past the largest record.
      for (let o = 0; o < file.length;) {
        const n = [1, 3, 15, 16, 17, 100, 4096, 65536, 200000][rnd(9)]! + rnd(7)
        r.push(file.subarray(o, o + n))
        o += n
      }
      r.end()
      t.is(seen.length, pkts.length)
      t.true(seen.every((p, i) => p.tsSec === 1000 + i && p.data.equals(pkts[i]!.data)))
      t.like(r.stats, { packets: pkts.length, badRecords: 0, error: '' })
    }
  }
})

test('a truncated tail is counted, not thrown; a bad magic is a coded error', (t) => {
  const file = pcapFile(true, false, 101, [{ sec: 1, frac: 0, data: Buffer.alloc(40, 0x45) }, { sec: 2, frac: 0, data: Buffer.alloc(40, 0x45) }])
  const r = createCaptureReader(() => {})
  r.push(file.subarray(0, file.length - 10))
  r.end()
  t.like(r.stats, { packets: 1, badRecords: 1 })
  t.regex(r.stats.error, /truncated/)
  t.throws(() => createCaptureReader(() => {}).push(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')), { code: 'EPCAPMAGIC' })
})

test('a corrupt record length stops reading with a reason', (t) => {
  const file = pcapFile(true, false, 1, [{ sec: 1, frac: 0, data: Buffer.alloc(20) }])
  file.writeUInt32LE(0x7fffffff, 24 + 8)
  const r = createCaptureReader(() => {})
  r.push(file)
  r.end()
  t.is(r.stats.packets, 0)
  t.regex(r.stats.error, /corrupt/)
})

test('pcapng: sections, interfaces, tsresol and both byte orders', async (t) => {
  // tcpdump's test corpus has pcapng files; this one is built by hand to pin exact values.
  const blocks: Buffer[] = []
  const block = (type: number, body: Buffer) => {
    const len = 12 + body.length
    const b = Buffer.alloc(len)
    b.writeUInt32LE(type, 0); b.writeUInt32LE(len, 4); body.copy(b, 8); b.writeUInt32LE(len, len - 4)
    blocks.push(b)
  }
  const shb = Buffer.alloc(16); shb.writeUInt32LE(0x1a2b3c4d, 0); shb.writeUInt16LE(1, 4); shb.writeInt32LE(-1, 8); shb.writeInt32LE(-1, 12)
  block(0x0a0d0d0a, shb)
  const idb = (lt: number, tsresol?: number) => {
    const opts = tsresol === undefined ? Buffer.alloc(0) : Buffer.from([9, 0, 1, 0, tsresol, 0, 0, 0, 0, 0, 0, 0])
    const b = Buffer.alloc(8 + opts.length); b.writeUInt16LE(lt, 0); b.writeUInt32LE(0, 4); opts.copy(b, 8)
    return b
  }
  block(1, idb(1))
  block(1, idb(101, 9))
  const epb = (ifId: number, high: number, low: number, data: Buffer) => {
    const pad = (4 - (data.length % 4)) % 4
    const b = Buffer.alloc(20 + data.length + pad)
    b.writeUInt32LE(ifId, 0); b.writeUInt32LE(high, 4); b.writeUInt32LE(low, 8); b.writeUInt32LE(data.length, 12); b.writeUInt32LE(data.length + 100, 16)
    data.copy(b, 20)
    return b
  }
  // 1700000000.250000 s in microseconds, and 1700000000.000000001 s in nanoseconds.
  const us = 1700000000250000n
  const ns = 1700000000000000001n
  block(6, epb(0, Number(us >> 32n), Number(us & 0xffffffffn), Buffer.from('abcdef01', 'hex')))
  block(6, epb(1, Number(ns >> 32n), Number(ns & 0xffffffffn), Buffer.from('4500', 'hex')))
  block(5, Buffer.alloc(8)) // interface statistics: skipped
  const seen: Seen[] = []
  const stats = await readCapture(Readable.from([Buffer.concat(blocks)]), (p) => seen.push(snap(p)))
  t.deepEqual(seen, [
    { linktype: 1, tsSec: 1700000000, tsNsec: 250000000, origLen: 104, iface: 0, len: 4, hex: 'abcdef01' },
    { linktype: 101, tsSec: 1700000000, tsNsec: 1, origLen: 102, iface: 1, len: 2, hex: '4500' },
  ])
  t.like(stats, { packets: 2, badRecords: 0 })
})

test('splitTicks and joinTicks agree with BigInt arithmetic', (t) => {
  const out = { sec: 0, nsec: 0 }
  const hl = { high: 0, low: 0 }
  for (const [sec, nsec] of [[0, 0], [1700000000, 999999999], [4294967295, 1], [123, 456000]] as const) {
    for (const units of [1e6, 1e9]) {
      const ticks = BigInt(sec) * BigInt(units) + BigInt(Math.floor((nsec * units) / 1e9))
      splitTicks(Number(ticks >> 32n), Number(ticks & 0xffffffffn), units, out)
      t.is(out.sec, sec)
      t.is(out.nsec, units === 1e9 ? nsec : Math.floor(nsec / 1000) * 1000)
      joinTicks(sec, nsec, units, hl)
      t.is((BigInt(hl.high) << 32n) | BigInt(hl.low), ticks)
    }
  }
})

test('reads real tcpdump captures: packet counts match tcpdump -r', async (t) => {
  // Counts from `tcpdump -n -r FILE | wc -l` for each fixture (pcap and pcapng).
  const expected: Record<string, [number, number]> = {
    'OSPFv2_Capture_FINAL.pcapng': [1, 30], 'ipv6_mobility_1.pcap': [229, 16], 'babel_rtt.pcap': [101, 9],
    'nflog.pcap': [239, 4], 'quic_handshake_truncated.pcap': [0, 18], 'isis-infinite-loop.pcap': [113, 5],
  }
  for (const [name, [linktype, count]] of Object.entries(expected)) {
    const seen: Seen[] = []
    const stats = await readCapture(Readable.from([readFileSync(join(fixtures, 'tcpdump', name))]), (p) => seen.push(snap(p)))
    t.is(seen.length, count, name)
    t.true(seen.every((p) => p.linktype === linktype), name)
    t.is(stats.badRecords, 0, name)
  }
})

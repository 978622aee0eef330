import test from 'ava'
import { randomBytes } from 'node:crypto'
import { deflateSync } from 'node:zlib'
import {
  createBatchBuilder, decodeBatch, forEachRecord, MAX_BATCH_KIB, MAX_BATCH_MESSAGE, MAX_CAPLEN, MAX_INFLATE_RATIO, MAX_RECORDS_BYTES,
  peekSender, type WireRecord,
} from '../lib/wire/batch.js'
import { sanitize } from '../lib/util/sanitize.js'
import { createOnceLogger } from '../lib/util/stats.js'
import { assertTruncationsFailCleanly } from './helpers/codec.js'

const id = { host: 'gw1', sensorId: 'edge', source: 'nflog:0', linktype: 239, instance: 0xdeadbeef }

function collect(msg: Buffer): { info: ReturnType<typeof decodeBatch>['info']; recs: Array<Omit<WireRecord, 'data' | 'meta'> & { data: string; meta: string }> } {
  const batch = decodeBatch(msg)
  const recs: Array<Omit<WireRecord, 'data' | 'meta'> & { data: string; meta: string }> = []
  forEachRecord(batch, (r) => recs.push({ tsSec: r.tsSec, tsNsec: r.tsNsec, origLen: r.origLen, data: r.data.toString('hex'), meta: r.meta.toString('hex') }))
  return { info: batch.info, recs }
}

for (const compress of [false, true]) {
  test(`batch round trip (compressed: ${compress})`, (t) => {
    const b = createBatchBuilder(id)
    const pkt = Buffer.from('450000280001000040067ccd7f0000017f000001', 'hex')
    const meta = Buffer.from('0200000008000100080003000000', 'hex')
    b.append(1700000000, 123456789, 1500, pkt, 0, pkt.length, meta, 0, meta.length)
    b.append(1700000001, 5, 0, pkt, 4, 10)
    t.is(b.count, 2)
    const msg = b.finish(compress)
    t.is(b.count, 0)
    const { info, recs } = collect(msg)
    t.like(info, { version: 1, compressed: compress, linktype: 239, instance: 0xdeadbeef, seq: 0, count: 2, host: 'gw1', sensorId: 'edge', source: 'nflog:0', wireBytes: msg.length })
    t.deepEqual(recs, [
      { tsSec: 1700000000, tsNsec: 123456789, origLen: 1500, data: pkt.toString('hex'), meta: meta.toString('hex') },
      { tsSec: 1700000001, tsNsec: 5, origLen: 6, data: pkt.subarray(4, 10).toString('hex'), meta: '' },
    ])
    const next = b.finish(compress)
    next.writeUInt32BE(7, 12) // where the sending socket writes its sequence number
    t.is(decodeBatch(next).info.seq, 7)
    t.is(peekSender(msg), 'gw1/edge')
  })
}

test('every truncation of a batch is rejected with an EWIRE code', (t) => {
  const b = createBatchBuilder(id)
  const pkt = Buffer.alloc(60, 7)
  b.append(1, 2, 60, pkt, 0, 60)
  b.append(1, 2, 60, pkt, 0, 30)
  const msg = b.finish(false)
  assertTruncationsFailCleanly(t, msg, (m) => forEachRecord(decodeBatch(m), () => {}), 'EWIRE')
  const z = createBatchBuilder(id)
  z.append(1, 2, 60, pkt, 0, 60)
  assertTruncationsFailCleanly(t, z.finish(true), (m) => forEachRecord(decodeBatch(m), () => {}), 'EWIRE')
})

test('garbage, wrong version and bad counts are rejected with distinct codes', (t) => {
  t.throws(() => decodeBatch(Buffer.from('hello world, this is not a batch')), { code: 'EWIREMAGIC' })
  const b = createBatchBuilder(id)
  b.append(1, 2, 3, Buffer.alloc(10), 0, 10)
  const msg = b.finish(false)
  const v2 = Buffer.from(msg); v2[2] = 2
  t.throws(() => decodeBatch(v2), { code: 'EWIREVERSION', message: /unknown version 2/ })
  const many = Buffer.from(msg); many.writeUInt32BE(1000, 16)
  t.throws(() => decodeBatch(many), { code: 'EWIRECOUNT' })
  const hdr = Buffer.from(msg); hdr.writeUInt16BE(5, 6)
  t.throws(() => decodeBatch(hdr), { code: 'EWIREHEADER' })
  // Header says one record but the section holds two.
  const two = createBatchBuilder(id)
  two.append(1, 2, 3, Buffer.alloc(10), 0, 10)
  two.append(1, 2, 3, Buffer.alloc(10), 0, 10)
  const m2 = two.finish(false); m2.writeUInt32BE(1, 16)
  t.throws(() => forEachRecord(decodeBatch(m2), () => {}), { code: 'EWIRETRAIL' })
})

test('a zlib bomb is refused without inflating it', (t) => {
  const b = createBatchBuilder(id)
  b.append(1, 2, 3, Buffer.alloc(10), 0, 10)
  const msg = b.finish(true)
  const headerLen = msg.readUInt16BE(6)
  // 200 MiB of zeros deflates to ~200 KiB; the header claims the real small size.
  const bomb = deflateSync(Buffer.alloc(200 << 20))
  const evil = Buffer.concat([msg.subarray(0, headerLen), bomb])
  t.throws(() => decodeBatch(evil), { code: 'EWIREBOMB', message: /inflates past the declared 30 bytes/ })
  const claimsHuge = Buffer.from(evil); claimsHuge.writeUInt32BE(512 << 20, 20)
  t.throws(() => decodeBatch(claimsHuge), { code: 'EWIRESIZE' })
  // Within the size cap but past the ratio real records reach: refused on the header alone.
  const small = deflateSync(Buffer.alloc(16 << 20))
  const ratioBomb = Buffer.concat([msg.subarray(0, headerLen), small])
  ratioBomb.writeUInt32BE(16 << 20, 20)
  ratioBomb.writeUInt32BE(1, 16)
  t.true((16 << 20) / small.length > MAX_INFLATE_RATIO)
  t.throws(() => decodeBatch(ratioBomb), { code: 'EWIREBOMB', message: new RegExp(`${small.length} compressed bytes declare 16777216, beyond the 1:${MAX_INFLATE_RATIO}`) })
})

test('the inflate cap and the message size bound hold the largest batches a sender builds, compressed or not', (t) => {
  // A full --batch-size of the largest records, then the one record that did not fit: incompressible.
  const b = createBatchBuilder({ ...id, host: 'h'.repeat(255), sensorId: 's'.repeat(255), source: 'p'.repeat(255) }, MAX_BATCH_KIB * 1024)
  const pkt = randomBytes(MAX_CAPLEN)
  const meta = randomBytes(65535)
  while (b.fits(pkt.length + meta.length)) b.append(1, 2, pkt.length, pkt, 0, pkt.length, meta, 0, meta.length)
  b.append(1, 2, pkt.length, pkt, 0, pkt.length, meta, 0, meta.length)
  const bytes = b.bytes
  t.true(bytes > MAX_BATCH_KIB * 1024 && bytes <= MAX_RECORDS_BYTES)
  for (const compress of [false, true]) {
    const count = b.count
    if (compress) {
      // The builder was reset by finish(): fill it again the same way.
      while (b.fits(pkt.length + meta.length)) b.append(1, 2, pkt.length, pkt, 0, pkt.length, meta, 0, meta.length)
      b.append(1, 2, pkt.length, pkt, 0, pkt.length, meta, 0, meta.length)
    }
    const msg = b.finish(compress)
    t.true(msg.length <= MAX_BATCH_MESSAGE - 64, `${msg.length} bytes (compressed: ${compress})`) // 64: header extensions
    const batch = decodeBatch(msg)
    t.is(batch.records.length, bytes)
    t.true(count === 0 || batch.info.count === count)
  }
})

test('peer text is sanitized: controls, ESC sequences, DEL, C1, bidi and line separators, invalid UTF-8, backslashes; length bounded', (t) => {
  t.is(sanitize('gw1.example.org'), 'gw1.example.org')
  t.is(sanitize('a\nb\r\n\tc\0'), 'a\\x0ab\\x0d\\x0a\\x09c\\x00')
  t.is(sanitize('\u001b[2J\u001b]0;owned\u0007'), '\\x1b[2J\\x1b]0;owned\\x07')
  t.is(sanitize('del\u007f c1\u0085\u009b'), 'del\\x7f c1\\u0085\\u009b')
  t.is(sanitize('ab\u202ecd\u2028\u2066'), 'ab\\u202ecd\\u2028\\u2066')
  t.is(sanitize('back\\slash'), 'back\\\\slash')
  t.is(sanitize('h\u00e9llo \u{1f600}'), 'h\u00e9llo \u{1f600}')
  t.is(sanitize('lone \ud800'), 'lone \\ud800')
  // Bytes: valid UTF-8 decoded, anything else byte by byte.
  t.is(sanitize(Buffer.from('h\u00e9\n', 'utf8')), 'h\u00e9\\x0a')
  t.is(sanitize(Buffer.from([0x61, 0xff, 0xc0, 0xaf, 0xe2, 0x82, 0x62, 0xed, 0xa0, 0x80])), 'a\\xff\\xc0\\xaf\\xe2\\x82b\\xed\\xa0\\x80')
  t.is(sanitize(Buffer.from([0xc2, 0x85])), '\\u0085') // C1 in UTF-8
  const long = sanitize('x'.repeat(1000))
  t.is(long.length, 256)
  t.regex(long, /^x+\.\.\.\(\d+ more chars\)$/)
  // Cut between escapes, never inside one.
  const esc = sanitize('\n'.repeat(100), 50)
  t.true(esc.length <= 50)
  t.regex(esc, /^(\\x0a)+\.\.\.\(\d+ more chars\)$/)
  t.is(Number(/\((\d+) more/.exec(esc)![1]) + (esc.indexOf('...') / 4), 100)
})

test('a sender name from a header is shown sanitized, from its raw bytes', (t) => {
  const b = createBatchBuilder({ ...id, host: 'gw\n2019-01-01 pcap-zmq-recv: fake', sensorId: '\u001b[31m' })
  b.append(1, 2, 3, Buffer.alloc(10), 0, 10)
  const msg = b.finish(false)
  t.is(peekSender(msg), 'gw\\x0a2019-01-01 pcap-zmq-recv: fake/\\x1b[31m')
  msg[24 + 1] = 0xff // an invalid UTF-8 byte in the host name
  t.is(peekSender(msg), '\\xffw\\x0a2019-01-01 pcap-zmq-recv: fake/\\x1b[31m')
})

test('the once-per-kind logger keeps a bounded number of keys and then logs at most one line per interval', (t) => {
  const lines: string[] = []
  let now = 0
  const warn = createOnceLogger((m) => lines.push(m), 3, 10_000, () => now)
  for (let i = 0; i < 5; i++) warn(`k${i}`, `w${i}`)
  warn('k0', 'again')
  t.deepEqual(lines, ['w0', 'w1', 'w2', 'w3 (more than 3 distinct warnings: further ones at most every 10 s)'])
  let built = 0
  for (let i = 0; i < 200_000; i++) warn(`forged${i}`, () => { built += 1; return 'x' })
  t.is(lines.length, 4)
  t.is(built, 0) // messages are not even built while suppressed
  now = 10_000
  warn('late', 'real problem')
  t.is(lines[4], 'real problem (more than 3 distinct warnings: further ones at most every 10 s; 200001 left out since the last)')
})

import test from 'ava'
import { deflateSync } from 'node:zlib'
import { createBatchBuilder, decodeBatch, forEachRecord, peekSender, type WireRecord } from '../lib/wire/batch.js'
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
  t.throws(() => decodeBatch(evil), { code: 'EWIREZLIB' })
  const claimsHuge = Buffer.from(evil); claimsHuge.writeUInt32BE(512 << 20, 20)
  t.throws(() => decodeBatch(claimsHuge), { code: 'EWIRESIZE' })
})

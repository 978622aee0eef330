import test from 'ava'
import { createEncoder } from '../lib/pcap/encoder.js'
import { createCaptureReader, type CapturePacket } from '../lib/pcap/reader.js'
import { LINKTYPE } from '../lib/pcap/linktypes.js'
import { createBatchBuilder, decodeBatch } from '../lib/wire/batch.js'

const ipv4 = Buffer.from('4500001c0001000040117cce7f0000017f0000010035003500080000', 'hex')
const eth = (payload: Buffer, type = 0x0800) => Buffer.concat([Buffer.alloc(12, 0xaa), Buffer.from([type >> 8, type & 0xff]), payload])
const vlan = (payload: Buffer) => Buffer.concat([Buffer.alloc(12, 0xbb), Buffer.from('8100000a0800', 'hex'), payload])

function batch(linktype: number, pkts: Array<{ data: Buffer; meta?: Buffer }>, source = 'pcap:-', sensorId = 's1') {
  const b = createBatchBuilder({ host: 'h', sensorId, source, linktype, instance: 1 })
  for (const [i, p] of pkts.entries()) b.append(1700000000 + i, 123456789, p.data.length, p.data, 0, p.data.length, p.meta, 0, p.meta?.length ?? 0)
  return decodeBatch(b.finish(false))
}

function read(stream: Buffer): Array<Pick<CapturePacket, 'linktype' | 'iface' | 'tsSec' | 'tsNsec'> & { hex: string }> {
  const out: Array<Pick<CapturePacket, 'linktype' | 'iface' | 'tsSec' | 'tsNsec'> & { hex: string }> = []
  const r = createCaptureReader((p) => out.push({ linktype: p.linktype, iface: p.iface, tsSec: p.tsSec, tsNsec: p.tsNsec, hex: p.data.toString('hex') }))
  r.push(stream)
  r.end()
  return out
}

test('pcap, auto link type: NFLOG captures become RAW; Ethernet and VLAN frames are converted; ARP is skipped', (t) => {
  const enc = createEncoder({ format: 'pcap', application: 'test' })
  t.is(enc.preamble(), undefined)
  const meta = Buffer.from('02000007080001000800030000000000', 'hex')
  const a = enc.encode(batch(LINKTYPE.NFLOG, [{ data: ipv4, meta }], 'nflog:7'))
  const b = enc.encode(batch(LINKTYPE.ETHERNET, [{ data: eth(ipv4) }, { data: vlan(ipv4) }, { data: eth(Buffer.alloc(28), 0x0806) }]))
  t.like(a, { written: 1, skipped: 0 })
  t.like(b, { written: 2, skipped: 1, skippedLinktype: LINKTYPE.ETHERNET })
  const pkts = read(Buffer.concat([enc.preamble()!, a.chunk, b.chunk]))
  t.deepEqual(pkts.map((p) => [p.linktype, p.hex]), [[101, ipv4.toString('hex')], [101, ipv4.toString('hex')], [101, ipv4.toString('hex')]])
  t.is(pkts[0]!.tsNsec, 123456000) // pcap keeps microseconds
})

test('pcap --linktype nflog keeps the NFLOG metadata, and wraps plain IP packets in a minimal header', (t) => {
  const enc = createEncoder({ format: 'pcap', linktype: LINKTYPE.NFLOG, application: 'test' })
  const meta = Buffer.from('0200000708000a0070000000', 'hex')
  const a = enc.encode(batch(LINKTYPE.NFLOG, [{ data: ipv4, meta }], 'nflog:7'))
  const b = enc.encode(batch(LINKTYPE.RAW, [{ data: ipv4 }]))
  const pkts = read(Buffer.concat([enc.preamble()!, a.chunk, b.chunk]))
  t.is(pkts.length, 2)
  t.true(pkts.every((p) => p.linktype === LINKTYPE.NFLOG))
  const tlv = (n: number) => Buffer.from([(n + 4) & 0xff, (n + 4) >> 8, 9, 0]).toString('hex')
  t.is(pkts[0]!.hex, meta.toString('hex') + tlv(ipv4.length) + ipv4.toString('hex'))
  t.is(pkts[1]!.hex, '02000000' + tlv(ipv4.length) + ipv4.toString('hex'))
})

test('pcapng: one interface per sender, source and link type; nanosecond timestamps; IDBs re-sent in the preamble', (t) => {
  const enc = createEncoder({ format: 'pcapng', application: 'test' })
  const a = enc.encode(batch(LINKTYPE.ETHERNET, [{ data: eth(Buffer.alloc(28), 0x0806) }], 'pcap:-', 'east'))
  const b = enc.encode(batch(LINKTYPE.RAW, [{ data: ipv4 }], 'pcap:-', 'west'))
  const c = enc.encode(batch(LINKTYPE.ETHERNET, [{ data: eth(ipv4) }], 'pcap:-', 'east'))
  t.true(a.preface.length > 0)
  t.true(b.preface.length > 0)
  t.is(c.preface.length, 0)
  const live = read(Buffer.concat([enc.preamble()!.subarray(0, 0), createEncoder({ format: 'pcapng', application: 'x' }).preamble()!, a.preface, a.chunk, b.preface, b.chunk, c.chunk]))
  t.deepEqual(live.map((p) => [p.iface, p.linktype, p.tsNsec]), [[0, 1, 123456789], [1, 101, 123456789], [0, 1, 123456789]])
  // A new reader gets the section header and every interface again, then only packets.
  const again = read(Buffer.concat([enc.preamble()!, c.chunk]))
  t.deepEqual(again.map((p) => [p.iface, p.linktype]), [[0, 1]])
})

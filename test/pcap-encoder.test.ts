import test from 'ava'
import { createEncoder, MAX_INTERFACES } from '../lib/pcap/encoder.js'
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

test('pcapng: one link type for every interface, chosen as in pcap; one interface per sender and source', (t) => {
  const enc = createEncoder({ format: 'pcapng', application: 'test' })
  t.is(enc.linktype, undefined)
  const a = enc.encode(batch(LINKTYPE.ETHERNET, [{ data: eth(ipv4) }], 'pcap:-', 'west'))
  const b = enc.encode(batch(LINKTYPE.ETHERNET, [{ data: eth(Buffer.alloc(28), 0x0806) }], 'pcap:-', 'east'))
  const c = enc.encode(batch(LINKTYPE.RAW, [{ data: ipv4 }], 'pcap:-', 'south'))
  const d = enc.encode(batch(LINKTYPE.ETHERNET, [{ data: vlan(ipv4) }], 'pcap:-', 'west'))
  t.is(enc.linktype, LINKTYPE.ETHERNET)
  t.like(c, { written: 0, skipped: 1, skippedLinktype: LINKTYPE.RAW })
  // A sender whose every packet is skipped gets no interface.
  t.is(c.preface.length, 0)
  t.is(d.preface.length, 0)
  const pkts = read(Buffer.concat([enc.preamble()!, a.chunk, b.chunk, d.chunk]))
  t.deepEqual(pkts.map((p) => [p.iface, p.linktype]), [[0, 1], [1, 1], [0, 1]])
  // Every IDB a reader gets carries that one link type, as libpcap requires.
  t.is(idbLinktypes(enc.preamble()!).join(), '1,1')
})

test('pcapng RAW: conversions as in pcap, and one interface for every sender (libpcap refuses a second LINKTYPE_RAW IDB)', (t) => {
  const enc = createEncoder({ format: 'pcapng', application: 'test' })
  const meta = Buffer.from('02000007080001000800030000000000', 'hex')
  const a = enc.encode(batch(LINKTYPE.RAW, [{ data: ipv4 }], 'pcap:-', 'west'))
  const b = enc.encode(batch(LINKTYPE.ETHERNET, [{ data: eth(Buffer.alloc(28), 0x0806) }, { data: vlan(ipv4) }], 'pcap:-', 'east'))
  const c = enc.encode(batch(LINKTYPE.NFLOG, [{ data: ipv4, meta }], 'nflog:7', 'east'))
  t.is(enc.linktype, LINKTYPE.RAW)
  t.like(a, { written: 1, skipped: 0 })
  t.like(b, { written: 1, skipped: 1, skippedLinktype: LINKTYPE.ETHERNET })
  t.like(c, { written: 1, skipped: 0 })
  t.is(b.preface.length + c.preface.length, 0)
  const pkts = read(Buffer.concat([enc.preamble()!, a.chunk, b.chunk, c.chunk]))
  t.deepEqual(pkts.map((p) => [p.iface, p.linktype, p.hex]), [[0, 101, ipv4.toString('hex')], [0, 101, ipv4.toString('hex')], [0, 101, ipv4.toString('hex')]])
  t.is(idbLinktypes(enc.preamble()!).join(), '101')
  t.true(enc.preamble()!.includes(Buffer.from('all senders')))
})

test('pcapng --linktype nflog: every interface NFLOG; IP frames of other link types get a minimal header', (t) => {
  const enc = createEncoder({ format: 'pcapng', linktype: LINKTYPE.NFLOG, application: 'test' })
  t.is(enc.linktype, LINKTYPE.NFLOG)
  const a = enc.encode(batch(LINKTYPE.ETHERNET, [{ data: eth(ipv4) }, { data: eth(Buffer.alloc(28), 0x0806) }], 'pcap:-', 'east'))
  const b = enc.encode(batch(LINKTYPE.RAW, [{ data: ipv4 }], 'pcap:-', 'west'))
  t.like(a, { written: 1, skipped: 1 })
  const tlv = Buffer.from([(ipv4.length + 4) & 0xff, (ipv4.length + 4) >> 8, 9, 0]).toString('hex')
  const pkts = read(Buffer.concat([enc.preamble()!, a.chunk, b.chunk]))
  t.deepEqual(pkts.map((p) => [p.iface, p.linktype, p.hex]), [[0, 239, '02000000' + tlv + ipv4.toString('hex')], [1, 239, '02000000' + tlv + ipv4.toString('hex')]])
  t.is(idbLinktypes(enc.preamble()!).join(), '239,239')
})

test('pcapng mixedLinktypes: one interface per sender, source and link type; nanosecond timestamps; IDBs re-sent in the preamble', (t) => {
  const enc = createEncoder({ format: 'pcapng', mixedLinktypes: true, application: 'test' })
  const a = enc.encode(batch(LINKTYPE.ETHERNET, [{ data: eth(Buffer.alloc(28), 0x0806) }], 'pcap:-', 'east'))
  const b = enc.encode(batch(LINKTYPE.RAW, [{ data: ipv4 }], 'pcap:-', 'west'))
  const c = enc.encode(batch(LINKTYPE.ETHERNET, [{ data: eth(ipv4) }], 'pcap:-', 'east'))
  const d = enc.encode(batch(LINKTYPE.RAW, [{ data: ipv4 }], 'pcap:-', 'east'))
  t.is(enc.linktype, undefined)
  t.true(a.preface.length > 0)
  t.true(b.preface.length > 0)
  t.is(c.preface.length, 0)
  t.true(d.preface.length > 0)
  const live = read(Buffer.concat([createEncoder({ format: 'pcapng', application: 'x' }).preamble()!, a.preface, a.chunk, b.preface, b.chunk, c.chunk, d.preface, d.chunk]))
  t.deepEqual(live.map((p) => [p.iface, p.linktype, p.tsNsec]), [[0, 1, 123456789], [1, 101, 123456789], [0, 1, 123456789], [2, 101, 123456789]])
  // A new reader gets the section header and every interface again, then only packets.
  const again = read(Buffer.concat([enc.preamble()!, c.chunk]))
  t.deepEqual(again.map((p) => [p.iface, p.linktype]), [[0, 1]])
  t.is(idbLinktypes(enc.preamble()!).join(), '1,101,101')
})

test('the skip explanation names the options that keep the packets, and who can read the result', (t) => {
  const explain = (format: 'pcap' | 'pcapng', first: number, firstData: Buffer, skipped: number) => {
    const enc = createEncoder({ format, application: 'test' })
    enc.encode(batch(first, [{ data: firstData }]))
    return enc.explainSkip(skipped)
  }
  // Non-IP frames next to a RAW stream: only mixed link types keep them.
  t.is(explain('pcap', LINKTYPE.RAW, ipv4, LINKTYPE.ETHERNET), 'they carry no IP packet and this pcap stream has link type RAW and libpcap readers (tcpdump, Snort) take one per file; --format pcapng --mixed-linktypes keeps every link type, for tshark/Wireshark only')
  // IP-carrying frames next to an Ethernet stream: a RAW or NFLOG output keeps them for every reader.
  t.is(explain('pcapng', LINKTYPE.ETHERNET, eth(ipv4), LINKTYPE.RAW), 'this pcapng stream has link type ETHERNET and libpcap readers (tcpdump, Snort) take one per file; --linktype raw or --linktype nflog keeps their IP packets readable by every reader; --mixed-linktypes keeps every link type, for tshark/Wireshark only')
  t.is(explain('pcap', LINKTYPE.ETHERNET, eth(ipv4), 127), 'they cannot be converted and this pcap stream has link type ETHERNET and libpcap readers (tcpdump, Snort) take one per file; --format pcapng --mixed-linktypes keeps every link type, for tshark/Wireshark only')
})

test('auto link type: a batch of a link type the pipeline does not know, arriving first, is skipped and does not choose the stream', (t) => {
  for (const format of ['pcap', 'pcapng'] as const) {
    const enc = createEncoder({ format, application: 'test' })
    // LINKTYPE_USER0 (147): 59 bytes of it used to fix the stream and lock out every real packet.
    const odd = enc.encode(batch(147, [{ data: Buffer.alloc(59, 0x41) }], 'pcap:-', 'odd'))
    t.like(odd, { written: 0, skipped: 1, skippedLinktype: 147 }, format)
    t.is(enc.linktype, undefined, format)
    t.is(odd.preface.length, 0, format) // no interface for what was not written
    t.regex(enc.explainSkip(147), /^LINKTYPE_147 is not a link type this pipeline knows, so it does not choose the stream's .*--linktype 147 writes such packets$/)
    const meta = Buffer.from('02000007080001000800030000000000', 'hex')
    const real = enc.encode(batch(LINKTYPE.NFLOG, [{ data: ipv4, meta }, { data: ipv4, meta }], 'nflog:0', 'real'))
    t.like(real, { written: 2, skipped: 0 }, format)
    t.is(enc.linktype, LINKTYPE.RAW, format)
    // Once the stream is chosen, the odd type is skipped like any other it cannot take.
    t.like(enc.encode(batch(147, [{ data: Buffer.alloc(59, 0x41) }], 'pcap:-', 'odd')), { written: 0, skipped: 1 }, format)
    const pkts = read(Buffer.concat([enc.preamble()!, real.preface, real.chunk]))
    t.deepEqual(pkts.map((p) => [p.linktype, p.hex]), [[101, ipv4.toString('hex')], [101, ipv4.toString('hex')]], format)
  }
  // Said explicitly, any link type is written.
  const explicit = createEncoder({ format: 'pcap', linktype: 147, application: 'test' })
  t.like(explicit.encode(batch(147, [{ data: Buffer.alloc(59, 0x41) }])), { written: 1, skipped: 0 })
})

test('pcapng: interface names from peers are sanitized, and past MAX_INTERFACES senders share one "other senders" interface', (t) => {
  const enc = createEncoder({ format: 'pcapng', application: 'test' })
  const first = enc.encode(batch(LINKTYPE.ETHERNET, [{ data: eth(ipv4) }], 'pcap:\n\u001b[31mred', 'evil\r\nFAKE LINE'))
  const [named] = idbStrings(first.preface)
  t.deepEqual(named, { name: 'h/evil\\x0d\\x0aFAKE LINE:pcap:\\x0a\\x1b[31mred', description: 'pcap:\\x0a\\x1b[31mred on h/evil\\x0d\\x0aFAKE LINE, ETHERNET' })
  let prefaces = first.preface.length
  for (let i = 1; i < MAX_INTERFACES + 200; i++) prefaces += enc.encode(batch(LINKTYPE.ETHERNET, [{ data: eth(ipv4) }], 'pcap:-', `forged${i}`)).preface.length
  const pre = enc.preamble()!
  t.is(idbLinktypes(pre).length, MAX_INTERFACES + 1)
  t.is(prefaces, pre.length - createEncoder({ format: 'pcapng', application: 'test' }).preamble()!.length)
  t.true(pre.includes(Buffer.from('other senders')))
  // Packets of the later senders are all written, on that one interface.
  const late = enc.encode(batch(LINKTYPE.ETHERNET, [{ data: eth(ipv4) }], 'pcap:-', 'late'))
  t.like(late, { written: 1, skipped: 0 })
  t.is(late.preface.length, 0)
  t.deepEqual(read(Buffer.concat([pre, late.chunk])).map((p) => p.iface), [MAX_INTERFACES])
})

/** if_name and if_description of every Interface Description Block in a pcapng byte stream. */
function idbStrings(b: Buffer): Array<{ name: string; description: string }> {
  const out: Array<{ name: string; description: string }> = []
  for (let o = 0; o + 12 <= b.length; o += b.readUInt32LE(o + 4)) {
    if (b.readUInt32LE(o) !== 1) continue
    const e = { name: '', description: '' }
    for (let p = o + 16; p + 4 <= o + b.readUInt32LE(o + 4) - 4;) {
      const code = b.readUInt16LE(p)
      const len = b.readUInt16LE(p + 2)
      if (code === 0) break
      if (code === 2) e.name = b.toString('utf8', p + 4, p + 4 + len)
      if (code === 3) e.description = b.toString('utf8', p + 4, p + 4 + len)
      p += 4 + ((len + 3) & ~3)
    }
    out.push(e)
  }
  return out
}

/** The link type of every Interface Description Block in a pcapng byte stream. */
function idbLinktypes(b: Buffer): number[] {
  const out: number[] = []
  for (let o = 0; o + 12 <= b.length; o += b.readUInt32LE(o + 4)) {
    if (b.readUInt32LE(o) === 1) out.push(b.readUInt16LE(o + 8))
  }
  return out
}

test('encoding in place gives the same pcap records as a copy, and leaves a batch it cannot take untouched', (t) => {
  const meta = Buffer.from('02000007080001000800030000000000', 'hex')
  // Sizes around the byte-by-byte cut-off, an empty payload and MTU/jumbo packets.
  const sizes = [0, 1, 20, 63, 64, 65, 200, 1500, 8028, 65535]
  const pkts = sizes.map((n, i) => ({ data: Buffer.alloc(n, (i * 37) & 0xff), meta: i % 2 ? meta : Buffer.concat([meta, Buffer.alloc(40, 9)]) }))
  const copied = createEncoder({ format: 'pcap', linktype: LINKTYPE.RAW, application: 'test' })
  const inPlace = createEncoder({ format: 'pcap', linktype: LINKTYPE.RAW, application: 'test' })
  const want = copied.encode(batch(LINKTYPE.NFLOG, pkts, 'nflog:7'))
  const got = inPlace.encode(batch(LINKTYPE.NFLOG, pkts, 'nflog:7'), true)
  t.like(got, { written: sizes.length, bytes: want.bytes, skipped: 0 })
  t.true(got.chunk.equals(want.chunk))
  t.deepEqual(read(Buffer.concat([inPlace.preamble()!, got.chunk])).map((p) => p.hex.length / 2), sizes)

  // Ethernet frames into RAW need conversion: the general path runs on the unchanged records.
  const ethBatch = batch(LINKTYPE.ETHERNET, [{ data: eth(ipv4) }, { data: eth(ipv4) }])
  const before = Buffer.from(ethBatch.records)
  const conv = inPlace.encode(ethBatch, true)
  t.like(conv, { written: 2, skipped: 0 })
  t.true(ethBatch.records.equals(before))
  t.deepEqual(read(Buffer.concat([inPlace.preamble()!, conv.chunk])).map((p) => p.hex), [ipv4.toString('hex'), ipv4.toString('hex')])
})

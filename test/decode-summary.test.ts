import test from 'ava'
import { decodeSummary } from '../lib/decode/summary-decoder.js'
import { createSummary, type PacketSummary } from '../lib/decode/summary.js'
import { checksumOf, onesSum, pseudoSumV4, pseudoSumV6 } from '../lib/decode/checksum.js'
import {
  ethernet, fixL4Checksum, icmpEcho, ipv4, ipv6, ipv6Bytes, tcp, tcpV4Frame, udp, udpV4Frame,
} from './helpers/packet-builder.js'

function decode(linktype: number, data: Buffer, verify = true): PacketSummary {
  const s = createSummary()
  decodeSummary(linktype, data, s, verify)
  return s
}

const addr4 = (b: Buffer): string => [...b.subarray(0, 4)].join('.')

test('Ethernet/IPv4/TCP: addresses, ports, flags, seq, payload bounds, checksums good', (t) => {
  const f = tcpV4Frame(Buffer.from('hello'))
  const s = decode(1, f)
  t.is(s.error, '')
  t.is(s.ipVersion, 4)
  t.is(addr4(s.src), '192.0.2.1')
  t.is(addr4(s.dst), '198.51.100.2')
  t.is(s.protocol, 6)
  t.is(s.srcPort, 40000)
  t.is(s.dstPort, 5000)
  t.is(s.tcpFlags, 0x02)
  t.is(s.tcpSeq, 123456789)
  t.is(s.ipLength, f.length - 14)
  t.is(f.toString('latin1', s.payloadOffset, s.payloadOffset + s.payloadLength), 'hello')
  t.is(s.checksum, 1)
  t.is(s.vlan, -1)
  t.false(s.fragment)
  t.is(decode(1, f, false).checksum, 0)
})

test('bad TCP payload byte and bad IPv4 header byte are both reported as -1', (t) => {
  const a = tcpV4Frame()
  a[a.length - 1] ^= 0xff
  t.is(decode(1, a).checksum, -1)
  const b = tcpV4Frame()
  b[14 + 8] -= 1 // TTL changed without fixing the header checksum
  t.is(decode(1, b).checksum, -1)
})

test('Ethernet padding beyond the IP length is ignored by checksums and payload', (t) => {
  const f = Buffer.concat([udpV4Frame(Buffer.from('x')), Buffer.alloc(20)])
  const s = decode(1, f)
  t.is(s.checksum, 1)
  t.is(s.payloadLength, 1)
})

test('UDP zero checksum over IPv4 means not present; over IPv6 it is bad', (t) => {
  const f = ethernet(0x0800, ipv4(17, udp(1, 2, Buffer.from('abc'))))
  const s = decode(1, f)
  t.is(s.checksum, 1) // only the IPv4 header was checkable, and it is good
  t.is(s.srcPort, 1)
  const g = ethernet(0x86dd, ipv6(17, udp(1, 2, Buffer.from('abc'))))
  t.is(decode(1, g).checksum, -1)
  t.is(decode(1, fixL4Checksum(g, 14, 54, 17, 6)).checksum, 1)
})

test('ICMP and ICMPv6 echo: identifier in both ports, type/code, checksums', (t) => {
  const v4 = ethernet(0x0800, ipv4(1, icmpEcho(8, 0x4242, 7)))
  fixL4Checksum(v4, 14, 34, 1, 2, false)
  let s = decode(1, v4)
  t.like(s, { protocol: 1, icmpType: 8, icmpCode: 0, srcPort: 0x4242, dstPort: 0x4242, checksum: 1, error: '' })
  const v6 = fixL4Checksum(ethernet(0x86dd, ipv6(58, icmpEcho(129, 99, 1))), 14, 54, 58, 2)
  s = decode(1, v6)
  t.like(s, { ipVersion: 6, protocol: 58, icmpType: 129, srcPort: 99, dstPort: 99, checksum: 1, error: '' })
  v6[v6.length - 1] ^= 1
  t.is(decode(1, v6).checksum, -1)
  // Destination unreachable has no identifier.
  const un = ethernet(0x0800, ipv4(1, Buffer.from('0301000000000000', 'hex')))
  t.like(decode(1, un), { icmpType: 3, icmpCode: 1, srcPort: 0, dstPort: 0 })
})

test('IGMP checksum', (t) => {
  const m = Buffer.from('1600000 0e0000001'.replace(' ', ''), 'hex')
  m.writeUInt16BE(checksumOf(onesSum(m, 0, m.length, 0)), 2)
  const f = ethernet(0x0800, ipv4(2, m))
  t.like(decode(1, f), { protocol: 2, icmpType: 0x16, checksum: 1, error: '' })
  m[7] = 2
  t.is(decode(1, ethernet(0x0800, ipv4(2, m))).checksum, -1)
})

test('802.1Q and 802.1ad QinQ: innermost VLAN id, IP decoded behind the tags', (t) => {
  const inner = ipv4(17, udp(1000, 2000, Buffer.from('q')))
  let s = decode(1, ethernet(0x0800, inner, [[0x8100, 42]]))
  t.like(s, { vlan: 42, ipVersion: 4, srcPort: 1000, error: '' })
  s = decode(1, ethernet(0x0800, inner, [[0x88a8, 200], [0x8100, 0x2000 | 2001]]))
  t.like(s, { vlan: 2001, ipVersion: 4, dstPort: 2000, error: '' })
  const tags: Array<[number, number]> = Array.from({ length: 12 }, () => [0x8100, 1])
  t.is(decode(1, ethernet(0x0800, inner, tags)).error, 'vlan: too many tags')
})

test('non-IP frames (ARP) decode without error and without IP fields', (t) => {
  const arp = ethernet(0x0806, Buffer.alloc(28))
  t.like(decode(1, arp), { ipVersion: 0, protocol: -1, error: '', checksum: 0 })
})

test('IPv4 fragments: non-first has no ports; first with MF decodes ports but cannot verify', (t) => {
  const later = ethernet(0x0800, ipv4(6, Buffer.alloc(40), { frag: 0x2000 | 3 }))
  t.like(decode(1, later), { fragment: true, srcPort: 0, protocol: 6, error: '' })
  const first = ethernet(0x0800, ipv4(6, tcp(1, 2, 0x10), { frag: 0x2000 }))
  t.like(decode(1, first), { fragment: false, srcPort: 1, dstPort: 2, checksum: 0 })
})

test('IPv4 options are skipped by the header length', (t) => {
  const f = ethernet(0x0800, ipv4(17, udp(7, 9, Buffer.alloc(2)), { options: Buffer.from('94040000', 'hex') }))
  fixL4Checksum(f, 14, 38, 17, 6)
  t.like(decode(1, f), { srcPort: 7, dstPort: 9, checksum: 1, error: '' })
})

function extHeader(len8: number): Buffer { const b = Buffer.alloc((len8 + 1) * 8); b[1] = len8; return b }

test('IPv6 extension headers: hop-by-hop, destination options, routing, AH length rule', (t) => {
  const ah = Buffer.alloc(24); ah[1] = 4 // (4 + 2) * 4 = 24 bytes
  const pkt = ipv6(6, tcp(4444, 443, 0x18, { payload: Buffer.from('data') }), {
    exts: [[0, extHeader(0)], [60, extHeader(1)], [43, extHeader(0)], [51, ah]],
  })
  const s = decode(229, pkt)
  t.like(s, { ipVersion: 6, protocol: 6, srcPort: 4444, dstPort: 443, tcpFlags: 0x18, error: '' })
  t.is(s.src.subarray(0, 16).toString('hex'), ipv6Bytes('2001:db8::1').toString('hex'))
  t.is(pkt.toString('latin1', s.payloadOffset, s.payloadOffset + s.payloadLength), 'data')
})

test('IPv6 routing header with segments left: checksum over the final destination', (t) => {
  const rh = Buffer.alloc(24); rh[1] = 2; rh[2] = 2; rh[3] = 1
  const final = ipv6Bytes('2001:db8::99')
  final.copy(rh, 8)
  const pkt = ipv6(17, udp(1, 2, Buffer.from('abc')), { exts: [[43, rh]] })
  const l4 = 40 + 24
  const len = pkt.length - l4
  pkt.writeUInt16BE(checksumOf(onesSum(pkt, l4, pkt.length, pseudoSumV6(pkt, 8, 40 + 8, 17, len))), l4 + 6)
  t.like(decode(229, pkt), { checksum: 1, error: '' })
})

test('IPv6 header chains: too many headers and a header running past the end are errors, never hangs', (t) => {
  const many = ipv6(59, Buffer.alloc(0), { exts: Array.from({ length: 40 }, (): [number, Buffer] => [60, extHeader(0)]) })
  t.is(decode(229, many).error, 'ipv6: too many extension headers')
  const over = ipv6(6, Buffer.alloc(0), { exts: [[0, extHeader(0)]] })
  over[41] = 200 // hop-by-hop claims 1608 bytes
  t.is(decode(229, over).error, 'ipv6: extension header runs past the end')
  const frag = Buffer.alloc(8); frag.writeUInt16BE(185 << 3, 2)
  t.like(decode(229, ipv6(17, Buffer.alloc(16), { exts: [[44, frag]] })), { fragment: true, protocol: 17, srcPort: 0, error: '' })
  const first = Buffer.alloc(8); first.writeUInt16BE(1, 2)
  const firstUdp = udp(5, 6, Buffer.alloc(4)); firstUdp.writeUInt16BE(0x1234, 6)
  t.like(decode(229, ipv6(17, firstUdp, { exts: [[44, first]] })), { fragment: false, srcPort: 5, checksum: 0 })
})

const raw4 = (): Buffer => fixL4Checksum(ipv4(17, udp(53, 5353, Buffer.from('r'))), 0, 20, 17, 6)
const raw6 = (): Buffer => fixL4Checksum(ipv6(17, udp(53, 5353, Buffer.from('r'))), 0, 40, 17, 6)

test('link types: RAW (101/12/14), IPV4, IPV6, SLL, SLL2, NULL both byte orders, LOOP', (t) => {
  for (const lt of [101, 12, 14, 228]) t.like(decode(lt, raw4()), { ipVersion: 4, srcPort: 53, checksum: 1, error: '' }, `linktype ${lt}`)
  for (const lt of [101, 229]) t.like(decode(lt, raw6()), { ipVersion: 6, dstPort: 5353, checksum: 1, error: '' }, `linktype ${lt}`)
  const sll = Buffer.alloc(16); sll.writeUInt16BE(0x86dd, 14)
  t.like(decode(113, Buffer.concat([sll, raw6()])), { ipVersion: 6, srcPort: 53, error: '' })
  const sll2 = Buffer.alloc(20); sll2.writeUInt16BE(0x0800, 0)
  t.like(decode(276, Buffer.concat([sll2, raw4()])), { ipVersion: 4, srcPort: 53, error: '' })
  for (const af of [10, 24, 28, 30]) {
    const le = Buffer.alloc(4); le.writeUInt32LE(af)
    const be = Buffer.alloc(4); be.writeUInt32BE(af)
    t.like(decode(0, Buffer.concat([le, raw6()])), { ipVersion: 6, error: '' }, `NULL LE AF ${af}`)
    t.like(decode(0, Buffer.concat([be, raw6()])), { ipVersion: 6, error: '' }, `NULL BE AF ${af}`)
  }
  const loop = Buffer.alloc(4); loop.writeUInt32BE(2)
  t.like(decode(108, Buffer.concat([loop, raw4()])), { ipVersion: 4, error: '' })
  t.is(decode(108, Buffer.concat([Buffer.from('02000000', 'hex'), raw4()])).error, 'loop: unknown address family')
  t.is(decode(0, Buffer.concat([Buffer.from('07000000', 'hex'), raw4()])).error, 'null: unknown address family')
  t.is(decode(147, raw4()).error, 'link: unsupported link type')
})

/** An NFLOG record with a prefix TLV (odd length: padding matters) then the payload TLV. */
function nflogRecord(family: number, payload: Buffer, little: boolean): Buffer {
  const tlv = (type: number, v: Buffer): Buffer => {
    const b = Buffer.alloc((4 + v.length + 3) & ~3)
    if (little) { b.writeUInt16LE(4 + v.length); b.writeUInt16LE(type, 2) } else { b.writeUInt16BE(4 + v.length); b.writeUInt16BE(type, 2) }
    v.copy(b, 4)
    return b
  }
  return Buffer.concat([Buffer.from([family, 0, 0, 1]), tlv(10, Buffer.from('drop\0')), tlv(9, payload)])
}

test('NFLOG: TLVs in either byte order, payload found after padding, family from the header', (t) => {
  t.like(decode(239, nflogRecord(2, raw4(), true)), { ipVersion: 4, srcPort: 53, checksum: 1, error: '' })
  t.like(decode(239, nflogRecord(10, raw6(), false)), { ipVersion: 6, dstPort: 5353, checksum: 1, error: '' })
  // Over 2 KiB the first TLV's length fits either byte order: the type decides.
  const big = fixL4Checksum(ipv4(17, udp(53, 5353, Buffer.alloc(3000))), 0, 20, 17, 6)
  t.like(decode(239, nflogRecord(2, big, false)), { ipVersion: 4, srcPort: 53, checksum: 1, error: '' })
  t.like(decode(239, nflogRecord(2, big, true)), { ipVersion: 4, srcPort: 53, checksum: 1, error: '' })
  const noPayload = nflogRecord(2, raw4(), true).subarray(0, 16)
  t.is(decode(239, noPayload).error, 'nflog: no payload')
  const badLen = nflogRecord(2, raw4(), true); badLen.writeUInt16LE(2, 4); badLen.writeUInt16BE(2, 4)
  t.regex(decode(239, badLen).error, /^nflog: /)
})

/** Frames whose every prefix is decoded: cuts inside headers must say where; cuts in the payload must not. */
const TRUNCATION_CASES: Array<[string, number, () => Buffer, number, number?]> = [
  ['ethernet/ipv4/tcp', 1, () => tcpV4Frame(Buffer.from('hello')), 14 + 20 + 40],
  ['ethernet/ipv4/udp', 1, () => udpV4Frame(Buffer.from('hello')), 14 + 20 + 8],
  ['qinq/ipv4/udp', 1, () => ethernet(0x0800, raw4(), [[0x88a8, 1], [0x8100, 2]]), 22 + 20 + 8],
  ['ipv6 ext/tcp', 229, () => ipv6(6, tcp(1, 2, 0x12, { payload: Buffer.from('zz') }), { exts: [[0, extHeader(0)], [60, extHeader(1)]] }), 40 + 8 + 16 + 20],
  ['sll2/ipv6/icmpv6', 276, () => { const h = Buffer.alloc(20); h.writeUInt16BE(0x86dd); return Buffer.concat([h, ipv6(58, icmpEcho(128, 1, 1))]) }, 20 + 40 + 8],
  // NFLOG states the captured payload's length in its TLV: any cut inside the record is an error.
  // (The last 3 bytes are TLV padding: cutting them loses nothing.)
  ['nflog/ipv4/udp', 239, () => nflogRecord(2, raw4(), true), 4 + 12 + 4 + 29, 3],
]

for (const [name, lt, make, headerBytes, padding = 0] of TRUNCATION_CASES) {
  test(`truncation at every offset never throws and reports where it stopped: ${name}`, (t) => {
    const full = make()
    const s = createSummary()
    for (let n = 0; n < full.length; n++) {
      const cut = Buffer.from(full.subarray(0, n))
      t.notThrows(() => decodeSummary(lt, cut, s, true))
      if (n < headerBytes) t.not(s.error, '', `${n} bytes should report an error`)
      else {
        t.is(s.error, '', `${n} bytes covers every header`)
        t.is(s.checksum, n < full.length - padding ? 0 : 1, `${n} bytes: checksum status`)
      }
    }
    decodeSummary(lt, full, s, true)
    t.is(s.error, '')
  })
}

test('garbage never throws and always leaves a consistent summary', (t) => {
  let seed = 12345
  const rnd = (): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed }
  const s = createSummary()
  for (let i = 0; i < 3000; i++) {
    const b = Buffer.alloc(rnd() % 120)
    for (let j = 0; j < b.length; j++) b[j] = rnd() & 0xff
    if (b.length > 14 && i % 2) { b[12] = 0x08; b[13] = 0; b[14] = 0x45 }
    for (const lt of [0, 1, 101, 113, 239, 276]) decodeSummary(lt, b, s, true)
    t.true(s.error === '' || (/^[a-z0-9]+: /.test(s.error) && !s.error.startsWith('decode:')), s.error)
  }
})

/** DCCP-Request (12-byte generic header + 4-byte service code) with CsCov = cscov. */
function dccp(cscov: number): Buffer {
  const d = Buffer.alloc(16 + 8)
  d.writeUInt16BE(39420); d.writeUInt16BE(5001, 2); d[4] = 4; d[5] = cscov; d[8] = 0 << 1
  return d
}

test('SCTP, DCCP and UDP-Lite give their ports; DCCP and UDP-Lite checksums honour their coverage', (t) => {
  const sctp = Buffer.alloc(16); sctp.writeUInt16BE(36412); sctp.writeUInt16BE(2905, 2)
  t.like(decode(228, ipv4(132, sctp)), { protocol: 132, srcPort: 36412, dstPort: 2905, checksum: 0, error: '' })
  const full = fixL4Checksum(ipv4(33, dccp(0)), 0, 20, 33, 6)
  t.like(decode(228, full), { protocol: 33, srcPort: 39420, dstPort: 5001, checksum: 1, payloadOffset: 36, error: '' })
  full[full.length - 1] ^= 1
  t.is(decode(228, full).checksum, -1)
  // CsCov 1: header only; the data may change without breaking the checksum.
  const part = ipv4(33, dccp(1))
  part.writeUInt16BE(0, 26)
  part.writeUInt16BE(checksumOf(onesSum(part, 20, 36, pseudoSumV4(part, 12, 16, 33, 24))), 26)
  t.is(decode(228, part).checksum, 1)
  part[part.length - 1] ^= 1
  t.is(decode(228, part).checksum, 1)
  const lite = Buffer.concat([Buffer.alloc(8), Buffer.from('payload')])
  lite.writeUInt16BE(1); lite.writeUInt16BE(2, 2); lite.writeUInt16BE(8, 4)
  const pkt = ipv6(136, lite)
  pkt.writeUInt16BE(checksumOf(onesSum(pkt, 40, 48, pseudoSumV6(pkt, 8, 24, 136, lite.length))), 46)
  t.like(decode(229, pkt), { protocol: 136, srcPort: 1, dstPort: 2, checksum: 1, error: '' })
  pkt.writeUInt16BE(3, 44)
  t.is(decode(229, pkt).error, 'udplite: bad checksum coverage')
  t.is(decode(228, ipv4(33, dccp(0).subarray(0, 10))).error, 'dccp: truncated header')
})

test('MPLS label stacks and PPPoE sessions lead to IP; bounded and truncation-checked', (t) => {
  const labels = (n: number): Buffer => {
    const b = Buffer.alloc(4 * n)
    for (let i = 0; i < n; i++) b.writeUInt32BE(((100 + i) << 12) | (i === n - 1 ? 0x100 : 0) | 64, 4 * i)
    return b
  }
  t.like(decode(1, ethernet(0x8847, Buffer.concat([labels(2), raw4()]))), { ipVersion: 4, srcPort: 53, checksum: 1, error: '' })
  t.like(decode(1, ethernet(0x8847, Buffer.concat([labels(1), raw6()]))), { ipVersion: 6, dstPort: 5353, error: '' })
  t.like(decode(1, ethernet(0x8847, Buffer.concat([labels(1), Buffer.alloc(20)]))), { ipVersion: 0, error: '' }) // pseudowire
  t.is(decode(1, ethernet(0x8847, labels(12))).error, 'mpls: too many labels')
  t.is(decode(1, ethernet(0x8847, labels(2).subarray(0, 6))).error, 'mpls: truncated label')
  const pppoe = (proto: number, ip: Buffer): Buffer => {
    const h = Buffer.from('11000017000000', 'hex'); const b = Buffer.concat([h, Buffer.alloc(1), ip])
    b.writeUInt16BE(ip.length + 2, 4); b.writeUInt16BE(proto, 6); return b
  }
  t.like(decode(1, ethernet(0x8864, pppoe(0x0021, raw4()))), { ipVersion: 4, srcPort: 53, checksum: 1, error: '' })
  t.like(decode(1, ethernet(0x8864, pppoe(0x0057, raw6()))), { ipVersion: 6, srcPort: 53, error: '' })
  t.like(decode(1, ethernet(0x8864, pppoe(0xc021, Buffer.alloc(10)))), { ipVersion: 0, error: '' }) // LCP
  t.is(decode(1, ethernet(0x8864, Buffer.alloc(5))).error, 'pppoe: truncated header')
})

test('segmentation offload (IPv4 total length 0) and IPv6 jumbograms', (t) => {
  const tso = ethernet(0x0800, ipv4(6, tcp(33000, 443, 0x18, { payload: Buffer.alloc(3000) })))
  tso.writeUInt16BE(0, 14 + 2)
  t.like(decode(1, tso), { ipVersion: 4, srcPort: 33000, dstPort: 443, checksum: 0, payloadLength: 3000, error: '' })
  const hbh = Buffer.from('0000c20400000000', 'hex')
  const jumbo = ipv6(58, icmpEcho(128, 9, 1, Buffer.alloc(100)), { exts: [[0, hbh]] })
  fixL4Checksum(jumbo, 0, 48, 58, 2)
  jumbo.writeUInt32BE(jumbo.length - 40, 44) // the Jumbo Payload option carries the length...
  jumbo.writeUInt16BE(0, 4) // ...and the header's payload length is 0
  t.like(decode(229, jumbo), { protocol: 58, srcPort: 9, checksum: 1, error: '' })
  jumbo[jumbo.length - 1] ^= 1
  t.is(decode(229, jumbo).checksum, -1)
  jumbo.writeUInt32BE(0, 40 + 2) // no Jumbo Payload option: captured length, not verifiable
  t.like(decode(229, jumbo), { protocol: 58, srcPort: 9, checksum: 0 })
})

/** An integrity-only MACsec frame: SecTAG (with SCI when `sci`), protected EtherType + payload, ICV. */
function macsecFrame(payload: Buffer, opts: { sci?: boolean; short?: boolean; tci?: number } = {}): Buffer {
  const tag = Buffer.alloc(opts.sci ? 14 : 6)
  tag[0] = (opts.tci ?? 0) | (opts.sci ? 0x20 : 0)
  if (opts.short) tag[1] = payload.length + 2
  tag.writeUInt32BE(66, 2)
  const inner = Buffer.concat([Buffer.from('0800', 'hex'), payload])
  return ethernet(0x88e5, Buffer.concat([tag, inner, Buffer.alloc(16, 0xee)]))
}

test('MACsec: integrity-only frames decode through the SecTAG; encrypted ones stop without error', (t) => {
  t.like(decode(1, macsecFrame(raw4(), { sci: true })), { ipVersion: 4, srcPort: 53, checksum: 1, error: '' })
  t.like(decode(1, macsecFrame(raw4(), { short: true })), { ipVersion: 4, srcPort: 53, checksum: 1, error: '' })
  // Short length bounds the data: bytes after the ICV (padding) are not part of the packet.
  t.like(decode(1, Buffer.concat([macsecFrame(raw4(), { short: true }), Buffer.alloc(9)])), { checksum: 1, error: '' })
  t.like(decode(1, macsecFrame(raw4(), { tci: 0x0c })), { ipVersion: 0, error: '' })
  t.is(decode(1, macsecFrame(raw4(), { short: true }).subarray(0, 50)).error, 'macsec: truncated secure data')
  t.is(decode(1, macsecFrame(raw4()).subarray(0, 18)).error, 'macsec: truncated SecTAG')
})

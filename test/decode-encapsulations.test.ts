import test from 'ava'
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { decodePacket } from '../lib/decode/packet.js'
import { decodeSummary } from '../lib/decode/summary-decoder.js'
import { createSummary } from '../lib/decode/summary.js'
import { hasCommand, runTool, tempDir } from './helpers/env.js'
import { fixL4Checksum, ipv4, ipv6, tcp, udp } from './helpers/packet-builder.js'

// The encapsulations flow meters must see through, each wrapped around the same TCP connection and
// UDP exchange, IPv4 and IPv6, inside and outside 802.1Q tags; compared with tshark on the same file.
const MAC_A = Buffer.from('020000000001', 'hex')
const MAC_B = Buffer.from('020000000002', 'hex')
const u16 = (v: number) => Buffer.from([v >> 8, v & 0xff])
const tag = {
  vlan: (id: number) => ({ type: 0x8100, body: u16(id) }),
  qinq: (id: number) => ({ type: 0x88a8, body: u16(id) }),
  // D=1, P=0, DVIF 0x123, L=0, VER 0, SVIF 0x045
  vntag: () => ({ type: 0x8926, body: Buffer.from([0x81, 0x23, 0x00, 0x45]) }),
  // I-TAG: priority 3, I-SID 0x00abcd, then the customer addresses
  pbb: () => ({ type: 0x88e7, body: Buffer.concat([Buffer.from([0x60, 0x00, 0xab, 0xcd]), MAC_B, MAC_A]) }),
  // FabricPath: FTag 1, TTL 32, then the original frame's addresses
  fabricpath: () => ({ type: 0x8903, body: Buffer.concat([u16((1 << 6) | 32), MAC_B, MAC_A]) }),
}
type Tag = { type: number; body: Buffer }

/** Outer MACs, then each tag's EtherType and body, then the IP EtherType and packet. */
function frame(tags: Tag[], ip: Buffer): Buffer {
  const parts: Buffer[] = [MAC_B, MAC_A]
  for (const t of tags) parts.push(u16(t.type), t.body)
  parts.push(u16(ip[0]! >> 4 === 6 ? 0x86dd : 0x0800), ip)
  return Buffer.concat(parts)
}

/** FDDI: frame control (LLC asynchronous), addresses, 802.2 SNAP with the IP EtherType. */
function fddiFrame(ip: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x50]), MAC_B, MAC_A, Buffer.from('aaaa03000000', 'hex'), u16(ip[0]! >> 4 === 6 ? 0x86dd : 0x0800), ip])
}

function flows(v6: boolean): Buffer[] {
  const [a, b] = v6 ? ['2001:db8::1', '2001:db8::2'] : ['10.9.0.1', '10.9.0.2']
  const ip = (proto: number, l4: Buffer, rev = false) => {
    const o = rev ? { src: b, dst: a } : { src: a, dst: b }
    const pkt = v6 ? ipv6(proto, l4, o) : ipv4(proto, l4, o)
    const l4Off = v6 ? 40 : 20
    return proto === 6 ? fixL4Checksum(pkt, 0, l4Off, 6, 16) : fixL4Checksum(pkt, 0, l4Off, 17, 6)
  }
  return [
    ip(6, tcp(41000, 80, 0x02, { seq: 100 })),
    ip(6, tcp(80, 41000, 0x12, { seq: 500, ack: 101 }), true),
    ip(6, tcp(41000, 80, 0x10, { seq: 101, ack: 501 })),
    ip(6, tcp(41000, 80, 0x18, { seq: 101, ack: 501, payload: Buffer.from('GET / HTTP/1.1\r\nHost: encap.example\r\n\r\n') })),
    ip(6, tcp(41000, 80, 0x11, { seq: 140, ack: 501 })),
    ip(6, tcp(80, 41000, 0x11, { seq: 501, ack: 141 }), true),
    ip(6, tcp(41000, 80, 0x10, { seq: 141, ack: 502 })),
    ip(17, udp(52000, 53, Buffer.from('query'))),
    ip(17, udp(53, 52000, Buffer.from('answer!')), true),
  ]
}

function pcap(linktype: number, frames: Buffer[]): Buffer {
  const h = Buffer.alloc(24)
  h.writeUInt32LE(0xa1b2c3d4, 0); h.writeUInt16LE(2, 4); h.writeUInt16LE(4, 6); h.writeUInt32LE(65535, 16); h.writeUInt32LE(linktype, 20)
  return Buffer.concat([h, ...frames.map((f, i) => {
    const r = Buffer.alloc(16)
    r.writeUInt32LE(1_700_000_000, 0); r.writeUInt32LE(i * 1000, 4); r.writeUInt32LE(f.length, 8); r.writeUInt32LE(f.length, 12)
    return Buffer.concat([r, f])
  })])
}

const CASES: Array<{ name: string; linktype: number; wrap: (ip: Buffer) => Buffer; layers: string[]; tshark?: string[] }> = [
  { name: 'VN-Tag', linktype: 1, wrap: (ip) => frame([tag.vntag()], ip), layers: ['Ethernet', 'VN_Tag'] },
  { name: 'VN-Tag inside an 802.1Q tag', linktype: 1, wrap: (ip) => frame([tag.vlan(10), tag.vntag()], ip), layers: ['Ethernet', 'IEEE_802_1Q', 'VN_Tag'] },
  { name: 'an 802.1Q tag inside VN-Tag', linktype: 1, wrap: (ip) => frame([tag.vntag(), tag.vlan(20)], ip), layers: ['Ethernet', 'VN_Tag', 'IEEE_802_1Q'] },
  { name: '802.1ah PBB with a B-TAG and a customer tag', linktype: 1, wrap: (ip) => frame([tag.qinq(100), tag.pbb(), tag.vlan(30)], ip), layers: ['Ethernet', 'IEEE_802_1ad', 'IEEE_802_1ah', 'IEEE_802_1Q'] },
  { name: '802.1ah PBB', linktype: 1, wrap: (ip) => frame([tag.pbb()], ip), layers: ['Ethernet', 'IEEE_802_1ah'] },
  // tshark finds FabricPath with a heuristic dissector on Ethernet, on by default.
  { name: 'Cisco FabricPath', linktype: 1, wrap: (ip) => frame([tag.fabricpath()], ip), layers: ['Ethernet', 'Cisco_FabricPath'] },
  { name: 'Cisco FabricPath carrying an 802.1Q tag', linktype: 1, wrap: (ip) => frame([tag.fabricpath(), tag.vlan(40)], ip), layers: ['Ethernet', 'Cisco_FabricPath', 'IEEE_802_1Q'] },
  { name: 'FDDI', linktype: 10, wrap: fddiFrame, layers: ['FDDI', 'LLC'] },
]

const haveTshark = hasCommand('tshark')

/** tshark's view of each frame: addresses, ports and the IP length, one line per frame. */
function tsharkFields(file: string, extra: string[] = []): string[] {
  const r = spawnSync('tshark', [...extra, '-n', '-r', file, '-T', 'fields', '-E', 'separator=,',
    '-e', 'ip.src', '-e', 'ipv6.src', '-e', 'ip.dst', '-e', 'ipv6.dst', '-e', 'tcp.srcport', '-e', 'udp.srcport', '-e', 'tcp.dstport', '-e', 'udp.dstport'], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(r.stderr)
  return r.stdout.trim().split('\n').map((l) => l.split(',').filter((x) => x !== '').join(' '))
}

for (const c of CASES) {
  test(`${c.name}: the summary and packet decoders see the IP packets inside, as tshark does, and track makes the same sessions`, (t) => {
    if (!haveTshark) { t.pass('tshark is not installed (Debian: tshark); skipped'); return }
    const { dir, cleanup } = tempDir('pzp-encap-')
    t.teardown(cleanup)
    for (const v6 of [false, true]) {
      const frames = flows(v6).map(c.wrap)
      const file = join(dir, `${v6 ? 'v6' : 'v4'}.pcap`)
      writeFileSync(file, pcap(c.linktype, frames))
      const theirs = tsharkFields(file, c.tshark)
      const s = createSummary()
      const ours = frames.map((f) => {
        decodeSummary(c.linktype, f, s, true)
        t.is(s.error, '', `${c.name}: ${s.error}`)
        t.is(s.checksum, 1, 'checksums verify at the offsets found')
        const ip = (a: Uint8Array) => (v6 ? ipv6Text(a) : [...a.subarray(0, 4)].join('.'))
        return `${ip(s.src)} ${ip(s.dst)} ${s.srcPort} ${s.dstPort}`
      })
      t.deepEqual(ours, theirs, `${c.name} ${v6 ? 'IPv6' : 'IPv4'}`)
      const tree = decodePacket(c.linktype, frames[3]!)
      t.deepEqual(Object.keys(tree).filter((k) => k !== 'error').slice(0, c.layers.length), c.layers)
      t.truthy(tree.TCP)
      t.is(tree.error, undefined)

      const r = runTool('track', ['-'], pcap(c.linktype, frames))
      t.is(r.status, 0, r.stderr)
      const events = r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l) as { protocol_name: string; state: string; orig_packets: number; reply_packets: number; payload: unknown })
      const last = (proto: string) => events.filter((e) => e.protocol_name === proto).pop()!
      // At eof the least recently seen session goes first: the TCP one, still in TIME_WAIT.
      t.deepEqual(events.map((e) => `${e.protocol_name} ${e.state}`), ['TCP NEW', 'TCP ESTABLISHED', 'TCP CLOSE', 'UDP NEW', 'UDP REPLIED', 'TCP DESTROY', 'UDP EXPIRED'])
      t.like(last('TCP'), { orig_packets: 5, reply_packets: 2, payload: { host: 'encap.example' } })
      t.like(last('UDP'), { orig_packets: 1, reply_packets: 1 })
    }
  })
}

function ipv6Text(a: Uint8Array): string {
  const words: string[] = []
  for (let i = 0; i < 16; i += 2) words.push(((a[i]! << 8) | a[i + 1]!).toString(16))
  return words.join(':').replace(/(^|:)0(:0)+(:|$)/, '::').replace(/:{3,}/, '::')
}

test('a frame cut inside each encapsulation stops with the layer named, never a crash', (t) => {
  const ip = flows(false)[0]!
  const s = createSummary()
  for (const c of CASES) {
    const f = c.wrap(ip)
    for (let n = 0; n < f.length - ip.length; n++) {
      decodeSummary(c.linktype, f.subarray(0, n), s, false)
      // Cut before its EtherType or LLC header a frame simply has no network layer; after, it is an error.
      t.true(s.error !== '' || s.ipVersion === 0, `${c.name} cut at ${n}`)
      const tree = decodePacket(c.linktype, f.subarray(0, n))
      t.true(tree.error !== undefined || tree.IPv4 === undefined, `${c.name} cut at ${n}: the tree says where it stopped`)
    }
  }
})

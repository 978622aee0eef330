/**
 * Hand-built frames for decoder tests: each builder returns a fresh Buffer with correct lengths and
 * checksums, so a test can corrupt or cut exactly one thing.
 */
import { checksumOf, onesSum, pseudoSumV4, pseudoSumV6 } from '../../lib/decode/checksum.js'

export function ipv4Bytes(s: string): Buffer { return Buffer.from(s.split('.').map(Number)) }

export function ipv6Bytes(s: string): Buffer {
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined]
  const h = head ? head.split(':') : []
  const t = tail ? tail.split(':') : []
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t]
  const b = Buffer.alloc(16)
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), 2 * i))
  return b
}

export function ethernet(type: number, payload: Buffer, vlans: Array<[number, number]> = []): Buffer {
  const hdr = Buffer.from('0200000000020200000000010000', 'hex')
  // Each tag is TCI then the EtherType of what follows it; the frame's type field holds the first TPID.
  const tags = vlans.map(([, tci]) => { const b = Buffer.alloc(4); b.writeUInt16BE(tci); return b })
  const types = [...vlans.map(([tpid]) => tpid), type]
  hdr.writeUInt16BE(types[0], 12)
  tags.forEach((t, i) => t.writeUInt16BE(types[i + 1], 2))
  return Buffer.concat([hdr, ...tags, payload])
}

export function ipv4(proto: number, payload: Buffer, opts: { src?: string; dst?: string; options?: Buffer; frag?: number; ttl?: number } = {}): Buffer {
  const optLen = opts.options?.length ?? 0
  const h = Buffer.alloc(20 + optLen)
  h[0] = 0x40 | ((20 + optLen) / 4)
  h.writeUInt16BE(h.length + payload.length, 2)
  h.writeUInt16BE(0x1234, 4)
  h.writeUInt16BE(opts.frag ?? 0x4000, 6)
  h[8] = opts.ttl ?? 64
  h[9] = proto
  ipv4Bytes(opts.src ?? '192.0.2.1').copy(h, 12)
  ipv4Bytes(opts.dst ?? '198.51.100.2').copy(h, 16)
  opts.options?.copy(h, 20)
  h.writeUInt16BE(checksumOf(onesSum(h, 0, h.length, 0)), 10)
  return Buffer.concat([h, payload])
}

/** An IPv6 header; `exts` are [type, bytes] extension headers chained in order before the upper layer `proto`. */
export function ipv6(proto: number, payload: Buffer, opts: { src?: string; dst?: string; exts?: Array<[number, Buffer]> } = {}): Buffer {
  const exts = opts.exts ?? []
  const chain = exts.map(([, b], i) => { const c = Buffer.from(b); c[0] = i + 1 < exts.length ? exts[i + 1][0] : proto; return c })
  const body = Buffer.concat([...chain, payload])
  const h = Buffer.alloc(40)
  h.writeUInt32BE(0x60000000)
  h.writeUInt16BE(body.length, 4)
  h[6] = exts.length ? exts[0][0] : proto
  h[7] = 64
  ipv6Bytes(opts.src ?? '2001:db8::1').copy(h, 8)
  ipv6Bytes(opts.dst ?? '2001:db8::2').copy(h, 24)
  return Buffer.concat([h, body])
}

/** Fills in the upper-layer checksum of a finished IPv4/IPv6 packet at `ipOff` (transport after `l4Off`). */
export function fixL4Checksum(pkt: Buffer, ipOff: number, l4Off: number, proto: number, field: number, pseudo = true): Buffer {
  pkt.writeUInt16BE(0, l4Off + field)
  const v6 = pkt[ipOff] >> 4 === 6
  const len = v6 ? ipOff + 40 + pkt.readUInt16BE(ipOff + 4) - l4Off : ipOff + pkt.readUInt16BE(ipOff + 2) - l4Off
  let acc = 0
  if (pseudo) acc = v6 ? pseudoSumV6(pkt, ipOff + 8, ipOff + 24, proto, len) : pseudoSumV4(pkt, ipOff + 12, ipOff + 16, proto, len)
  pkt.writeUInt16BE(checksumOf(onesSum(pkt, l4Off, l4Off + len, acc)), l4Off + field)
  return pkt
}

export function tcp(sport: number, dport: number, flags: number, opts: { options?: Buffer; payload?: Buffer; seq?: number; ack?: number } = {}): Buffer {
  const optLen = opts.options?.length ?? 0
  const h = Buffer.alloc(20 + optLen)
  h.writeUInt16BE(sport); h.writeUInt16BE(dport, 2)
  h.writeUInt32BE(opts.seq ?? 1000, 4); h.writeUInt32BE(opts.ack ?? 0, 8)
  h[12] = ((20 + optLen) / 4) << 4
  h[13] = flags
  h.writeUInt16BE(65535, 14)
  opts.options?.copy(h, 20)
  return Buffer.concat([h, opts.payload ?? Buffer.alloc(0)])
}

export function udp(sport: number, dport: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8)
  h.writeUInt16BE(sport); h.writeUInt16BE(dport, 2); h.writeUInt16BE(8 + payload.length, 4)
  return Buffer.concat([h, payload])
}

export function icmpEcho(type: number, id: number, seq: number, payload = Buffer.from('ping')): Buffer {
  const h = Buffer.alloc(8)
  h[0] = type; h.writeUInt16BE(id, 4); h.writeUInt16BE(seq, 6)
  return Buffer.concat([h, payload])
}

/** Ethernet + IPv4 + TCP (SYN with MSS, SACK-permitted, timestamps, window scale), all checksums right. */
export function tcpV4Frame(payload = Buffer.from('hello')): Buffer {
  const options = Buffer.from('020405b4' + '0402' + '080a0000000100000000' + '01' + '030307', 'hex')
  const frame = ethernet(0x0800, ipv4(6, tcp(40000, 5000, 0x02, { options, payload, seq: 123456789 })))
  return fixL4Checksum(frame, 14, 34, 6, 16)
}

export function udpV4Frame(payload = Buffer.from('dns?')): Buffer {
  return fixL4Checksum(ethernet(0x0800, ipv4(17, udp(5353, 53, payload))), 14, 34, 17, 6)
}

import { isIPv4 } from 'node:net'
import { parseIp } from '../../lib/filter/cidr.js'

/** Builds Ethernet frames for session tests: IPv4/IPv6 with TCP, UDP or ICMP(v6) echo. */
export interface FrameSpec {
  src: string
  dst: string
  proto: 'tcp' | 'udp' | 'icmp'
  sport?: number
  dport?: number
  /** TCP flags as letters: S A F R P. */
  flags?: string
  /** TCP sequence number (0 when not given). */
  seq?: number
  /** TCP acknowledgment number and window (0 and 65535 when not given). */
  ack?: number
  win?: number
  /** TCP options, as bytes (padded with EOL to whole words). */
  options?: Buffer
  payload?: Buffer | string
  /** ICMP type (8 request / 0 reply; 128/129 for v6) and echo identifier. */
  icmpType?: number
  icmpId?: number
}

export function frame(f: FrameSpec): Buffer {
  const v4 = isIPv4(f.src)
  const payload = typeof f.payload === 'string' ? Buffer.from(f.payload) : f.payload ?? Buffer.alloc(0)
  let l4: Buffer
  if (f.proto === 'tcp') {
    const optLen = f.options ? (f.options.length + 3) & ~3 : 0
    l4 = Buffer.alloc(20 + optLen)
    l4.writeUInt16BE(f.sport ?? 0, 0)
    l4.writeUInt16BE(f.dport ?? 0, 2)
    l4.writeUInt32BE((f.seq ?? 0) >>> 0, 4)
    l4.writeUInt32BE((f.ack ?? 0) >>> 0, 8)
    l4[12] = ((20 + optLen) / 4) << 4
    f.options?.copy(l4, 20)
    let fl = 0
    for (const c of f.flags ?? '') fl |= ({ F: 1, S: 2, R: 4, P: 8, A: 16 } as Record<string, number>)[c] ?? 0
    l4[13] = fl
    l4.writeUInt16BE(f.win ?? 65535, 14)
  } else if (f.proto === 'udp') {
    l4 = Buffer.alloc(8)
    l4.writeUInt16BE(f.sport ?? 0, 0)
    l4.writeUInt16BE(f.dport ?? 0, 2)
    l4.writeUInt16BE(8 + payload.length, 4)
  } else {
    l4 = Buffer.alloc(8)
    l4[0] = f.icmpType ?? (v4 ? 8 : 128)
    l4.writeUInt16BE(f.icmpId ?? 1, 4)
  }
  const body = Buffer.concat([l4, payload])
  const protoNum = f.proto === 'tcp' ? 6 : f.proto === 'udp' ? 17 : v4 ? 1 : 58
  let ip: Buffer
  if (v4) {
    ip = Buffer.alloc(20)
    ip[0] = 0x45
    ip.writeUInt16BE(20 + body.length, 2)
    ip[8] = 64
    ip[9] = protoNum
    Buffer.from(parseIp(f.src)!).copy(ip, 12)
    Buffer.from(parseIp(f.dst)!).copy(ip, 16)
  } else {
    ip = Buffer.alloc(40)
    ip[0] = 0x60
    ip.writeUInt16BE(body.length, 4)
    ip[6] = protoNum
    ip[7] = 64
    Buffer.from(parseIp(f.src)!).copy(ip, 8)
    Buffer.from(parseIp(f.dst)!).copy(ip, 24)
  }
  const eth = Buffer.alloc(14)
  eth.writeUInt16BE(v4 ? 0x0800 : 0x86dd, 12)
  return Buffer.concat([eth, ip, body])
}

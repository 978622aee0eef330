import { frame, type FrameSpec } from './track-frames.js'

/** One packet of a test capture: when (Unix seconds, whole microseconds) and the frame spec. */
export interface TimedFrame { t: number; f: FrameSpec }

/** A classic pcap (LINKTYPE_ETHERNET, microsecond timestamps) of built frames at their times. */
export function pcapOf(packets: { t: number; data: Buffer }[]): Buffer {
  const head = Buffer.alloc(24)
  head.writeUInt32LE(0xa1b2c3d4, 0); head.writeUInt16LE(2, 4); head.writeUInt16LE(4, 6)
  head.writeUInt32LE(262144, 16); head.writeUInt32LE(1, 20)
  const recs = packets.map(({ t, data }) => {
    const us = Math.round(t * 1e6)
    const h = Buffer.alloc(16)
    h.writeUInt32LE(Math.floor(us / 1e6), 0); h.writeUInt32LE(us % 1e6, 4)
    h.writeUInt32LE(data.length, 8); h.writeUInt32LE(data.length, 12)
    return Buffer.concat([h, data])
  })
  return Buffer.concat([head, ...recs])
}

/** RFC 1035 message with one question (type A, class IN); `reply` sets QR/RA as a server would. */
export function dnsMessage(id: number, name: string, reply: boolean): Buffer {
  const h = Buffer.alloc(12)
  h.writeUInt16BE(id, 0)
  h.writeUInt16BE(reply ? 0x8180 : 0x0100, 2)
  h.writeUInt16BE(1, 4)
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')]))
  const tail = Buffer.alloc(5)
  tail.writeUInt16BE(1, 1)
  tail.writeUInt16BE(1, 3)
  return Buffer.concat([h, ...labels, tail])
}

/** First packet time of sessionCapture(): 2023-11-14T22:13:20.100001 UTC. */
export const SESSION_T0 = 1_700_000_000.100001
export const HTTP_REQUEST = 'GET / HTTP/1.1\r\nHost: www.example.test\r\n\r\n'

/**
 * A small capture with known sessions: an HTTP connection 10.1.0.1:40000 -> 10.1.0.2:80
 * (handshake, request, ACK, FIN from the client, FIN from the server, last ACK) and a DNS
 * request/reply 10.1.0.1:50000 -> 10.1.0.3:53 for www.example.test, interleaved in time.
 */
export function sessionFrames(): TimedFrame[] {
  const c = { src: '10.1.0.1', dst: '10.1.0.2', proto: 'tcp' as const, sport: 40000, dport: 80 }
  const s = { src: '10.1.0.2', dst: '10.1.0.1', proto: 'tcp' as const, sport: 80, dport: 40000 }
  const t = (ms: number) => Math.round((SESSION_T0 + ms / 1000) * 1e6) / 1e6
  return [
    { t: t(0), f: { ...c, flags: 'S' } },
    { t: t(0.5), f: { ...s, flags: 'SA' } },
    { t: t(0.8), f: { ...c, flags: 'A' } },
    { t: t(1), f: { ...c, flags: 'PA', payload: HTTP_REQUEST } },
    { t: t(2), f: { src: '10.1.0.1', dst: '10.1.0.3', proto: 'udp', sport: 50000, dport: 53, payload: dnsMessage(0x1234, 'www.example.test', false) } },
    { t: t(2.25), f: { ...s, flags: 'A' } },
    { t: t(3), f: { src: '10.1.0.3', dst: '10.1.0.1', proto: 'udp', sport: 53, dport: 50000, payload: dnsMessage(0x1234, 'www.example.test', true) } },
    { t: t(4), f: { ...c, flags: 'FA' } },
    { t: t(4.5), f: { ...s, flags: 'A' } },
    { t: t(5), f: { ...s, flags: 'FA' } },
    { t: t(5.75), f: { ...c, flags: 'A' } },
  ]
}

export function sessionCapture(): Buffer {
  return pcapOf(sessionFrames().map(({ t, f }) => ({ t, data: frame(f) })))
}

/** An ARP request frame: reaches the tracker (counted as not IP) without making a session. */
export function arpFrame(): Buffer {
  const b = Buffer.alloc(42)
  b.fill(0xff, 0, 6)
  b.writeUInt16BE(0x0806, 12)
  b.writeUInt16BE(1, 14); b.writeUInt16BE(0x0800, 16); b[18] = 6; b[19] = 4; b.writeUInt16BE(1, 20)
  return b
}

/**
 * The LINKTYPE_NFLOG part that travels in a wire record's `meta`: nfgenmsg (AF_INET, version 0,
 * group in network order) then NFULA_PACKET_HDR (hw_protocol 0x0800, hook 1 = NF_INET_LOCAL_IN)
 * and NFULA_PREFIX, as little-endian TLVs padded to four bytes.
 */
export function nflogMeta(group: number, prefix: string): Buffer {
  const gen = Buffer.from([2, 0, group >> 8, group & 0xff])
  const tlv = (type: number, value: Buffer) => {
    const len = 4 + value.length
    const b = Buffer.alloc((len + 3) & ~3)
    b.writeUInt16LE(len, 0)
    b.writeUInt16LE(type, 2)
    value.copy(b, 4)
    return b
  }
  const hdr = Buffer.from([0x08, 0x00, 1, 0])
  return Buffer.concat([gen, tlv(1, hdr), tlv(10, Buffer.from(`${prefix}\0`))])
}

/**
 * IP packets wrapped in each link-layer header the pipeline carries, and classic pcap files of
 * them, for filter tests that must see the same packets through every link type.
 */
import { LINKTYPE } from '../../lib/pcap/linktypes.js'
import { ethernet } from './packet-builder.js'

export interface WrapOptions {
  /** NULL/LOOP address family for IPv6 (10 Linux, 24 NetBSD/OpenBSD, 28 FreeBSD, 30 macOS). */
  af6?: number
}

/** The frame of `linktype` around one IPv4 or IPv6 packet. */
export function wrapIp(linktype: number, ip: Buffer, opts: WrapOptions = {}): Buffer {
  const v6 = ip[0]! >> 4 === 6
  const ethertype = v6 ? 0x86dd : 0x0800
  switch (linktype) {
    case LINKTYPE.ETHERNET:
      return ethernet(ethertype, ip)
    case LINKTYPE.RAW: case LINKTYPE.IPV4: case LINKTYPE.IPV6: case 12: case 14:
      return Buffer.from(ip)
    case LINKTYPE.NULL: case LINKTYPE.LOOP: {
      const h = Buffer.alloc(4)
      const af = v6 ? opts.af6 ?? 10 : 2
      // NULL: the capturing host's byte order (little-endian here); LOOP: network order.
      if (linktype === LINKTYPE.NULL) h.writeUInt32LE(af)
      else h.writeUInt32BE(af)
      return Buffer.concat([h, ip])
    }
    case LINKTYPE.LINUX_SLL: {
      // packet type (0 to us), ARPHRD_ETHER, address length, address (8 bytes), protocol.
      const h = Buffer.alloc(16)
      h.writeUInt16BE(0, 0); h.writeUInt16BE(1, 2); h.writeUInt16BE(6, 4)
      Buffer.from('020000000001', 'hex').copy(h, 6)
      h.writeUInt16BE(ethertype, 14)
      return Buffer.concat([h, ip])
    }
    case LINKTYPE.LINUX_SLL2: {
      // protocol, reserved, ifindex, ARPHRD_ETHER, packet type, address length, address (8 bytes).
      const h = Buffer.alloc(20)
      h.writeUInt16BE(ethertype, 0); h.writeUInt32BE(2, 4); h.writeUInt16BE(1, 8); h[10] = 0; h[11] = 6
      Buffer.from('020000000001', 'hex').copy(h, 12)
      return Buffer.concat([h, ip])
    }
    case LINKTYPE.NFLOG:
      return Buffer.concat([nflogHeader(v6, 7, 'pzp'), nflogTlv(9, ip)])
    default:
      throw new Error(`no wrapper for link type ${linktype}`)
  }
}

/** One NFLOG TLV: length and type in host order (little-endian here), padded to four bytes. */
export function nflogTlv(type: number, value: Buffer): Buffer {
  const len = 4 + value.length
  const b = Buffer.alloc((len + 3) & ~3)
  b.writeUInt16LE(len, 0)
  b.writeUInt16LE(type, 2)
  value.copy(b, 4)
  return b
}

/** nfgenmsg (family, version 0, group in network order), NFULA_PACKET_HDR and NFULA_PREFIX. */
export function nflogHeader(v6: boolean, group: number, prefix: string): Buffer {
  const gen = Buffer.from([v6 ? 10 : 2, 0, group >> 8, group & 0xff])
  const hdr = Buffer.from([v6 ? 0x86 : 0x08, v6 ? 0xdd : 0x00, 3, 0])
  return Buffer.concat([gen, nflogTlv(1, hdr), nflogTlv(10, Buffer.from(`${prefix}\0`))])
}

/** A little-endian, microsecond pcap of `frames` (one per millisecond) with the given link type. */
export function pcapFile(linktype: number, frames: Buffer[], t0 = 1_700_000_000): Buffer {
  const head = Buffer.alloc(24)
  head.writeUInt32LE(0xa1b2c3d4, 0); head.writeUInt16LE(2, 4); head.writeUInt16LE(4, 6)
  head.writeUInt32LE(262144, 16); head.writeUInt32LE(linktype, 20)
  const recs = frames.map((f, i) => {
    const h = Buffer.alloc(16)
    h.writeUInt32LE(t0, 0); h.writeUInt32LE(i * 1000, 4); h.writeUInt32LE(f.length, 8); h.writeUInt32LE(f.length, 12)
    return Buffer.concat([h, f])
  })
  return Buffer.concat([head, ...recs])
}

/** A little-endian pcapng with one interface per link type; `packets` name their interface by link type. */
export function pcapngFile(linktypes: number[], packets: Array<{ linktype: number; data: Buffer }>, t0 = 1_700_000_000): Buffer {
  const block = (type: number, body: Buffer) => {
    const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)])
    const b = Buffer.alloc(12 + padded.length)
    b.writeUInt32LE(type, 0); b.writeUInt32LE(b.length, 4); padded.copy(b, 8); b.writeUInt32LE(b.length, b.length - 4)
    return b
  }
  const shb = Buffer.alloc(16)
  shb.writeUInt32LE(0x1a2b3c4d, 0); shb.writeUInt16LE(1, 4); shb.writeUInt16LE(0, 6); shb.fill(0xff, 8)
  const idbs = linktypes.map((lt) => {
    const b = Buffer.alloc(8)
    b.writeUInt16LE(lt, 0); b.writeUInt32LE(262144, 4)
    return block(1, b)
  })
  const epbs = packets.map((p, i) => {
    const h = Buffer.alloc(20)
    const us = BigInt(t0) * 1_000_000n + BigInt(i * 1000)
    h.writeUInt32LE(linktypes.indexOf(p.linktype), 0)
    h.writeUInt32LE(Number(us >> 32n), 4); h.writeUInt32LE(Number(us & 0xffffffffn), 8)
    h.writeUInt32LE(p.data.length, 12); h.writeUInt32LE(p.data.length, 16)
    return block(6, Buffer.concat([h, p.data]))
  })
  return Buffer.concat([block(0x0a0d0d0a, shb), ...idbs, ...epbs])
}

/**
 * Walks netlink datagrams from an NFLOG socket: nlmsghdr, nfgenmsg, then NFULA_* attributes
 * (linux/netfilter/nfnetlink_log.h). Fills one reused NflogPacket per message; the only allocation
 * is one DataView per datagram.
 */
import { viewOf } from '../util/byte-view.js'

export const NLMSG_HDRLEN = 16
export const NLMSG_ERROR = 2
export const NLMSG_DONE = 3
export const NLMSG_OVERRUN = 4
/** (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET */
export const NFULNL_MSG_PACKET = 0x0400

export const NFULA = {
  PACKET_HDR: 1, MARK: 2, TIMESTAMP: 3, IFINDEX_INDEV: 4, IFINDEX_OUTDEV: 5, IFINDEX_PHYSINDEV: 6,
  IFINDEX_PHYSOUTDEV: 7, HWADDR: 8, PAYLOAD: 9, PREFIX: 10, UID: 11, SEQ: 12, SEQ_GLOBAL: 13, GID: 14,
  HWTYPE: 15, HWHEADER: 16, HWLEN: 17, CT: 18, CT_INFO: 19, VLAN: 20, L2HDR: 21,
} as const

const NLA_TYPE_MASK = 0x3fff


export interface NflogPacket {
  group: number
  family: number
  /** Kernel timestamp (NFULA_TIMESTAMP); hasTimestamp false when the skb carried none. */
  hasTimestamp: boolean
  tsSec: number
  tsUsec: number
  /** Payload (the packet from its network header) within the datagram buffer. */
  payloadStart: number
  payloadEnd: number
  /** nfgenmsg + every attribute before NFULA_PAYLOAD: the LINKTYPE_NFLOG header and TLVs. */
  metaStart: number
  metaEnd: number
  /** Original length when the IP header gives it (NFLOG has no attribute for it), else the payload length. */
  origLen: number
  /** NFULA_SEQ: the group's packet number, when the instance was asked for it; -1 otherwise. */
  seq: number
}

export interface WalkStats {
  messages: number
  /** Messages or attributes with impossible lengths; the rest of the datagram is skipped. */
  malformed: number
  /** NLMSG_ERROR / NLMSG_OVERRUN seen in the stream. */
  errors: number
}

export function createNflogPacket(): NflogPacket {
  return { group: 0, family: 0, hasTimestamp: false, tsSec: 0, tsUsec: 0, payloadStart: 0, payloadEnd: 0, metaStart: 0, metaEnd: 0, origLen: 0, seq: -1 }
}

/** Original packet length from the IPv4/IPv6 header, never less than what was captured. */
export function ipOrigLen(b: Buffer, start: number, end: number, view?: DataView): number {
  const caplen = end - start
  if (caplen < 1) return caplen
  const v = view ?? viewOf(b)
  const version = v.getUint8(start) >> 4
  if (version === 4 && caplen >= 4) return Math.max(caplen, v.getUint16(start + 2))
  if (version === 6 && caplen >= 6) {
    const pl = v.getUint16(start + 4)
    return pl === 0 ? caplen : Math.max(caplen, 40 + pl) // 0 = jumbogram: length is in hop-by-hop
  }
  return caplen
}

/**
 * Calls onPacket for each NFULNL_MSG_PACKET in `b[0, len)`. Returns the offset where the walk
 * stopped: `len` when every message was whole, less at a message with an impossible length or one
 * running past `len` (the caller tells a malformed datagram from one the receive buffer cut).
 * Packets with impossible attributes are counted in stats.malformed and skipped.
 */
export function walkNflogDatagram(b: Buffer, len: number, pkt: NflogPacket, stats: WalkStats, onPacket: (p: NflogPacket) => void): number {
  // One view per datagram (lib/util/byte-view.ts); netlink headers are host-endian (little here).
  const v = viewOf(b)
  len = Math.min(len, b.length)
  let o = 0
  while (o + NLMSG_HDRLEN <= len) {
    const mlen = v.getUint32(o, true)
    const type = v.getUint16(o + 4, true)
    if (mlen < NLMSG_HDRLEN || o + mlen > len) return o
    if (type === NFULNL_MSG_PACKET && mlen >= NLMSG_HDRLEN + 4) {
      stats.messages += 1
      if (!walkPacket(b, v, o, o + mlen, pkt)) {
        stats.malformed += 1
      } else {
        onPacket(pkt)
      }
    } else if (type === NLMSG_ERROR || type === NLMSG_OVERRUN) {
      stats.errors += 1
    }
    o += (mlen + 3) & ~3
  }
  return Math.min(o, len)
}

function walkPacket(b: Buffer, v: DataView, start: number, end: number, pkt: NflogPacket): boolean {
  const gen = start + NLMSG_HDRLEN
  pkt.family = v.getUint8(gen)
  pkt.group = v.getUint16(gen + 2)
  pkt.hasTimestamp = false
  pkt.seq = -1
  pkt.payloadStart = pkt.payloadEnd = 0
  pkt.metaStart = gen
  pkt.metaEnd = end
  let a = gen + 4
  while (a + 4 <= end) {
    const alen = v.getUint16(a, true)
    const atype = v.getUint16(a + 2, true) & NLA_TYPE_MASK
    if (alen < 4 || a + alen > end) return false
    if (atype === NFULA.PAYLOAD) {
      pkt.payloadStart = a + 4
      pkt.payloadEnd = a + alen
      pkt.metaEnd = a
    } else if (atype === NFULA.TIMESTAMP && alen >= 20) {
      // struct nfulnl_msg_packet_timestamp { __be64 sec; __be64 usec; }
      pkt.hasTimestamp = true
      pkt.tsSec = v.getUint32(a + 4) * 4294967296 + v.getUint32(a + 8)
      pkt.tsUsec = v.getUint32(a + 16)
    } else if (atype === NFULA.SEQ && alen >= 8) {
      pkt.seq = v.getUint32(a + 4)
    }
    a += (alen + 3) & ~3
  }
  pkt.origLen = ipOrigLen(b, pkt.payloadStart, pkt.payloadEnd, v)
  return true
}

import { sha1Short } from './sha1.js'

/**
 * Community ID flow hash, version 1 (the spec shared by Zeek, Suricata and Packetbeat):
 * base64(SHA1(seed:u16be, addr lo, addr hi, proto:u8, 0:u8, port lo:u16be, port hi:u16be)) with
 * the "1:" prefix. The endpoint with the smaller (address, port) goes first so both directions
 * hash alike; ICMP and ICMPv6 use (type, counterpart type) as ports, or (type, code) and the
 * packet's own order for messages without a counterpart ("one-way").
 */

/** ICMP type -> its request/reply counterpart (router advertisement has none, as in the spec). */
const ICMP4_COUNTERPART = new Map<number, number>([[8, 0], [0, 8], [13, 14], [14, 13], [15, 16], [16, 15], [10, 9], [17, 18], [18, 17]])
const ICMP6_COUNTERPART = new Map<number, number>([
  [128, 129], [129, 128], [133, 134], [134, 133], [135, 136], [136, 135],
  [130, 131], [131, 130], [139, 140], [140, 139], [144, 145], [145, 144],
])

/** Protocols whose header carries ports (TCP, UDP, SCTP) or port equivalents (ICMP, ICMPv6). */
function hasPorts(proto: number): boolean {
  return proto === 6 || proto === 17 || proto === 132 || proto === 1 || proto === 58
}

/** Lexicographic compare of two address byte strings of the same length. */
function compareAddr(a: Uint8Array, ao: number, b: Uint8Array, bo: number, len: number): number {
  for (let i = 0; i < len; i++) {
    const d = a[ao + i] - b[bo + i]
    if (d !== 0) return d
  }
  return 0
}

export interface FlowTuple {
  /** 4 or 6 */
  ipVersion: number
  proto: number
  src: Uint8Array
  srcOffset: number
  dst: Uint8Array
  dstOffset: number
  /** TCP/UDP/SCTP ports; ignored for ICMP. */
  srcPort: number
  dstPort: number
  /** ICMP/ICMPv6 type and code of the packet the tuple describes; ignored otherwise. */
  icmpType: number
  icmpCode: number
}

/** Community ID v1 of a flow tuple seen in the direction given (src -> dst). */
export function communityId(t: FlowTuple, seed = 0): string {
  communityIdHash(t, digest, 0, seed)
  return communityIdText(digest, 0)
}

/** The text form of a Community ID v1 hash: "1:" and the base64 of its 20 bytes. */
export function communityIdText(hash: Uint8Array, at: number): string {
  for (let i = 0; i < 20; i++) text[i] = hash[at + i]
  return '1:' + text.toString('base64', 0, 20)
}

/** The 20-byte SHA-1 of a Community ID v1 into `out` at `at` (kept per session, formatted per event). */
export function communityIdHash(t: FlowTuple, out: Uint8Array, at: number, seed = 0): void {
  const alen = t.ipVersion === 6 ? 16 : 4
  let sp = t.srcPort
  let dp = t.dstPort
  let oneWay = false
  if (t.proto === 1 || t.proto === 58) {
    const peer = (t.proto === 1 ? ICMP4_COUNTERPART : ICMP6_COUNTERPART).get(t.icmpType)
    sp = t.icmpType
    if (peer === undefined) {
      dp = t.icmpCode
      oneWay = true
    } else {
      dp = peer
    }
  }
  const c = compareAddr(t.src, t.srcOffset, t.dst, t.dstOffset, alen)
  const keep = oneWay || c < 0 || (c === 0 && sp < dp)
  // Scratch buffers: an event's id costs one string, nothing else.
  const buf = scratch
  buf[0] = (seed >>> 8) & 0xff
  buf[1] = seed & 0xff
  let o = 2
  const a = keep ? t.src : t.dst
  const ao = keep ? t.srcOffset : t.dstOffset
  const b = keep ? t.dst : t.src
  const bo = keep ? t.dstOffset : t.srcOffset
  for (let i = 0; i < alen; i++) buf[o++] = a[ao + i]
  for (let i = 0; i < alen; i++) buf[o++] = b[bo + i]
  buf[o++] = t.proto
  buf[o++] = 0
  if (hasPorts(t.proto)) {
    const p1 = keep ? sp : dp
    const p2 = keep ? dp : sp
    buf[o++] = (p1 >>> 8) & 0xff
    buf[o++] = p1 & 0xff
    buf[o++] = (p2 >>> 8) & 0xff
    buf[o++] = p2 & 0xff
  }
  sha1Short(buf, o, out, at)
}

/** seed, two IPv6 addresses, proto, pad, two ports: 40 bytes at most. */
const scratch = Buffer.alloc(2 + 2 * 16 + 2 + 4)
const digest = Buffer.alloc(20)
const text = Buffer.alloc(20)

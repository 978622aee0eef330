/**
 * The symmetric flow hash that splits traffic into shards (pcap-zmq-send to several destinations,
 * pcap-zmq-recv --shards). Both directions of a flow hash alike, and the hash depends on the
 * packet's bytes alone (no seed), so a flow keeps its shard across restarts of any process and
 * every tool computes the same one. The definition is in docs/scale.md; changing it moves flows.
 */
import type { PacketSummary } from './summary.js'
import { decodeSummary } from './summary-decoder.js'
import { createSummary } from './summary.js'
import { LINKTYPE_ETHERNET } from './constants/link-types.js'
import { fmix32 } from '../util/hash.js'

const FNV_OFFSET = 0x811c9dc5
const FNV_PRIME = 0x01000193

function mix(h: number, byte: number): number {
  return Math.imul(h ^ byte, FNV_PRIME)
}

function mixBytes(h: number, data: Buffer, from: number, n: number): number {
  for (let i = 0; i < n; i++) h = Math.imul(h ^ data[from + i]!, FNV_PRIME)
  return h
}

/** FNV-1a alone leaves the low bits, which a modulo keeps, poorly mixed: murmur3's finalizer ends it. */
const finish = fmix32

/** Compares (a, pa) with (b, pb): addresses byte by byte over `n` bytes, then ports. */
function endpointOrder(a: Buffer, pa: number, b: Buffer, pb: number, n: number): number {
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return pa - pb
}

/**
 * The hash of a decoded packet. IP: FNV-1a over the IP version, then the lower endpoint (address,
 * port as 2 bytes big-endian), the higher one and the protocol, through murmur3's finalizer. Ports
 * are the tracker's: TCP, UDP, SCTP, DCCP and UDP-Lite ports, the ICMP echo identifier (both
 * sides), 0 otherwise. Any piece of a fragmented datagram (the first too) hashes by its addresses
 * alone, so a datagram's fragments stay together for reassembly. Other frames: Ethernet by its two
 * MAC addresses in the same symmetric way, the rest 0. `data[start, end)` is the frame `s` was
 * decoded from.
 */
export function flowHash(s: PacketSummary, linktype: number, data: Buffer, start: number, end: number): number {
  let h = FNV_OFFSET
  if (s.ipVersion !== 0) {
    const n = s.ipVersion === 4 ? 4 : 16
    const whole = !s.fragmented
    const sp = whole ? s.srcPort : 0
    const dp = whole ? s.dstPort : 0
    const srcFirst = endpointOrder(s.src, sp, s.dst, dp, n) <= 0
    const lo = srcFirst ? s.src : s.dst
    const hi = srcFirst ? s.dst : s.src
    const lp = srcFirst ? sp : dp
    const hp = srcFirst ? dp : sp
    h = mix(h, s.ipVersion)
    h = mixBytes(h, lo, 0, n)
    h = mix(mix(h, lp >>> 8), lp & 0xff)
    h = mixBytes(h, hi, 0, n)
    h = mix(mix(h, hp >>> 8), hp & 0xff)
    h = mix(h, whole && s.protocol >= 0 ? s.protocol : 0)
    return finish(h)
  }
  if (linktype === LINKTYPE_ETHERNET && end - start >= 12) {
    let dstFirst = true
    for (let i = 0; i < 6; i++) {
      const d = data[start + i]!
      const sb = data[start + 6 + i]!
      if (d !== sb) { dstFirst = d < sb; break }
    }
    h = mixBytes(h, data, start + (dstFirst ? 0 : 6), 6)
    h = mixBytes(h, data, start + (dstFirst ? 6 : 0), 6)
    return finish(h)
  }
  return 0
}

/**
 * Where a hash is used: choosing pcap-zmq-send's destination, or pcap-zmq-recv's published topic.
 * A receiver gets only the flows whose hash picked it, so the same function again would put its
 * whole share in one topic (hash % 2 is 0 for every flow of destination 0); the topic stage
 * re-mixes the hash first, which spreads each destination's share over all topics.
 */
export type ShardStage = 'destination' | 'topic'

/** The shard, 0 to n - 1, of a hash at `stage`. */
export function shardOf(hash: number, n: number, stage: ShardStage = 'destination'): number {
  return (stage === 'destination' ? hash : finish(hash ^ TOPIC_SALT)) % n
}

/** The fractional part of the golden ratio: any odd constant decorrelates the two stages. */
const TOPIC_SALT = 0x9e3779b9

/**
 * Decodes and hashes frames with one reused summary: what the sharding paths call per packet.
 * Checksums are not verified (a shard does not depend on them).
 */
export interface FlowSharder {
  /** The shard of `data[start, end)`, a frame of `linktype`. */
  shard(linktype: number, data: Buffer, start: number, end: number): number
  readonly shards: number
}

export function createFlowSharder(shards: number, stage: ShardStage = 'destination'): FlowSharder {
  const summary = createSummary()
  return {
    shards,
    shard(linktype, data, start, end) {
      if (shards <= 1) return 0
      decodeSummary(linktype, data, summary, false, start, end)
      return shardOf(flowHash(summary, linktype, data, start, end), shards, stage)
    },
  }
}

import { createFlowSharder } from '../decode/flow-hash.js'
import { viewOf } from '../util/byte-view.js'
import { codedError } from '../util/errors.js'
import { createBatchBuilder, FIXED_HEADER, FLAG_COMPRESSED, MAX_RECORD_BYTES, RECORD_HEADER, type Batch } from './batch.js'

/** Most shards a stream is split into (pcap-zmq-send takes as many destinations). */
export const MAX_SHARDS = 256

/**
 * Records bytes of one published message at most (a larger record goes alone). Batches arrive
 * up to MAX_BATCH_MESSAGE (16 MiB and more); cut to this, a publisher's queue bounded in bytes
 * holds hundreds of messages instead of a dozen, so a subscriber that falls behind for a moment
 * loses nothing.
 */
export const PUBLISHED_RECORDS_MAX = 1 << 20

/** The largest published message: header with names and extensions, records, deflate's worst case. */
export const PUBLISHED_MESSAGE_MAX = FIXED_HEADER + 3 * 256 + 64 +
  Math.max(PUBLISHED_RECORDS_MAX, MAX_RECORD_BYTES) + (MAX_RECORD_BYTES >>> 12) + 64

/**
 * The ZeroMQ topic of shard `k` of `n`: "K/N:" as the first frame of every published message.
 * Subscribing to it matches that shard alone (the colon ends it, so 1/4: never matches 1/40:),
 * and a subscriber of another N gets nothing rather than a partition that does not line up.
 */
export function shardTopic(k: number, n: number): Buffer {
  return Buffer.from(`${k}/${n}:`, 'latin1')
}

/** Whether a first frame is a shard topic (a batch starts with its magic "PZ", never a digit). */
export function isShardTopic(frame: Buffer): boolean {
  return frame.length >= 4 && frame.length <= 8 && frame[0]! >= 0x30 && frame[0]! <= 0x39 && frame[frame.length - 1] === 0x3a
}

/** "K/N" as pcap-zmq-track --shard takes it. */
export function parseShard(v: string): { index: number; count: number } | null {
  const m = /^(\d{1,3})\/(\d{1,3})$/.exec(v.trim())
  if (!m) return null
  const index = Number(m[1])
  const count = Number(m[2])
  if (count < 1 || count > MAX_SHARDS || index >= count) return null
  return { index, count }
}

/**
 * Makes a batch about to be published part of the publisher's own numbered stream: the header's
 * instance becomes the publisher's for shard `k` (one instance per topic, so a subscriber of all
 * shards sees each topic as its own stream) and its sequence number `seq`. A subscriber counts the
 * gaps as messages the PUB socket dropped for it, which the publisher cannot see.
 */
export function stampPublished(msg: Buffer, instance: number, k: number, seq: number): void {
  msg.writeUInt32BE((instance + k) >>> 0, 8)
  msg.writeUInt32BE(seq >>> 0, 12)
}

/**
 * How often a publisher sends each topic a heartbeat: a batch with no records that takes the
 * topic's next number. Without it, messages dropped at the end of a burst show no gap until the
 * next burst.
 */
export const PUBLISHED_HEARTBEAT_MS = 1000

/** Heartbeats of a publisher on `host`: call for each one (a fresh buffer, since ZeroMQ keeps it). */
export function createHeartbeat(host: string, linktype: number): () => Buffer {
  const template = createBatchBuilder({ host, sensorId: '', source: 'heartbeat', linktype, instance: 0 }).finish(false)
  return () => Buffer.from(template)
}

export interface BatchSplitter {
  /**
   * The batch `msg` (decoded as `batch`) as messages of at most `maxRecords` record bytes each (a
   * larger record goes alone), per shard that has packets, in shard order: [shard, message] pairs.
   * A batch within the bound whose packets all hash to one shard is passed on as it came
   * (compressed or not); otherwise each part is a batch of the same sender and source, with its
   * shard's records in their order, uncompressed. Throws EWIRETRUNC like forEachRecord.
   */
  split(msg: Buffer, batch: Batch): Array<[number, Buffer]>
}

export function createBatchSplitter(shards: number, maxRecords: number): BatchSplitter {
  const sharder = createFlowSharder(shards, 'topic')
  // Per record its shard, reused across batches (grown when a batch has more records).
  let of = new Uint16Array(1024)
  const left = new Float64Array(shards)
  const counts = new Uint32Array(shards)
  // The part each shard is filling: its message, bytes used, records in it.
  const part = new Array<Buffer | undefined>(shards)
  const used = new Float64Array(shards)
  const inPart = new Uint32Array(shards)
  const done: Array<Array<[number, Buffer]>> = Array.from({ length: shards }, () => [])
  return {
    split(msg, batch) {
      const info = batch.info
      const recs = batch.records
      const v = viewOf(recs)
      if (info.count > of.length) of = new Uint16Array(Math.max(info.count, of.length * 2))
      left.fill(0)
      counts.fill(0)
      let o = 0
      for (let i = 0; i < info.count; i++) {
        if (o + RECORD_HEADER > recs.length) throw codedError(`Cannot decode batch (record ${i} header runs past the end)`, 'EWIRETRUNC')
        const caplen = v.getUint32(o + 12)
        const metaLen = v.getUint16(o + 16)
        const start = o + RECORD_HEADER + metaLen
        const end = start + caplen
        if (end > recs.length) throw codedError(`Cannot decode batch (record ${i} runs past the end)`, 'EWIRETRUNC')
        // NFLOG records travel split: their data is the IP packet (lib/wire/batch.ts recordLinktype).
        const k = shards > 1 ? sharder.shard(metaLen > 0 ? 101 : info.linktype, recs, start, end) : 0
        of[i] = k
        left[k] += end - o
        counts[k] += 1
        o = end
      }
      for (let k = 0; k < shards; k++) {
        if (counts[k] === info.count && recs.length <= maxRecords) return info.count === 0 ? [] : [[k, msg]]
      }
      const headerLen = msg.readUInt16BE(6)
      const seal = (k: number) => {
        const m = part[k]!.subarray(0, headerLen + used[k]!)
        m.writeUInt32BE(inPart[k]!, 16)
        m.writeUInt32BE(used[k]!, 20)
        done[k]!.push([k, m])
        part[k] = undefined
      }
      o = 0
      for (let i = 0; i < info.count; i++) {
        const end = o + RECORD_HEADER + v.getUint16(o + 16) + v.getUint32(o + 12)
        const len = end - o
        const k = of[i]!
        if (part[k] !== undefined && used[k]! + len > maxRecords) seal(k)
        if (part[k] === undefined) {
          const m = Buffer.allocUnsafe(headerLen + Math.max(len, Math.min(left[k]!, maxRecords)))
          msg.copy(m, 0, 0, headerLen)
          m[3] = m[3]! & ~FLAG_COMPRESSED
          part[k] = m
          used[k] = 0
          inPart[k] = 0
        }
        recs.copy(part[k]!, headerLen + used[k]!, o, end)
        used[k] += len
        inPart[k] += 1
        left[k] -= len
        o = end
      }
      const out: Array<[number, Buffer]> = []
      for (let k = 0; k < shards; k++) {
        if (part[k] !== undefined) seal(k)
        out.push(...done[k]!)
        done[k]!.length = 0
      }
      return out
    },
  }
}

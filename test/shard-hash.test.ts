import test from 'ava'
import { createFlowSharder, flowHash } from '../lib/decode/flow-hash.js'
import { decodeSummary } from '../lib/decode/summary-decoder.js'
import { createSummary } from '../lib/decode/summary.js'
import { createBatchBuilder, decodeBatch, forEachRecord } from '../lib/wire/batch.js'
import { createBatchSplitter, isShardTopic, parseShard, PUBLISHED_MESSAGE_MAX, PUBLISHED_RECORDS_MAX, shardTopic } from '../lib/wire/batch-shards.js'
import { ethernet, icmpEcho, ipv4, ipv6, tcp, udp } from './helpers/packet-builder.js'

const ETH = 1
const RAW = 101

function hashOf(linktype: number, frame: Buffer, start = 0, end = frame.length): number {
  const s = createSummary()
  decodeSummary(linktype, frame, s, false, start, end)
  return flowHash(s, linktype, frame, start, end)
}

const v4 = (sport: number, dport: number, src = '10.0.0.1', dst = '10.0.0.2') => ipv4(6, tcp(sport, dport, 0x10), { src, dst })
const v6 = (sport: number, dport: number, src = '2001:db8::1', dst = '2001:db8::2') => ipv6(17, udp(sport, dport, Buffer.from('x')), { src, dst })

test('both directions of a flow hash alike, for TCP, UDP, IPv6 and ICMP echo', (t) => {
  t.is(hashOf(RAW, v4(40000, 80)), hashOf(RAW, v4(80, 40000, '10.0.0.2', '10.0.0.1')))
  t.is(hashOf(RAW, v6(5353, 53)), hashOf(RAW, v6(53, 5353, '2001:db8::2', '2001:db8::1')))
  const req = ipv4(1, icmpEcho(8, 77, 1), { src: '10.0.0.1', dst: '10.0.0.2' })
  const rep = ipv4(1, icmpEcho(0, 77, 1), { src: '10.0.0.2', dst: '10.0.0.1' })
  t.is(hashOf(RAW, req), hashOf(RAW, rep))
  // Different flows differ (ports, addresses and protocol all count).
  t.not(hashOf(RAW, v4(40000, 80)), hashOf(RAW, v4(40001, 80)))
  t.not(hashOf(RAW, v4(40000, 80)), hashOf(RAW, v4(40000, 80, '10.0.0.3')))
  t.not(hashOf(RAW, v4(40000, 80)), hashOf(RAW, ipv4(17, udp(40000, 80, Buffer.from('x')), { src: '10.0.0.1', dst: '10.0.0.2' })))
})

test('the hash is pinned: the same flow maps to the same shard in every release and process', (t) => {
  // Changing these values moves every flow to another shard. They were checked against an
  // independent implementation of the definition in docs/scale.md (FNV-1a, then murmur3's finalizer).
  t.is(hashOf(RAW, v4(40000, 80)), 346457931)
  t.is(hashOf(RAW, v6(5353, 53)), 2736657373)
  t.is(hashOf(ETH, ethernet(0x0806, Buffer.alloc(28))), 423337797)
})

test('the link layer does not matter, only the flow: Ethernet with VLAN tags, raw IP, a window inside a buffer', (t) => {
  const pkt = v4(40000, 443)
  const h = hashOf(RAW, pkt)
  t.is(hashOf(ETH, ethernet(0x0800, pkt)), h)
  t.is(hashOf(ETH, ethernet(0x0800, pkt, [[0x8100, 7], [0x8100, 9]])), h)
  const inside = Buffer.concat([Buffer.alloc(37, 0xee), pkt, Buffer.alloc(11, 0xee)])
  t.is(hashOf(RAW, inside, 37, 37 + pkt.length), h)
  const framed = ethernet(0x0800, pkt)
  const inside2 = Buffer.concat([Buffer.alloc(5), framed])
  t.is(hashOf(ETH, inside2, 5, inside2.length), h)
})

test('every fragment of a datagram, the first with its ports included, hashes by the addresses alone', (t) => {
  const body = udp(5000, 6000, Buffer.alloc(64))
  const first = ipv4(17, body, { src: '10.0.0.1', dst: '10.0.0.2', frag: 0x2000 })
  const later = ipv4(17, Buffer.alloc(40), { src: '10.0.0.1', dst: '10.0.0.2', frag: 0x0008 })
  const lastBack = ipv4(17, Buffer.alloc(40), { src: '10.0.0.2', dst: '10.0.0.1', frag: 0x0010 })
  t.is(hashOf(RAW, first), hashOf(RAW, later))
  t.is(hashOf(RAW, first), hashOf(RAW, lastBack))
  const fragHdr = (off: number, more: boolean) => { const b = Buffer.alloc(8); b.writeUInt16BE((off << 3) | (more ? 1 : 0), 2); b.writeUInt32BE(99, 4); return b }
  const f6a = ipv6(17, body, { exts: [[44, fragHdr(0, true)]] })
  const f6b = ipv6(17, Buffer.alloc(40), { exts: [[44, fragHdr(9, false)]] })
  t.is(hashOf(RAW, f6a), hashOf(RAW, f6b))
  // An atomic fragment (offset 0, no more) is a whole datagram: its ports count.
  t.is(hashOf(RAW, ipv6(17, body, { exts: [[44, fragHdr(0, false)]] })), hashOf(RAW, ipv6(17, body)))
})

test('non-IP Ethernet frames hash by their two MAC addresses, symmetrically', (t) => {
  const a = ethernet(0x0806, Buffer.alloc(28))
  const b = Buffer.from(a)
  a.copy(b, 0, 6, 12)
  a.copy(b, 6, 0, 6)
  t.is(hashOf(ETH, a), hashOf(ETH, b))
  t.not(hashOf(ETH, a), 0)
})

test('flows spread evenly over the shards', (t) => {
  for (const n of [2, 3, 4, 8]) {
    const sharder = createFlowSharder(n)
    const counts = new Array<number>(n).fill(0)
    const flows = 20000
    for (let i = 0; i < flows; i++) {
      const pkt = v4(1024 + (i % 50000), 443, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, '192.0.2.9')
      counts[sharder.shard(RAW, pkt, 0, pkt.length)]! += 1
    }
    for (const c of counts) t.true(Math.abs(c - flows / n) < (flows / n) * 0.1, `${n} shards: ${counts.join(' ')}`)
  }
})

test('the topic stage spreads each destination\'s share over every topic, whatever both counts are', (t) => {
  for (const [dests, topics] of [[2, 2], [2, 4], [3, 6], [4, 2]] as const) {
    const d = createFlowSharder(dests)
    const p = createFlowSharder(topics, 'topic')
    const grid = Array.from({ length: dests }, () => new Array<number>(topics).fill(0))
    for (let i = 0; i < 8000; i++) {
      const pkt = v4(1024 + i, 443, `10.1.${(i >> 8) & 255}.${i & 255}`, '192.0.2.9')
      grid[d.shard(RAW, pkt, 0, pkt.length)]![p.shard(RAW, pkt, 0, pkt.length)]! += 1
    }
    const even = 8000 / dests / topics
    for (const row of grid) for (const c of row) t.true(Math.abs(c - even) < even * 0.15, `${dests} x ${topics}: ${grid.map((r) => r.join(' ')).join(' | ')}`)
  }
})

test('shard topics: K/N: never a prefix of another, never mistaken for a batch; --shard values', (t) => {
  t.is(shardTopic(1, 4).toString(), '1/4:')
  t.false(shardTopic(1, 40).toString().startsWith(shardTopic(1, 4).toString()))
  t.true(isShardTopic(shardTopic(255, 256)))
  const b = createBatchBuilder({ host: 'h', sensorId: '', source: 's', linktype: RAW, instance: 1 })
  t.false(isShardTopic(b.finish(false)))
  t.deepEqual(parseShard('3/4'), { index: 3, count: 4 })
  for (const bad of ['4/4', '1/0', 'a/b', '1', '-1/4', '0/257', '1/4/5']) t.is(parseShard(bad), null, bad)
})

function mixedBatch(compress: boolean): { msg: Buffer; flows: Buffer[][] } {
  const b = createBatchBuilder({ host: 'gw', sensorId: 's1', source: 'nflog:3', linktype: 239, instance: 42 })
  const flows: Buffer[][] = []
  const meta = Buffer.from([2, 0, 0, 3, 8, 0, 1, 0, 0, 0, 0, 0])
  for (let f = 0; f < 40; f++) flows.push([])
  for (let i = 0; i < 400; i++) {
    const f = i % 40
    // Both directions, and NFLOG's split records (TLVs in meta, the IP packet in data).
    const pkt = i % 2 === 0 ? v4(30000 + f, 80) : v4(80, 30000 + f, '10.0.0.2', '10.0.0.1')
    b.append(i, 0, pkt.length, pkt, 0, pkt.length, meta, 0, meta.length)
    flows[f]!.push(pkt)
  }
  return { msg: b.finish(compress), flows }
}

test('a batch splits into one batch per shard: each flow whole in one part, order kept, nothing lost or added', (t) => {
  for (const compress of [false, true]) {
    const { msg, flows } = mixedBatch(compress)
    const parts = createBatchSplitter(4, PUBLISHED_RECORDS_MAX).split(msg, decodeBatch(msg))
    t.true(parts.length > 1)
    const seen = new Map<string, number>()
    let total = 0
    let lastShard = -1
    for (const [k, part] of parts) {
      t.true(k > lastShard, 'parts in shard order')
      lastShard = k
      const batch = decodeBatch(part)
      t.like(batch.info, { host: 'gw', sensorId: 's1', source: 'nflog:3', linktype: 239, instance: 42, compressed: false })
      let prevTs = -1
      forEachRecord(batch, (r) => {
        t.true(r.tsSec > prevTs, 'records keep their order')
        prevTs = r.tsSec
        t.is(r.meta.length, 12)
        const key = r.data.toString('hex')
        const owner = seen.get(key)
        if (owner !== undefined) t.is(owner, k, 'a flow in one shard only')
        seen.set(key, k)
        t.is(createFlowSharder(4, 'topic').shard(RAW, r.data, 0, r.data.length), k)
        total += 1
      })
    }
    t.is(total, 400)
    // Both directions of a flow (different bytes) are in the same shard.
    for (const f of flows) t.is(seen.get(f[0]!.toString('hex')), seen.get(f[1]!.toString('hex')))
  }
})

test('a batch whose packets are all in one shard is passed on as it came', (t) => {
  const b = createBatchBuilder({ host: 'gw', sensorId: '', source: 'x', linktype: RAW, instance: 1 })
  for (let i = 0; i < 10; i++) { const p = v4(1234, 80); b.append(i, 0, p.length, p, 0, p.length) }
  const msg = b.finish(true)
  const parts = createBatchSplitter(8, PUBLISHED_RECORDS_MAX).split(msg, decodeBatch(msg))
  t.is(parts.length, 1)
  t.is(parts[0]![1], msg)
})

test('published messages are cut to a bound: a large batch becomes several, each within it, records in order', (t) => {
  for (const shards of [1, 3]) {
    const { msg } = mixedBatch(false)
    const limit = 4000
    const parts = createBatchSplitter(shards, limit).split(msg, decodeBatch(msg))
    t.true(parts.length >= Math.ceil(msg.length / limit))
    const byShard = new Map<number, number[]>()
    for (const [k, part] of parts) {
      const batch = decodeBatch(part)
      t.true(batch.records.length <= limit, `${batch.records.length} bytes`)
      forEachRecord(batch, (r) => { byShard.set(k, [...(byShard.get(k) ?? []), r.tsSec]) })
    }
    const all = [...byShard.values()].flat()
    t.is(all.length, 400)
    for (const ts of byShard.values()) t.deepEqual(ts, [...ts].sort((a, b) => a - b))
  }
  // A record larger than the bound goes alone, whole.
  const b = createBatchBuilder({ host: 'gw', sensorId: '', source: 'x', linktype: RAW, instance: 1 })
  const big = ipv4(17, udp(1, 2, Buffer.alloc(60000)))
  for (let i = 0; i < 3; i++) b.append(i, 0, big.length, big, 0, big.length)
  const msg = b.finish(false)
  const parts = createBatchSplitter(1, 4000).split(msg, decodeBatch(msg))
  t.is(parts.length, 3)
  for (const [, p] of parts) t.true(p.length < PUBLISHED_MESSAGE_MAX)
})

import test from 'ava'
import {
  createRingFrame, createWalkStats, FRAME_AS_IS, FRAME_ETHERNET, FRAME_SLL2, PACKET_OUTGOING, TP_SNAPLEN,
  TP_STATUS_USER, TP_STATUS_VLAN_TPID_VALID, TP_STATUS_VLAN_VALID, BLOCK_FIRST_PKT, BLOCK_HEADER, TP_NEXT_OFFSET,
  walkBlock, writeFrame, type RingFrame, type WalkConfig,
} from '../lib/capture/tpacket.js'
import { ethernetFrame, syntheticBlock, type SyntheticFrame } from './helpers/tpacket-ring.js'
import { viewOf } from '../lib/util/byte-view.js'

interface Out { data: Buffer; origLen: number; tsSec: number; tsNsec: number; pkttype: number }

const config = (over: Partial<WalkConfig> = {}): WalkConfig => ({
  mode: FRAME_ETHERNET, snaplen: 262144, kernelSnaplen: 262144, skipOutgoing: false, onlyOutgoing: false, ...over,
})

/** Walks `block` as a ring of one block, writing each frame out; the ring must not change. */
function walk(block: Buffer, cfg: WalkConfig) {
  const before = Buffer.from(block)
  const stats = createWalkStats()
  const out: Out[] = []
  const dst = Buffer.alloc(300000)
  const n = walkBlock(block, 0, block.length, cfg, createRingFrame(), stats, (f: RingFrame) => {
    const end = writeFrame(block, f, dst, 0)
    out.push({ data: Buffer.from(dst.subarray(0, end)), origLen: f.origLen, tsSec: f.tsSec, tsNsec: f.tsNsec, pkttype: f.pkttype })
  })
  return { n, stats, out, unchanged: before.equals(block) }
}

/** What the wire carried: the tag after the two MAC addresses. */
function tagged(frame: Buffer, tpid: number, tci: number): Buffer {
  const tag = Buffer.alloc(4)
  tag.writeUInt16BE(tpid, 0)
  tag.writeUInt16BE(tci, 2)
  return Buffer.concat([frame.subarray(0, 12), tag, frame.subarray(12)])
}

test('frames come out byte for byte with their timestamps and lengths, the ring untouched', (t) => {
  const frames = [60, 1514, 9014, 65000].map((n, i) => ethernetFrame(n - 14, 0x0800, i))
  const r = walk(syntheticBlock(frames.map((data, i) => ({ data, sec: 1700000000 + i, nsec: 999999999 - i })), 1 << 17), config())
  t.is(r.n, 4)
  t.deepEqual(r.out.map((o) => o.data), frames)
  t.deepEqual(r.out.map((o) => o.origLen), [60, 1514, 9014, 65000])
  t.deepEqual(r.out.map((o) => [o.tsSec, o.tsNsec]), [[1700000000, 999999999], [1700000001, 999999998], [1700000002, 999999997], [1700000003, 999999996]])
  t.deepEqual(r.stats, { blocks: 1, frames: 4, truncated: 0, badFrames: 0, skipped: 0 })
  t.true(r.unchanged)
})

test('VLAN tags from the ring metadata go back after the MAC addresses: 802.1Q, 802.1ad, and a TCI-only old kernel', (t) => {
  const plain = ethernetFrame(100)
  const inner = ethernetFrame(100, 0x8100) // QinQ: the inner tag stays in the data
  const specs: SyntheticFrame[] = [
    { data: plain, status: TP_STATUS_USER | TP_STATUS_VLAN_VALID | TP_STATUS_VLAN_TPID_VALID, vlanTci: 0x2064, vlanTpid: 0x8100 },
    { data: inner, status: TP_STATUS_USER | TP_STATUS_VLAN_VALID | TP_STATUS_VLAN_TPID_VALID, vlanTci: 0x0fff, vlanTpid: 0x88a8 },
    // Before TP_STATUS_VLAN_VALID (2.6.x) a tag was only a non-zero TCI, and the TPID field did not exist.
    { data: plain, status: TP_STATUS_USER, vlanTci: 0x0005 },
    // VLAN 0 with priority 0 is still a tag when the kernel says it is valid.
    { data: plain, status: TP_STATUS_USER | TP_STATUS_VLAN_VALID, vlanTci: 0 },
    { data: plain },
  ]
  const r = walk(syntheticBlock(specs), config())
  t.deepEqual(r.out.map((o) => o.data), [
    tagged(plain, 0x8100, 0x2064), tagged(inner, 0x88a8, 0x0fff), tagged(plain, 0x8100, 0x0005), tagged(plain, 0x8100, 0), plain,
  ])
  t.deepEqual(r.out.map((o) => o.origLen), [118, 118, 118, 118, 114])
  t.true(r.unchanged, 'the ring is never written')
})

test('tags are not inserted on raw IP link types, nor into a frame shorter than the MAC addresses', (t) => {
  const ip = Buffer.from('4500001c0000000040110000c6120101c6120102', 'hex')
  const r = walk(syntheticBlock([{ data: ip, maclen: 0, status: TP_STATUS_USER | TP_STATUS_VLAN_VALID, vlanTci: 7 }]), config({ mode: FRAME_AS_IS }))
  t.deepEqual(r.out[0]!.data, ip)
  const short = walk(syntheticBlock([{ data: Buffer.alloc(10, 1), len: 60, status: TP_STATUS_USER | TP_STATUS_VLAN_VALID, vlanTci: 7 }]), config({ kernelSnaplen: 10 }))
  t.deepEqual(short.out[0]!.data, Buffer.alloc(10, 1))
  t.is(short.out[0]!.origLen, 60)
})

test('the snap length applies after the tag is back, as libpcap cuts it', (t) => {
  const plain = ethernetFrame(100)
  const want = tagged(plain, 0x8100, 100)
  for (const snap of [6, 12, 13, 14, 16, 17, 64]) {
    const r = walk(syntheticBlock([{ data: plain, status: TP_STATUS_USER | TP_STATUS_VLAN_VALID, vlanTci: 100 }]), config({ snaplen: snap }))
    t.deepEqual(r.out[0]!.data, want.subarray(0, snap), `snaplen ${snap}`)
    t.is(r.out[0]!.origLen, 118)
  }
})

test('cooked frames get a LINKTYPE_LINUX_SLL2 header from the sockaddr_ll', (t) => {
  const ip = Buffer.from('60000000000811400000000000000000000000000000000100000000000000000000000000000002', 'hex')
  const spec: SyntheticFrame = { data: ip, maclen: 0, protocol: 0x86dd, ifindex: 0x01020304, hatype: 778, pkttype: PACKET_OUTGOING, addr: Buffer.from([192, 0, 2, 1]) }
  const r = walk(syntheticBlock([spec]), config({ mode: FRAME_SLL2 }))
  const sll2 = Buffer.from('86dd0000' + '01020304' + '030a' + '04' + '04' + 'c000020100000000', 'hex')
  t.deepEqual(r.out[0]!.data, Buffer.concat([sll2, ip]))
  t.is(r.out[0]!.origLen, ip.length + 20)
  const cut = walk(syntheticBlock([spec]), config({ mode: FRAME_SLL2, snaplen: 12 }))
  t.deepEqual(cut.out[0]!.data, sll2.subarray(0, 12))
})

test('a frame that runs past its block is counted with the frames after it, never read', (t) => {
  const frames = [0, 1, 2].map((i) => ({ data: ethernetFrame(200, 0x0800, i) }))
  const block = syntheticBlock(frames, 4096)
  // The second frame claims more bytes than the block has.
  const second = BLOCK_HEADER + block.readUInt32LE(BLOCK_HEADER + TP_NEXT_OFFSET)
  block.writeUInt32LE(100000, second + TP_SNAPLEN)
  const r = walk(block, config())
  t.is(r.n, 1)
  t.deepEqual(r.out.map((o) => o.data), [frames[0]!.data])
  t.deepEqual(r.stats, { blocks: 1, frames: 1, truncated: 0, badFrames: 2, skipped: 0 })
})

test('a block cut short (frames past its used length, a zero next offset, a bogus first offset) costs only its frames', (t) => {
  const frames = [0, 1, 2, 3].map((i) => ({ data: ethernetFrame(300, 0x0800, i) }))
  // blk_len ends inside the third frame: the kernel never wrote past it.
  const cut = syntheticBlock(frames, 8192)
  const third = BLOCK_HEADER + 2 * cut.readUInt32LE(BLOCK_HEADER + TP_NEXT_OFFSET)
  cut.writeUInt32LE(third + 100, 20)
  let r = walk(cut, config())
  t.is(r.n, 2)
  t.is(r.stats.badFrames, 2)

  const zero = syntheticBlock(frames, 8192)
  zero.writeUInt32LE(0, BLOCK_HEADER + TP_NEXT_OFFSET)
  r = walk(zero, config())
  t.is(r.n, 1)
  t.is(r.stats.badFrames, 3)

  const bogus = syntheticBlock(frames, 8192)
  bogus.writeUInt32LE(8190, BLOCK_FIRST_PKT)
  r = walk(bogus, config())
  t.is(r.n, 0)
  t.is(r.stats.badFrames, 4)

  // A block the walker is asked about with a header claiming far more packets than fit.
  const lying = syntheticBlock([frames[0]!], 4096)
  lying.writeUInt32LE(1000000, 12)
  r = walk(lying, config())
  t.is(r.n, 1)
  t.true(r.stats.badFrames > 0)
})

test('frames the ring cut below the snap length are counted and still delivered', (t) => {
  const data = ethernetFrame(986)
  const r = walk(syntheticBlock([{ data, len: 9014 }]), config())
  t.is(r.stats.truncated, 1)
  t.is(r.out[0]!.data.length, 1000)
  t.is(r.out[0]!.origLen, 9014)
  // Cut by the snap length the kernel was asked for: not a ring problem.
  const snapped = walk(syntheticBlock([{ data, len: 9014 }]), config({ kernelSnaplen: 1000, snaplen: 1000 }))
  t.is(snapped.stats.truncated, 0)
})

test('direction: outgoing copies dropped (loopback, --direction in) or kept alone (--direction out)', (t) => {
  const specs = [0, 4, 0, 4, 1].map((pkttype, i) => ({ data: ethernetFrame(50, 0x0800, i), pkttype }))
  const both = walk(syntheticBlock(specs), config())
  t.deepEqual(both.out.map((o) => o.pkttype), [0, 4, 0, 4, 1])
  const inOnly = walk(syntheticBlock(specs), config({ skipOutgoing: true }))
  t.deepEqual(inOnly.out.map((o) => o.pkttype), [0, 0, 1])
  t.is(inOnly.stats.skipped, 2)
  const outOnly = walk(syntheticBlock(specs), config({ onlyOutgoing: true }))
  t.deepEqual(outOnly.out.map((o) => o.data), [specs[1]!.data, specs[3]!.data])
})

test('walking blocks and writing their frames out allocates nothing per frame (no young-generation growth, no GC)', async (t) => {
  const { performance, PerformanceObserver } = await import('node:perf_hooks')
  const { getHeapSpaceStatistics } = await import('node:v8')
  const newSpaceUsed = (): number => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_used_size ?? 0
  // Frames under 256 bytes: longer ones are copied with Buffer#copy, which (in Node 20) makes a
  // view per call, the same as the batch builder's own copies.
  const specs: SyntheticFrame[] = Array.from({ length: 200 }, (_, i) => ({
    data: ethernetFrame(40 + (i % 60), 0x0800, i),
    status: TP_STATUS_USER | (i % 2 ? TP_STATUS_VLAN_VALID | TP_STATUS_VLAN_TPID_VALID : 0),
    vlanTci: i, vlanTpid: 0x8100, pkttype: i % 5 === 0 ? PACKET_OUTGOING : 0,
  }))
  const block = syntheticBlock(specs)
  const cfgs = [config(), config({ mode: FRAME_SLL2 }), config({ mode: FRAME_AS_IS, skipOutgoing: true })]
  const stats = createWalkStats()
  const frame = createRingFrame()
  const dst = Buffer.alloc(4096)
  let bytes = 0
  const dstView = viewOf(dst)
  const onFrame = (f: RingFrame) => { bytes += writeFrame(block, f, dst, 0, dstView) }
  const run = (blocks: number) => { for (let i = 0; i < blocks; i++) walkBlock(block, 0, block.length, cfgs[i % 3]!, frame, stats, onFrame) }
  run(5000)
  await new Promise((r) => setTimeout(r, 20))
  const gcStarts: number[] = []
  const obs = new PerformanceObserver((list) => { for (const e of list.getEntries()) gcStarts.push(e.startTime) })
  obs.observe({ entryTypes: ['gc'] })
  const before = newSpaceUsed()
  const t0 = performance.now()
  run(10000) // 2,000,000 frames
  const t1 = performance.now()
  const grown = newSpaceUsed() - before
  await new Promise((r) => setTimeout(r, 20))
  obs.disconnect()
  t.true(bytes > 0)
  t.is(gcStarts.filter((s) => s >= t0 && s <= t1).length, 0, 'no garbage collection during 2,000,000 frames')
  t.true(grown < 256 * 1024, `young generation grew ${grown} bytes`)
})

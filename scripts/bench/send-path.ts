/**
 * CPU cost of the sender's per-packet path without the kernel: walking NFLOG netlink datagrams
 * (the real ones in test/fixtures/nflog) and copying each packet into a batch, then sealing
 * batches (plain and compressed), and the receiver's decode + pcap encode of those batches; then
 * the iface: path, walking TPACKET_V3 blocks of 60- and 1514-byte Ethernet frames into batches.
 * Run: node dist/scripts/bench/send-path.js [seconds]
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createNflogPacket, walkNflogDatagram } from '../../lib/capture/nfula.js'
import { createEncoder } from '../../lib/pcap/encoder.js'
import { createBatchBuilder, decodeBatch } from '../../lib/wire/batch.js'
import { createRingFrame, createWalkStats, FRAME_ETHERNET, walkBlock, writeFrame } from '../../lib/capture/tpacket.js'
import { ethernetFrame, syntheticBlock } from '../../test/helpers/tpacket-ring.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const seconds = Number(process.argv[2] ?? 2)
const datagrams = ['datagram-v4.bin', 'datagram-v6.bin'].map((f) => readFileSync(join(root, 'test/fixtures/nflog', f)))

function run(label: string, compress: boolean): void {
  const pkt = createNflogPacket()
  const stats = { messages: 0, malformed: 0, errors: 0 }
  const builder = createBatchBuilder({ host: 'bench', sensorId: '', source: 'nflog:0', linktype: 239, instance: 1 }, 256 << 10)
  const enc = createEncoder({ format: 'pcap', application: 'bench' })
  let packets = 0
  let sealed = 0
  let decoded = 0
  let sendNs = 0n
  let recvNs = 0n
  const deadline = performance.now() + seconds * 1000
  let current: Buffer = datagrams[0]!
  const onPacket = () => {
    if (builder.count > 0 && !builder.fits(pkt.payloadEnd - pkt.payloadStart + pkt.metaEnd - pkt.metaStart)) seal()
    builder.append(1700000000, 0, pkt.origLen, current, pkt.payloadStart, pkt.payloadEnd, current, pkt.metaStart, pkt.metaEnd)
    packets += 1
  }
  const seal = () => {
    const msg = builder.finish(compress)
    sealed += 1
    const t0 = process.hrtime.bigint()
    const r = enc.encode(decodeBatch(msg))
    recvNs += process.hrtime.bigint() - t0
    decoded += r.written
  }
  while (performance.now() < deadline) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < 1000; i++) {
      current = datagrams[i & 1]!
      walkNflogDatagram(current, current.length, pkt, stats, onPacket)
    }
    sendNs += process.hrtime.bigint() - t0
  }
  const sendOnly = Number(sendNs - recvNs) / packets
  console.log(`${label}: ${packets} packets, ${sealed} batches; send path ${sendOnly.toFixed(0)} ns/packet (${(1e9 / sendOnly / 1e6).toFixed(2)} M packets/s); receive decode+encode ${(Number(recvNs) / decoded).toFixed(0)} ns/packet`)
}

run('plain batches', false)
run('compressed batches', true)

/** Ring frames of one size, VLAN-less Ethernet, walked block by block into batches as send.ts does. */
function runRing(frameLen: number): void {
  const perBlock = Math.floor((1 << 20) / (96 + frameLen))
  const block = syntheticBlock(Array.from({ length: perBlock }, (_, i) => ({ data: ethernetFrame(frameLen - 14, 0x0800, i) })), 1 << 20)
  const cfg = { mode: FRAME_ETHERNET, snaplen: 262144, kernelSnaplen: 262144, skipOutgoing: false, onlyOutgoing: false }
  const stats = createWalkStats()
  const frame = createRingFrame()
  const builder = createBatchBuilder({ host: 'bench', sensorId: '', source: 'iface:bench', linktype: 1, instance: 1 }, 256 << 10)
  let batches = 0
  const onFrame = (f: typeof frame) => {
    if (builder.count > 0 && !builder.fits(f.caplen)) {
      builder.finish(false)
      batches += 1
    }
    writeFrame(block, f, builder.buffer, builder.reserve(f.tsSec, f.tsNsec, f.origLen, f.caplen), builder.view)
  }
  let frames = 0
  const t0 = process.hrtime.bigint()
  const deadline = performance.now() + seconds * 1000
  while (performance.now() < deadline) frames += walkBlock(block, 0, block.length, cfg, frame, stats, onFrame)
  const ns = Number(process.hrtime.bigint() - t0) / frames
  console.log(`ring frames of ${frameLen} bytes: ${frames} frames, ${batches} batches; walk + batch ${ns.toFixed(0)} ns/frame (${(1e9 / ns / 1e6).toFixed(2)} M frames/s)`)
}

runRing(60)
runRing(1514)

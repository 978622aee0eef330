/**
 * Micro-benchmark (not a test) of pcap-zmq-send's per-packet work without the kernel or ZeroMQ:
 * NFLOG netlink datagrams shaped like scripts/bench/flood.sh's (INPUT on a veth: timestamp,
 * devices, hardware header, a 46-byte IPv4/UDP packet) are walked with walkNflogDatagram and
 * appended to a BatchBuilder the way lib/pipeline/send.ts does, sealing a message whenever the
 * batch is full. Prints ns per packet for walking alone and for walk + batch, and GC runs, so a
 * change to lib/capture/nfula.ts or lib/wire/batch.ts can be measured before and after.
 *   Run: npx tsc -p tsconfig.json && node dist/scripts/bench/flood-path.js [packets] [per-datagram]
 */
import { PerformanceObserver } from 'node:perf_hooks'
import { createNflogPacket, NFULA, NFULNL_MSG_PACKET, walkNflogDatagram, type NflogPacket, type WalkStats } from '../../lib/capture/nfula.js'
import { LINKTYPE } from '../../lib/pcap/linktypes.js'
import { createBatchBuilder } from '../../lib/wire/batch.js'
import { createShaper } from '../../lib/wire/shaper.js'

const PACKETS = Number(process.argv[2] ?? 5_000_000)
/** Messages per datagram: the rule's --nflog-threshold caps it (64 in flood.sh's default tier). */
const PER_DATAGRAM = Number(process.argv[3] ?? 64)
const BATCH_BYTES = 256 * 1024

/** One netlink datagram of NFULNL_MSG_PACKET messages, attributes in kernel order and byte order. */
function datagram(count: number): Buffer {
  const out = Buffer.alloc(count * 256)
  let o = 0
  const attr = (type: number, value: Buffer) => {
    out.writeUInt16LE(4 + value.length, o)
    out.writeUInt16LE(type, o + 2)
    value.copy(out, o + 4)
    o += (4 + value.length + 3) & ~3
  }
  for (let i = 0; i < count; i++) {
    const start = o
    o += 16
    out[o] = 2 // AF_INET
    out.writeUInt16BE(5, o + 2) // group
    o += 4
    attr(NFULA.PACKET_HDR, Buffer.from([0x08, 0x00, 1, 0])) // hw_protocol, hook NF_INET_LOCAL_IN
    attr(NFULA.PREFIX, Buffer.from([0]))
    const ts = Buffer.alloc(16)
    ts.writeUInt32BE(1_790_000_000 + i, 4)
    ts.writeUInt32BE(i % 1_000_000, 12)
    attr(NFULA.TIMESTAMP, ts)
    attr(NFULA.IFINDEX_INDEV, Buffer.from([0, 0, 0, 2]))
    attr(NFULA.HWTYPE, Buffer.from([0, 1]))
    attr(NFULA.HWLEN, Buffer.from([0, 14]))
    attr(NFULA.HWHEADER, Buffer.alloc(14, 0x02))
    attr(NFULA.HWADDR, Buffer.from([0, 6, 0, 0, 2, 2, 2, 2, 2, 2, 0, 0]))
    const ip = Buffer.alloc(46, 0x41)
    ip[0] = 0x45; ip.writeUInt16BE(46, 2); ip[8] = 64; ip[9] = 17
    ip.writeUInt32BE(0xc613fb01, 12); ip.writeUInt32BE(0xc613fb02, 16)
    ip.writeUInt16BE(40000, 20); ip.writeUInt16BE(9, 22); ip.writeUInt16BE(26, 24)
    attr(NFULA.PAYLOAD, ip)
    out.writeUInt32LE(o - start, start)
    out.writeUInt16LE(NFULNL_MSG_PACKET, start + 4)
  }
  return out.subarray(0, o)
}

let gcRuns = 0
new PerformanceObserver((list) => { gcRuns += list.getEntries().length }).observe({ entryTypes: ['gc'] })

const dg = datagram(PER_DATAGRAM)
const stats: WalkStats = { messages: 0, malformed: 0, errors: 0 }
const pkt = createNflogPacket()
const datagrams = Math.ceil(PACKETS / PER_DATAGRAM)

function walkOnly(): number {
  let sum = 0
  const deliver = (p: NflogPacket) => { sum += p.payloadEnd - p.payloadStart }
  for (let i = 0; i < datagrams; i++) walkNflogDatagram(dg, dg.length, pkt, stats, deliver)
  return sum
}

function walkAndBatch(): number {
  const b = createBatchBuilder({ host: 'bench', sensorId: '', source: 'nflog:5', linktype: LINKTYPE.NFLOG, instance: 1 }, BATCH_BYTES)
  const shaper = createShaper({ lwm: 0, hwm: 0, window: 0 })
  let messages = 0
  // The same steps as send.ts's NFLOG callback and take(): timestamp, admit, fit, append.
  const deliver = (p: NflogPacket) => {
    const sec = p.hasTimestamp ? p.tsSec : 0
    const nsec = p.hasTimestamp ? p.tsUsec * 1000 : 0
    const len = p.payloadEnd - p.payloadStart
    if (!shaper.admit(len)) return
    if (b.count > 0 && !b.fits(len + p.metaEnd - p.metaStart)) { b.finish(false); messages += 1 }
    b.append(sec, nsec, p.origLen, dg, p.payloadStart, p.payloadEnd, dg, p.metaStart, p.metaEnd)
  }
  for (let i = 0; i < datagrams; i++) walkNflogDatagram(dg, dg.length, pkt, stats, deliver)
  if (b.count > 0) { b.finish(false); messages += 1 }
  return messages
}

const REPEATS = 7

/** Best and median of REPEATS timed runs after a warm-up: the machine is shared, the best is the least disturbed. */
async function time(name: string, fn: () => number): Promise<void> {
  fn() // warm up: let the optimiser settle before the timed runs
  gcRuns = 0
  const n = datagrams * PER_DATAGRAM
  const perPacket: number[] = []
  let r = 0
  for (let i = 0; i < REPEATS; i++) {
    const t0 = process.hrtime.bigint()
    r = fn()
    perPacket.push(Number(process.hrtime.bigint() - t0) / n)
  }
  // GC entries reach the observer asynchronously.
  await new Promise((resolve) => setTimeout(resolve, 50))
  perPacket.sort((x, y) => x - y)
  const best = perPacket[0]!
  const median = perPacket[REPEATS >> 1]!
  console.log(`${name.padEnd(14)} best ${best.toFixed(1).padStart(6)} ns/packet (${(1e3 / best).toFixed(2)} Mpps), median ${median.toFixed(1).padStart(6)}, gc runs ${gcRuns} over ${REPEATS} runs (${r})`)
}

console.log(`${datagrams * PER_DATAGRAM} packets in datagrams of ${PER_DATAGRAM} (${dg.length} bytes), node ${process.version}`)
await time('walk', walkOnly)
await time('walk + batch', walkAndBatch)

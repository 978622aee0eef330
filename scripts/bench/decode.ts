/**
 * Decode micro-benchmark: packets/s of decodeSummary (with and without checksum verification), of
 * decodePacket, of the flow hash that shards a sender's packets (lib/decode/flow-hash.ts) and of
 * splitting received batches by shard for publishing (lib/wire/batch-shards.ts), over packets held
 * in memory, on one core. GC runs during each timed loop are
 * counted: the summary path allocates nothing per packet, so it should cause none.
 *
 *   npx tsc -p tsconfig.json && node --expose-gc dist/scripts/bench/decode.js [capture.pcap] [--seconds N]
 *
 * Without a file it builds a synthetic mix (Ethernet/IPv4/TCP with options and payload, UDP/DNS,
 * 802.1Q-tagged IPv4, Ethernet/IPv6/TCP, ICMP echo) over 4096 distinct flows.
 */
import { readFileSync } from 'node:fs'
import { PerformanceObserver } from 'node:perf_hooks'
import { decodeSummary } from '../../lib/decode/summary-decoder.js'
import { createSummary } from '../../lib/decode/summary.js'
import { decodePacket } from '../../lib/decode/packet.js'
import { checksumOf, onesSum, pseudoSumV4, pseudoSumV6 } from '../../lib/decode/checksum.js'
import { createCaptureReader } from '../../lib/pcap/reader.js'
import { createFlowSharder } from '../../lib/decode/flow-hash.js'
import { createBatchBuilder, decodeBatch, type Batch } from '../../lib/wire/batch.js'
import { createBatchSplitter, PUBLISHED_RECORDS_MAX } from '../../lib/wire/batch-shards.js'

interface Frame { linktype: number; data: Buffer }

function ipv4Frame(i: number, proto: number, l4: Buffer, vlan: boolean): Buffer {
  const eth = Buffer.from(vlan ? '02000000000202000000000181000064' + '0800' : '0200000000020200000000010800', 'hex')
  const ip = Buffer.alloc(20)
  ip[0] = 0x45; ip.writeUInt16BE(20 + l4.length, 2); ip.writeUInt16BE(0x4000, 6); ip[8] = 64; ip[9] = proto
  ip.writeUInt32BE(0x0a000000 + (i & 0xffff), 12); ip.writeUInt32BE(0xc0a80001 + (i >> 8), 16)
  ip.writeUInt16BE(checksumOf(onesSum(ip, 0, 20, 0)), 10)
  const field = proto === 6 ? 16 : proto === 17 ? 6 : 2
  const acc = proto === 1 ? 0 : pseudoSumV4(ip, 12, 16, proto, l4.length)
  l4.writeUInt16BE(checksumOf(onesSum(l4, 0, l4.length, acc)), field)
  return Buffer.concat([eth, ip, l4])
}

function tcpSegment(i: number, payload: number): Buffer {
  const t = Buffer.alloc(32 + payload)
  t.writeUInt16BE(1024 + (i % 60000), 0); t.writeUInt16BE(443, 2); t.writeUInt32BE(i * 7919, 4); t.writeUInt32BE(i, 8)
  t[12] = 8 << 4; t[13] = 0x18; t.writeUInt16BE(502, 14)
  Buffer.from('0101080a0000000100000002', 'hex').copy(t, 20)
  return t
}

function synthetic(): Frame[] {
  const frames: Frame[] = []
  for (let i = 0; i < 4096; i++) {
    switch (i % 5) {
      case 0: frames.push({ linktype: 1, data: ipv4Frame(i, 6, tcpSegment(i, 512), false) }); break
      case 1: { const u = Buffer.alloc(8 + 40); u.writeUInt16BE(30000 + i % 30000); u.writeUInt16BE(53, 2); u.writeUInt16BE(48, 4); frames.push({ linktype: 1, data: ipv4Frame(i, 17, u, false) }); break }
      case 2: frames.push({ linktype: 1, data: ipv4Frame(i, 6, tcpSegment(i, 0), true) }); break
      case 3: {
        const t = tcpSegment(i, 100)
        const ip = Buffer.alloc(40); ip.writeUInt32BE(0x60000000); ip.writeUInt16BE(t.length, 4); ip[6] = 6; ip[7] = 64
        ip.writeUInt32BE(0x20010db8, 8); ip.writeUInt32BE(i, 20); ip.writeUInt32BE(0x20010db8, 24); ip.writeUInt32BE(1, 36)
        t.writeUInt16BE(checksumOf(onesSum(t, 0, t.length, pseudoSumV6(ip, 8, 24, 6, t.length))), 16)
        frames.push({ linktype: 1, data: Buffer.concat([Buffer.from('02000000000202000000000186dd', 'hex'), ip, t]) })
        break
      }
      default: { const e = Buffer.alloc(8 + 56); e[0] = 8; e.writeUInt16BE(i & 0xffff, 4); frames.push({ linktype: 1, data: ipv4Frame(i, 1, e, false) }) }
    }
  }
  return frames
}

function fromFile(path: string): Frame[] {
  const frames: Frame[] = []
  const r = createCaptureReader((p) => frames.push({ linktype: p.linktype, data: Buffer.from(p.data) }))
  r.push(readFileSync(path))
  r.end()
  return frames
}

/** The frames as the sender batches them (uncompressed, records up to `bytes` each), decoded once. */
function batchesOf(frames: Frame[], bytes: number): Array<{ msg: Buffer; batch: Batch }> {
  const b = createBatchBuilder({ host: 'bench', sensorId: '', source: 'bench', linktype: frames[0]!.linktype, instance: 1 }, bytes)
  const out: Array<{ msg: Buffer; batch: Batch }> = []
  const flush = () => { const msg = b.finish(false); out.push({ msg, batch: decodeBatch(msg) }) }
  for (let i = 0; i < frames.length * 4; i++) {
    const f = frames[i % frames.length]!
    if (!b.fits(f.data.length)) flush()
    b.append(i, 0, f.data.length, f.data, 0, f.data.length)
  }
  if (b.count > 0) flush()
  return out
}

let gcRuns = 0
new PerformanceObserver((list) => { gcRuns += list.getEntries().length }).observe({ entryTypes: ['gc'] })

/** Times `step` over `items` for `seconds`; each item is `unit` packets (a batch holds several). */
async function run<T>(name: string, frames: T[], seconds: number, step: (f: T) => void, unit = 1): Promise<number> {
  for (let i = 0; i < 20000 / unit; i++) step(frames[i % frames.length]) // warm up the JIT
  // Collect the set-up garbage first (when run with --expose-gc) so the count is this loop's own.
  ;(globalThis as { gc?: () => void }).gc?.()
  await new Promise((r) => setImmediate(r))
  gcRuns = 0
  let n = 0
  const start = process.hrtime.bigint()
  const limit = start + BigInt(Math.round(seconds * 1e9))
  // Check the clock every 64 K packets only: reading it costs more than a decode.
  const round = Math.max(1, Math.floor(65536 / unit))
  let items = 0
  for (;;) {
    for (let k = 0; k < round; k++) step(frames[(items + k) % frames.length])
    items += round
    n += round * unit
    if (process.hrtime.bigint() >= limit) break
  }
  const secs = Number(process.hrtime.bigint() - start) / 1e9
  await new Promise((r) => setImmediate(r)) // let the GC observer report
  const rate = n / secs
  console.log(`${name.padEnd(40)} ${Math.round(rate).toLocaleString('en-US').padStart(12)} packets/s  (${n} packets, ${secs.toFixed(2)} s, ${gcRuns} GC runs)`)
  return rate
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const si = args.indexOf('--seconds')
  const seconds = si >= 0 ? Number(args.splice(si, 2)[1]) : 3
  const frames = args[0] ? fromFile(args[0]) : synthetic()
  if (frames.length === 0) throw new Error('no packets to decode')
  const bytes = frames.reduce((a, f) => a + f.data.length, 0)
  console.log(`node ${process.version}, ${frames.length} packets in memory (${args[0] ?? 'synthetic mix'}), average ${Math.round(bytes / frames.length)} bytes`)
  const s = createSummary()
  let sink = 0
  await run('decodeSummary (no checksums)', frames, seconds, (f) => { decodeSummary(f.linktype, f.data, s, false); sink ^= s.srcPort })
  await run('decodeSummary (verify checksums)', frames, seconds, (f) => { decodeSummary(f.linktype, f.data, s, true); sink ^= s.checksum })
  await run('decodePacket (object tree)', frames, seconds, (f) => { sink ^= Object.keys(decodePacket(f.linktype, f.data)).length })
  for (const n of [2, 4, 16]) {
    const sharder = createFlowSharder(n)
    await run(`flow hash, ${n} destinations`, frames, seconds, (f) => { sink ^= sharder.shard(f.linktype, f.data, 0, f.data.length) })
  }
  // What pcap-zmq-recv --publish does per received batch: cut it to the bound (1 shard) or split it.
  const batches = batchesOf(frames, 256 * 1024)
  const perBatch = Math.round(batches.reduce((a, b) => a + b.batch.info.count, 0) / batches.length)
  for (const n of [1, 2, 4, 16]) {
    const splitter = createBatchSplitter(n, PUBLISHED_RECORDS_MAX)
    await run(`batch split, ${n} shard${n > 1 ? 's' : ''} (${perBatch}/batch)`, batches, seconds, (b) => { sink ^= splitter.split(b.msg, b.batch).length }, perBatch)
  }
  if (sink === -1) console.log(sink) // keeps the results observable so the loops are not optimised away
}

main().catch((err) => { console.error(err); process.exit(1) })

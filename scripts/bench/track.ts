/**
 * Benchmark (not a test): decode + track throughput on one core beside tcpdump and tshark on the
 * same generated capture, and memory per live session at 1,000,000 sessions. Writes
 * docs/benchmarks-track.md.  Run: npx tsc -p tsconfig.json && node dist/scripts/bench/track.js [packets]
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, openSync, readFileSync, rmSync, writeSync, closeSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeSummary } from '../../lib/decode/summary-decoder.js'
import { createSummary } from '../../lib/decode/summary.js'
import { createCaptureReader } from '../../lib/pcap/reader.js'
import { Tracker } from '../../lib/track/tracker.js'

const args = process.argv.slice(2)
/** --ours: only our decode + track run (for profiling with --cpu-prof); no anchors, no docs written. */
const OURS_ONLY = args.includes('--ours')
const PACKETS = Number(args.find((a) => !a.startsWith('--')) ?? 2_000_000)
/** --write=FILE: only generate the capture into FILE (to profile or compare other tools on it). */
const WRITE = args.find((a) => a.startsWith('--write='))?.slice(8)
/** --flows=N: concurrent flows (100,000 short flows by default; few flows make long ones). */
const FLOWS = Number(args.find((a) => a.startsWith('--flows='))?.slice(8) ?? 100_000)
const dir = mkdtempSync(join(tmpdir(), 'pzp-bench-'))
const file = WRITE ?? join(dir, 'flows.pcap')

/** Many concurrent TCP flows, interleaved: SYN, SYN-ACK, ACK, then data both ways, then FINs. */
function generate(): void {
  const fd = openSync(file, 'w')
  const head = Buffer.alloc(24)
  head.writeUInt32LE(0xa1b2c3d4, 0); head.writeUInt16LE(2, 4); head.writeUInt16LE(4, 6); head.writeUInt32LE(65535, 16); head.writeUInt32LE(1, 20)
  writeSync(fd, head)
  const frame = Buffer.alloc(16 + 14 + 20 + 20 + 64)
  const out = Buffer.alloc(1 << 22)
  let o = 0
  const perFlow = Math.max(8, Math.floor(PACKETS / FLOWS))
  let n = 0
  for (let step = 0; step < perFlow && n < PACKETS; step++) {
    for (let f = 0; f < FLOWS && n < PACKETS; f++, n++) {
      const fromClient = step === 1 ? false : step % 2 === 0
      const flags = step === 0 ? 0x02 : step === 1 ? 0x12 : step === perFlow - 2 || step === perFlow - 1 ? 0x11 : 0x18
      const payload = flags === 0x18 ? 64 : 0
      const caplen = 14 + 40 + payload
      const t = 1_700_000_000 * 1e6 + step * 1000 + f
      frame.writeUInt32LE(Math.floor(t / 1e6), 0); frame.writeUInt32LE(t % 1e6, 4); frame.writeUInt32LE(caplen, 8); frame.writeUInt32LE(caplen, 12)
      frame.writeUInt16BE(0x0800, 28)
      frame[30] = 0x45; frame.writeUInt16BE(40 + payload, 32); frame[38] = 64; frame[39] = 6
      const client = 0x0a000000 + (f >> 4)
      const server = 0xc0a80000 + (f & 0xff)
      const cport = 10000 + (f & 0x7fff)
      frame.writeUInt32BE(fromClient ? client : server, 42); frame.writeUInt32BE(fromClient ? server : client, 46)
      frame.writeUInt16BE(fromClient ? cport : 443, 50); frame.writeUInt16BE(fromClient ? 443 : cport, 52)
      frame[62] = 0x50; frame[63] = flags
      if (o + 16 + caplen > out.length) { writeSync(fd, out, 0, o); o = 0 }
      frame.copy(out, o, 0, 16 + caplen); o += 16 + caplen
    }
  }
  writeSync(fd, out, 0, o)
  closeSync(fd)
}

function timeCmd(cmd: string): number {
  const t0 = process.hrtime.bigint()
  const r = spawnSync('sh', ['-c', cmd], { stdio: 'ignore' })
  if (r.status !== 0) return NaN
  return Number(process.hrtime.bigint() - t0) / 1e9
}

function ours(): { seconds: number; cpu: number; packets: number; events: number } {
  const data = readFileSync(file)
  const s = createSummary()
  let events = 0
  const tracker = new Tracker(() => { events += 1 }, { maxSessions: 1_000_000 })
  let packets = 0
  const c0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  const reader = createCaptureReader((p) => {
    packets += 1
    decodeSummary(p.linktype, p.data, s, false)
    tracker.packet(s, p.data, p.tsSec * 1e6 + Math.floor(p.tsNsec / 1000))
  })
  for (let i = 0; i < data.length; i += 1 << 20) reader.push(data.subarray(i, i + (1 << 20)))
  reader.end()
  tracker.flush()
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  const c = process.cpuUsage(c0)
  return { seconds, cpu: (c.user + c.system) / 1e6, packets, events }
}

function memoryPerSession(n: number): { bytes: number; rss: number; columns: number } {
  const s = createSummary()
  s.ipVersion = 4; s.protocol = 17; s.ipLength = 60; s.payloadLength = 0
  global.gc?.()
  const before = process.memoryUsage()
  const tracker = new Tracker(() => {}, { maxSessions: n, initialSessions: n })
  const empty = Buffer.alloc(0)
  for (let i = 0; i < n; i++) {
    s.src.writeUInt32BE(0x0a000000 + i, 0); s.dst.writeUInt32BE(0xc0a80001, 0)
    s.srcPort = 1024 + (i & 0x7fff); s.dstPort = 53
    tracker.packet(s, empty, 1_700_000_000e6 + i)
  }
  global.gc?.()
  const after = process.memoryUsage()
  if (tracker.live !== n) throw new Error(`expected ${n} live sessions, have ${tracker.live}`)
  // Heap plus typed-array backing stores: what the tracker holds, independent of freed input buffers.
  const used = after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers
  return { bytes: used / n, rss: (after.rss - before.rss) / n, columns: (tracker.store.columnBytes() + tracker.index.tableBytes()) / n }
}

if (WRITE) {
  generate()
  rmSync(dir, { recursive: true, force: true })
  process.exit(0)
}
if (OURS_ONLY) {
  generate()
  const r = ours()
  rmSync(dir, { recursive: true, force: true })
  process.stdout.write(`${r.packets} packets in ${r.seconds.toFixed(3)} s (CPU ${r.cpu.toFixed(3)} s): ${Math.round(r.packets / r.seconds).toLocaleString('en-US')} packets/s, ${r.events} events, load ${loadavg()[0].toFixed(2)}\n`)
  process.exit(0)
}
const loadBefore = loadavg()[0]
const mem = memoryPerSession(1_000_000)
generate()
const size = readFileSync(file).length
const run = ours()
const tcpdump = timeCmd(`tcpdump -n -r ${file} > /dev/null 2>&1`)
const tshark = timeCmd(`tshark -q -n -z conv,tcp -r ${file} > /dev/null 2>&1`)
rmSync(dir, { recursive: true, force: true })
const loadAfter = loadavg()[0]
const pps = run.packets / run.seconds
const line = (name: string, sec: number) => `| ${name} | ${sec.toFixed(2)} s | ${Math.round(run.packets / sec).toLocaleString('en-US')} | ${(sec / run.seconds).toFixed(1)}x |`
const md = `# pcap-zmq-track benchmark

Measured ${new Date().toISOString().slice(0, 10)} with \`node dist/scripts/bench/track.js ${PACKETS}\` on ${process.version}, one core each,
on a 2-core machine shared with other work: 1-minute load average ${loadBefore.toFixed(2)} at the start, ${loadAfter.toFixed(2)} at the end
(all three tools ran under the same load, one after the other).
Capture: ${run.packets.toLocaleString('en-US')} packets, ${FLOWS.toLocaleString('en-US')} concurrent TCP flows (handshake, data
both ways, FIN close), ${(size / 1e6).toFixed(0)} MB, generated by the script. Our figure is decode (decodeSummary) + session
tracking in process from memory, ${run.events.toLocaleString('en-US')} events produced (event objects built, not printed);
a single cold pass (JIT warm-up, table growth and GC included). CPU time of that pass: ${run.cpu.toFixed(2)} s
(${Math.round(run.packets / run.cpu).toLocaleString('en-US')} packets per CPU-second).

| what | time | packets/s | time relative to pcap-zmq-track |
| --- | --- | --- | --- |
| pcap-zmq-track decode + track | ${run.seconds.toFixed(2)} s | ${Math.round(pps).toLocaleString('en-US')} | 1.0x |
${line('tcpdump -n -r FILE > /dev/null', tcpdump)}
${line('tshark -q -z conv,tcp -r FILE', tshark)}

Memory at 1,000,000 live sessions (UDP, distinct tuples): **${Math.round(mem.bytes)} bytes/session** (growth of V8 heap
plus typed-array memory; RSS grew ${Math.round(mem.rss)} bytes/session), of which ${Math.round(mem.columns)} bytes are the typed-array columns and the hash index.
Targets: >= 1,000,000 packets/s, faster than tcpdump's read+print, < 400 bytes/session.
`
writeFileSync(join(process.cwd(), 'docs', 'benchmarks-track.md'), md)
process.stdout.write(md)

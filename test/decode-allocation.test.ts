/**
 * decodeSummary is on the per-packet hot path: it must not allocate. A loop over every frame kind
 * must neither grow the young generation nor trigger a garbage collection.
 */
import test from 'ava'
import { performance, PerformanceObserver } from 'node:perf_hooks'
import { getHeapSpaceStatistics } from 'node:v8'
import { decodeSummary } from '../lib/decode/summary-decoder.js'
import { createSummary } from '../lib/decode/summary.js'
import { collectGarbage } from '../lib/util/gc.js'
import { ethernet, fixL4Checksum, icmpEcho, ipv4, ipv6, tcp, tcpV4Frame, udp, udpV4Frame } from './helpers/packet-builder.js'

const newSpaceUsed = (): number => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_used_size ?? 0

test('decodeSummary allocates nothing per packet (no young-generation growth, no GC)', async (t) => {
  const frames: Array<[number, Buffer]> = [
    [1, tcpV4Frame()], [1, udpV4Frame()],
    [1, ethernet(0x0800, ipv4(17, udp(1, 2, Buffer.alloc(10))), [[0x88a8, 5], [0x8100, 6]])],
    [1, fixL4Checksum(ethernet(0x86dd, ipv6(6, tcp(1, 2, 0x10, { seq: 0xf0000000, ack: 0xfffffff0 }), { exts: [[0, Buffer.alloc(8)]] })), 14, 62, 6, 16)],
    [1, ethernet(0x0800, ipv4(1, icmpEcho(8, 1, 1)))],
    [1, tcpV4Frame().subarray(0, 40)], // truncated: the error path too
    [147, udpV4Frame()], // unsupported link type
    [1, ethernet(0x88e5, Buffer.concat([Buffer.from('20000000004201020304050607080800', 'hex'), ipv4(17, udp(1, 2, Buffer.alloc(4))), Buffer.alloc(16)]))],
    [1, ethernet(0x8847, Buffer.concat([Buffer.from('00011140', 'hex'), ipv4(17, udp(1, 2, Buffer.alloc(4)))]))],
  ]
  const s = createSummary()
  const run = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const [lt, f] = frames[i % frames.length]
      decodeSummary(lt, f, s, (i & 1) === 0)
    }
  }
  // A collection started before the loop (by the runner or while the frames were built) can be
  // finished from inside it by a stack-guard interrupt, without the loop allocating anything:
  // finish any first, so a collection seen during the loop is one the loop caused.
  collectGarbage()
  // Warm up twice: optimizing compiles finish on a background thread, and on a slow machine the
  // first warm-up can end before they are installed (unoptimized code boxes numbers: allocation).
  run(200_000)
  await new Promise((r) => setTimeout(r, 200))
  run(200_000)
  await new Promise((r) => setTimeout(r, 20))
  const gcStarts: number[] = []
  const obs = new PerformanceObserver((list) => { for (const e of list.getEntries()) gcStarts.push(e.startTime) })
  obs.observe({ entryTypes: ['gc'] })
  const before = newSpaceUsed()
  const t0 = performance.now()
  run(2_000_000)
  const t1 = performance.now()
  const grown = newSpaceUsed() - before
  // Entries arrive later; only collections that started during the loop count (the test runner
  // itself may allocate and collect while this waits).
  await new Promise((r) => setTimeout(r, 20))
  obs.disconnect()
  const gcRuns = gcStarts.filter((s) => s >= t0 && s <= t1).length
  t.is(gcRuns, 0, 'no garbage collection during 2,000,000 decodes')
  // Even one 16-byte object per packet would be 32 MB here.
  t.true(grown < 256 * 1024, `young generation grew ${grown} bytes`)
})

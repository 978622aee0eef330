import test from 'ava'
import { ackEncodingLength, createAckCollector, decodeAck, encodeAck, seqBefore, ACK_MAX_RANGES } from '../lib/wire/ack.js'
import { bindBatchInlet, type BatchInlet } from '../lib/wire/batch-inlet.js'
import { connectBatchSender, MAX_INFLIGHT_BATCHES } from '../lib/wire/batch-sender.js'
import { createSeqTable, MAX_INSTANCES, SEQ_LATE, SEQ_RESTART, seqStep } from '../lib/pipeline/senders.js'
import { createBatchBuilder, decodeBatch } from '../lib/wire/batch.js'
import { assertTruncationsFailCleanly } from './helpers/codec.js'
import { ipcEndpoint, waitFor } from './helpers/env.js'

test('sequence steps: gaps a sender could have in flight are loss, larger jumps either way are restarts, small steps back are late', (t) => {
  t.is(seqStep(5, 6), 0)
  t.is(seqStep(5, 9), 3)
  t.is(seqStep(4294967295, 1), 1) // across the wrap
  t.is(seqStep(0, MAX_INFLIGHT_BATCHES + 1), MAX_INFLIGHT_BATCHES)
  t.is(seqStep(0, MAX_INFLIGHT_BATCHES + 2), SEQ_RESTART)
  t.is(seqStep(16, 4294967295), SEQ_LATE) // 17 back
  t.is(seqStep(7, 7), SEQ_LATE)
  // The forgery that once made lost_batches=4294967279 (16 back): late, not four billion lost.
  t.is(seqStep(16, 0), SEQ_LATE)
  t.is(seqStep(1000, 1000 + 2 ** 31), SEQ_RESTART)
  t.is(seqStep(MAX_INFLIGHT_BATCHES + 10, 5), SEQ_RESTART)
  const seqs = createSeqTable(3)
  t.is(seqs.step(1, 10), 0)
  t.is(seqs.step(1, 12), 1)
  t.is(seqs.step(1, 11), SEQ_LATE)
  t.is(seqs.step(1, 13), 0) // a late batch does not move the last number back
  t.is(seqs.step(2, 0), 0)
  t.is(seqs.step(3, 0), 0)
  t.is(seqs.step(1, 14), 0) // 1 is now the most recently seen
  t.is(seqs.step(4, 0), 0) // evicts 2, the least recently seen
  t.is(seqs.step(1, 16), 1)
  t.is(seqs.step(2, 5), 0) // forgotten: starts afresh
  t.true(MAX_INSTANCES >= 1024)
})

test('acknowledgement round trip, every truncation and bad fields rejected with EACK codes', (t) => {
  const ack = { instance: 0xfeedf00d, ranges: [0, 9, 4294967290, 3] }
  const buf = Buffer.alloc(ackEncodingLength(ack) + 4)
  const end = encodeAck(ack, buf, 4)
  t.is(end, buf.length)
  t.deepEqual(decodeAck(buf.subarray(4)), ack)
  assertTruncationsFailCleanly(t, buf.subarray(4), decodeAck, 'EACK')
  const bad = Buffer.from(buf.subarray(4))
  bad[2] = 2
  t.throws(() => decodeAck(bad), { code: 'EACKVERSION' })
  t.throws(() => decodeAck(Buffer.concat([buf.subarray(4), Buffer.alloc(1)])), { code: 'EACKSIZE' })
  t.throws(() => decodeAck(Buffer.alloc(12)), { code: 'EACKMAGIC' })
})

test('serial order of sequence numbers wraps at 2^32', (t) => {
  t.true(seqBefore(1, 2))
  t.false(seqBefore(2, 1))
  t.false(seqBefore(5, 5))
  t.true(seqBefore(0xffffffff, 0))
  t.true(seqBefore(0xfffffff0, 5))
})

test('the collector merges consecutive numbers into ranges and asks for a flush when full', (t) => {
  const c = createAckCollector(7)
  t.true(c.empty)
  for (const s of [4, 5, 6, 9, 0xffffffff, 0, 1]) c.add(s)
  t.deepEqual(c.take(), { instance: 7, ranges: [4, 6, 9, 9, 0xffffffff, 1] })
  t.true(c.empty)
  let full = false
  for (let i = 0; i < ACK_MAX_RANGES && !full; i++) full = c.add(i * 2)
  t.true(full)
  t.is(c.take().ranges.length, ACK_MAX_RANGES * 2)
})

function batch(instance: number, packets: number): Buffer {
  const b = createBatchBuilder({ host: 'h', sensorId: '', source: 'pcap:-', linktype: 101, instance })
  const pkt = Buffer.alloc(40, 0x45)
  for (let i = 0; i < packets; i++) b.append(1, 0, 40, pkt, 0, 40)
  return b.finish(false)
}

/** A receiver loop that acknowledges every decoded batch; returns what it saw. */
function serve(inlet: BatchInlet, seen: number[]): Promise<void> {
  return (async () => {
    for await (const { frames, peer } of inlet.messages()) {
      const info = decodeBatch(frames[0]!).info
      seen.push(info.seq)
      inlet.delivered(peer, info.instance, info.seq)
    }
  })().catch(() => {})
}

test('batches the receiver acknowledges are delivered, numbered from 0 per socket; settle waits for them', async (t) => {
  const ep = ipcEndpoint()
  const inlet = await bindBatchInlet(ep, { receiveHighWaterMark: 1000 })
  const seen: number[] = []
  const served = serve(inlet, seen)
  const sender = await connectBatchSender(ep, 100, 1234)
  t.teardown(() => { sender.close(); inlet.close() })
  for (let i = 0; i < 50; i++) t.true(await sender.send(batch(1234, 3), 3))
  t.is(await sender.settle(5000), 0)
  t.like(sender.stats, { batchesQueued: 50, packetsQueued: 150, batchesDelivered: 50, packetsDelivered: 150, batchesLost: 0, packetsLost: 0 })
  t.deepEqual(seen, [...Array(50).keys()])
  t.is(sender.packetsInFlight, 0)
  inlet.close()
  await served
})

test('acknowledgements for another instance are ignored; nothing is claimed delivered without one', async (t) => {
  const ep = ipcEndpoint()
  const inlet = await bindBatchInlet(ep, { receiveHighWaterMark: 1000 })
  const served = (async () => {
    for await (const { peer } of inlet.messages()) inlet.delivered(peer, 999, 0)
  })().catch(() => {})
  const sender = await connectBatchSender(ep, 100, 1234)
  t.teardown(() => { sender.close(); inlet.close() })
  t.true(await sender.send(batch(1234, 2), 2))
  t.is(await sender.settle(300), 2)
  t.is(sender.stats.packetsDelivered, 0)
  inlet.close()
  await served
})

test('a receiver that dies with batches in flight: the next receiver acknowledges later ones, the gap is counted lost', async (t) => {
  const ep = ipcEndpoint()
  const sender = await connectBatchSender(ep, 1000, 55)
  t.teardown(() => sender.close())
  // The first receiver takes batches but never acknowledges them, then goes away.
  const mute = await bindBatchInlet(ep, { receiveHighWaterMark: 1000 })
  let got = 0
  const muted = (async () => { for await (const _m of mute.messages()) got += 1 })().catch(() => {})
  for (let i = 0; i < 10; i++) t.true(await sender.send(batch(55, 1), 1))
  await waitFor(() => got === 10, 10000, 'the first receiver to take 10 batches')
  mute.close()
  await muted
  const inlet = await bindBatchInlet(ep, { receiveHighWaterMark: 1000 })
  t.teardown(() => inlet.close())
  const seen: number[] = []
  const served = serve(inlet, seen)
  // Batches sent before the sender notices the first receiver has gone go down with it too: keep
  // sending until the new receiver has some.
  let queued = 10
  await waitFor(async () => {
    if (await sender.send(batch(55, 1), 1)) queued += 1
    return seen.length >= 3
  }, 20000, 'the second receiver to get batches')
  t.is(await sender.settle(5000), 0)
  t.is(sender.stats.packetsQueued, queued)
  t.is(sender.stats.packetsDelivered, seen.length)
  t.is(sender.stats.packetsLost, queued - seen.length)
  t.true(sender.stats.packetsLost >= 10)
  t.deepEqual(seen, [...Array(seen.length).keys()].map((i) => queued - seen.length + i))
  inlet.close()
  await served
})

test('no more than the byte bound waits unacknowledged: further batches are refused, not queued', async (t) => {
  const ep = ipcEndpoint()
  const mute = await bindBatchInlet(ep, { receiveHighWaterMark: 1000 })
  const muted = (async () => { for await (const _m of mute.messages()) { /* never acknowledged */ } })().catch(() => {})
  const one = batch(77, 10).length
  const sender = await connectBatchSender(ep, 1000, 77, one * 5)
  t.teardown(() => { sender.close(); mute.close() })
  const results: boolean[] = []
  for (let i = 0; i < 8; i++) results.push(await sender.send(batch(77, 10), 10))
  t.deepEqual(results, [true, true, true, true, true, false, false, false])
  t.is(sender.packetsInFlight, 50)
  mute.close()
  await muted
})

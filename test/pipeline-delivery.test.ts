import test from 'ava'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pcapHeader, writePcapRecordHeader } from '../lib/pcap/writer.js'
import { ipcEndpoint, startTool, tempDir, waitFor } from './helpers/env.js'
import { counters, readPackets, startRecv, waitForCounters } from './helpers/pipeline.js'
import { ipv4, udp } from './helpers/packet-builder.js'

/** A LINKTYPE_RAW pcap of `n` distinct UDP packets of `size` payload bytes. */
function capture(path: string, n: number, size: number): void {
  const parts: Buffer[] = [pcapHeader(101)]
  for (let i = 0; i < n; i++) {
    const payload = Buffer.alloc(size, i & 0xff)
    payload.writeUInt32BE(i, 0)
    const pkt = ipv4(17, udp(1000 + (i % 50), 9, payload), { src: '10.9.0.1', dst: '10.9.0.2' })
    const rec = Buffer.alloc(16)
    writePcapRecordHeader(rec, 0, 1_700_000_000 + Math.floor(i / 1000), (i % 1000) * 1000, pkt.length, pkt.length)
    parts.push(rec, pkt)
  }
  writeFileSync(path, Buffer.concat(parts))
}

test('a file replayed to a receiver that never comes: exit 1 after --delivery-timeout, nothing claimed sent', async (t) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const file = join(dir, 'in.pcap')
  capture(file, 500, 100)
  const started = Date.now()
  const send = startTool('send', [`pcap:${file}`, ipcEndpoint(), '--delivery-timeout', '1'])
  t.teardown(() => send.stop('SIGKILL'))
  t.is(await send.exited, 1)
  t.true(Date.now() - started < 20000)
  const c = counters(send.stderr())
  t.like(c, { packets_in: 500, packets_sent: 0, batches_sent: 0 })
  t.is(c.packets_lost! + c.packets_unconfirmed! + c.dropped_queue!, 500)
  const last = send.stderr().trim().split('\n').pop()!
  t.regex(last, /^pcap-zmq-send: 500 of 500 packets were not delivered to ipc:/)
})

test('a file replayed before its receiver is up waits for it, and every packet arrives: exit 0', async (t) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const file = join(dir, 'in.pcap')
  const out = join(dir, 'out.pcap')
  capture(file, 20000, 400) // more batches than the socket queue holds
  const ep = ipcEndpoint()
  const send = startTool('send', [`pcap:${file}`, ep, '--zmq-buffer', '4', '--batch-size', '64'])
  t.teardown(() => send.stop('SIGKILL'))
  await new Promise((r) => setTimeout(r, 1500))
  const recv = await startRecv([ep, out])
  t.teardown(() => recv.stop('SIGKILL'))
  t.is(await send.exited, 0, send.stderr())
  const c = counters(send.stderr())
  t.like(c, { packets_in: 20000, packets_queued: 20000, packets_sent: 20000, packets_lost: 0, packets_unconfirmed: 0, dropped_queue: 0 })
  await waitForCounters(recv, (c) => c.packets_written === 20000, 30000, 'all packets written')
  await recv.stop('SIGINT')
  t.is(readPackets(out).length, 20000)
})

test('a receiver killed mid-replay: what the sender calls sent arrived, the rest is counted lost, unconfirmed or dropped, and the exit says so', async (t) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const file = join(dir, 'in.pcap')
  capture(file, 40000, 600)
  const ep = ipcEndpoint()
  const first = await startRecv([ep, join(dir, 'first.pcap')])
  t.teardown(() => first.stop('SIGKILL'))
  const send = startTool('send', [`pcap:${file}`, ep, '--zmq-buffer', '8', '--batch-size', '64', '--delivery-timeout', '3'])
  t.teardown(() => send.stop('SIGKILL'))
  await waitForCounters(first, (c) => (c.packets_in ?? 0) > 5000, 30000, 'the first receiver to take 5000 packets')
  await first.stop('SIGKILL')
  const second = await startRecv([ep, join(dir, 'second.pcap')])
  t.teardown(() => second.stop('SIGKILL'))
  const code = await send.exited
  await new Promise((r) => setTimeout(r, 300))
  await second.stop('SIGINT')
  const c = counters(send.stderr())
  const got = counters(second.stderr())
  t.is(c.packets_in, 40000)
  t.is(c.packets_sent! + c.packets_lost! + c.packets_unconfirmed! + c.dropped_queue!, 40000)
  t.is(c.packets_queued! + c.dropped_queue!, 40000)
  // Everything acknowledged reached one of the receivers; the second one got only acknowledged batches
  // plus at most what was still unconfirmed.
  const firstWritten = readPackets(join(dir, 'first.pcap')).length
  t.true(c.packets_sent! <= firstWritten + got.packets_written!)
  t.true(got.packets_written! >= c.packets_sent! - firstWritten)
  t.is(code, c.packets_sent === 40000 ? 0 : 1)
  if (code === 1) t.regex(send.stderr(), /packets were not delivered/)
})

test('a live pipe on stdin stopped by a signal once everything arrived: exit 0, every packet sent', async (t) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const file = join(dir, 'in.pcap')
  capture(file, 300, 200)
  const ep = ipcEndpoint()
  const recv = await startRecv([ep, join(dir, 'out.pcap')])
  t.teardown(() => recv.stop('SIGKILL'))
  const send = startTool('send', ['-', ep], { stdio: ['pipe', 'pipe', 'pipe'] })
  t.teardown(() => send.stop('SIGKILL'))
  send.child.stdin!.write(readFileSync(file)) // and kept open, as tcpdump -w - keeps it
  await waitForCounters(recv, (c) => c.packets_written === 300, 30000, '300 packets written')
  t.is(await send.stop('SIGINT'), 0, send.stderr())
  t.like(counters(send.stderr()), { packets_in: 300, packets_sent: 300, packets_unconfirmed: 0 })
})

import test from 'ava'
import { execFileSync, spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Dealer } from 'zeromq'
import { createBatchBuilder, decodeBatch } from '../lib/wire/batch.js'
import { createEncoder } from '../lib/pcap/encoder.js'
import { createCaptureReader } from '../lib/pcap/reader.js'
import { deflateSync } from 'node:zlib'
import { corpusDir, existsSync, fixtures, ipcEndpoint, runTool, sleep, tempDir, waitFor } from './helpers/env.js'
import { counters, readPackets, startRecv, waitForCounters } from './helpers/pipeline.js'
import { ethernet, ipv4, ipv6, udp } from './helpers/packet-builder.js'
import { nflogPayloadLength, nflogPayloadOffset } from '../lib/pcap/convert.js'

const fixture = (name: string) => join(fixtures, 'tcpdump', name)
const LINKTYPE_FIXTURES = [
  'OSPFv2_Capture_FINAL.pcapng', 'ipv6_mobility_1.pcap', 'babel_rtt.pcap', 'nflog.pcap',
  'quic_handshake_truncated.pcap', 'isis-infinite-loop.pcap', 'ieee802.11_exthdr.pcap',
]

/** send - < FILE (one after the other), then stop recv and return what it wrote. */
async function replay(files: string[], recvArgs: string[], sendArgs: string[] | ((i: number) => string[]) = []) {
  const { dir, cleanup } = tempDir()
  const ep = ipcEndpoint()
  const out = join(dir, 'out.pcap')
  const recv = await startRecv([ep, out, ...recvArgs])
  const sends = files.map((f, i) => runTool('send', ['-', ep, ...(typeof sendArgs === 'function' ? sendArgs(i) : sendArgs)], readFileSync(f), 60000))
  // Stop only once the receiver has taken everything the senders say they sent.
  const sent = sends.reduce((n, s) => n + (counters(s.stderr).packets_sent ?? 0), 0)
  // Each look asks and waits for the answer (not the line printed before the signal); the wait
  // survives the other tests of this file holding the event loop in their spawnSync calls.
  // More than that is for the test's exact counts to judge, not something to wait out.
  try {
    await waitForCounters(recv, (c) => (c.packets_in ?? 0) >= sent, 120000, `${sent} packets at the receiver`)
  } finally {
    await recv.stop('SIGINT')
  }
  return { out, recv, sends, cleanup, packets: readPackets(out) }
}

test('captures of many link types reach the receiver packet for packet (pcapng --mixed-linktypes keeps each link type)', async (t) => {
  const files = LINKTYPE_FIXTURES.map(fixture)
  const r = await replay(files, ['--format', 'pcapng', '--mixed-linktypes'])
  t.teardown(r.cleanup)
  const expected = files.flatMap((f) => readPackets(f))
  t.is(r.packets.length, expected.length)
  // Each sender run is one interface; within it, packets keep order, bytes, length and time.
  const key = (p: { linktype: number; data: Buffer; origLen: number; tsSec: number; tsNsec: number }) => `${p.linktype}:${p.data.toString('hex')}:${p.origLen}:${p.tsSec}:${Math.floor(p.tsNsec / 1000)}`
  t.deepEqual(r.packets.map(key).sort(), expected.map(key).sort())
  for (const s of r.sends) t.is(s.status, 0, s.stderr)
  t.like(counters(r.recv.stderr()), { packets_in: expected.length, packets_written: expected.length, bad_frames: 0 })
})

test('plain pcap with mixed senders: IP-carrying frames become RAW, the rest are skipped, counted and explained', async (t) => {
  const files = ['babel_rtt.pcap', 'OSPFv2_Capture_FINAL.pcapng', 'ieee802.11_exthdr.pcap'].map(fixture)
  const r = await replay(files, ['--linktype', 'raw'])
  t.teardown(r.cleanup)
  t.true(r.packets.every((p) => p.linktype === 101))
  const ospfIp = readPackets(fixture('OSPFv2_Capture_FINAL.pcapng')).filter((p) => p.data.readUInt16BE(12) === 0x0800)
  t.is(r.packets.length, 9 + ospfIp.length)
  const c = counters(r.recv.stderr())
  t.is(c.skipped_linktype, 30 - ospfIp.length + 26)
  t.regex(r.recv.stderr(), /link type LINKTYPE_127 from .* skipped: they carry no IP packet and this pcap stream has link type RAW .*; --format pcapng --mixed-linktypes keeps every link type, for tshark\/Wireshark only/)
  const tcpdump = spawnSync('tcpdump', ['-n', '-r', r.out], { encoding: 'utf8' })
  t.is(tcpdump.status, 0, tcpdump.stderr)
  t.is(tcpdump.stdout.trim().split('\n').length, r.packets.length)
})

/** A pcap file of `linktype` holding `frames`, one second apart. */
function pcapFile(path: string, linktype: number, frames: Buffer[]): void {
  const h = Buffer.alloc(24)
  h.writeUInt32LE(0xa1b2c3d4, 0); h.writeUInt16LE(2, 4); h.writeUInt16LE(4, 6); h.writeUInt32LE(65535, 16); h.writeUInt32LE(linktype, 20)
  const recs = frames.map((f, i) => {
    const r = Buffer.alloc(16)
    r.writeUInt32LE(1700000000 + i, 0); r.writeUInt32LE(f.length, 8); r.writeUInt32LE(f.length, 12)
    return Buffer.concat([r, f])
  })
  writeFileSync(path, Buffer.concat([h, ...recs]))
}

/** Three senders of three link types: raw IP (babel), Ethernet (IPv4, VLAN-tagged IPv6, ARP) and NFLOG. */
function mixedSenders(dir: string) {
  const ether = join(dir, 'ether.pcap')
  const v4 = ipv4(17, udp(1000, 53, Buffer.from('eth-v4')))
  const v6 = ipv6(17, udp(1000, 53, Buffer.from('eth-v6')))
  const arp = Buffer.from('0001080006040001020000000001c0000201000000000000c0000202', 'hex')
  pcapFile(ether, 1, [ethernet(0x0800, v4), ethernet(0x86dd, v6, [[0x8100, 10]]), ethernet(0x0806, arp), ethernet(0x0800, v4), ethernet(0x0806, arp)])
  return {
    files: [fixture('babel_rtt.pcap'), ether, fixture('nflog.pcap')],
    sensors: ['raw', 'ether', 'nflog'],
    /** What a RAW output holds for each sender, in order. */
    rawIp: [readPackets(fixture('babel_rtt.pcap')).map((p) => p.data), [v4, v6, v4], readPackets(fixture('nflog.pcap')).map((p) => {
      const off = nflogPayloadOffset(p.data)
      return p.data.subarray(off, off + nflogPayloadLength(p.data, off))
    })],
    arps: 2,
  }
}

test('pcapng with mixed senders (default): one link type, conversions where lossless, and tcpdump reads the whole file', async (t) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const m = mixedSenders(dir)
  const r = await replay(m.files, ['--format', 'pcapng'], (i) => ['--sensor-id', m.sensors[i]!])
  t.teardown(r.cleanup)
  const sent = r.sends.reduce((n, s) => n + (counters(s.stderr).packets_sent ?? 0), 0)
  const c = counters(r.recv.stderr())
  t.is(sent, 9 + 5 + 4)
  t.is(c.skipped_linktype, m.arps)
  t.is(c.packets_written, sent - m.arps)
  // The first packet is raw IP, so the file is RAW: Ethernet and NFLOG frames lose only their framing,
  // and every sender shares the one interface libpcap accepts for LINKTYPE_RAW.
  t.true(r.packets.every((p) => p.linktype === 101 && p.iface === 0))
  t.deepEqual(r.packets.map((p) => p.data.toString('hex')), m.rawIp.flat().map((d) => d.toString('hex')))
  t.regex(r.recv.stderr(), /link type ETHERNET from [^ ]+\/ether skipped: they carry no IP packet and this pcapng stream has link type RAW .*; --mixed-linktypes keeps every link type, for tshark\/Wireshark only/)
  const tcpdump = spawnSync('tcpdump', ['-n', '-r', r.out], { encoding: 'utf8' })
  t.is(tcpdump.status, 0, tcpdump.stderr)
  t.is(tcpdump.stdout.trim().split('\n').length, sent - c.skipped_linktype!)
  t.regex(tcpdump.stderr, /link-type RAW/)
})

test('pcapng --linktype nflog with mixed senders: one NFLOG interface per sender, and tcpdump reads the whole file', async (t) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const m = mixedSenders(dir)
  const r = await replay(m.files, ['--format', 'pcapng', '--linktype', 'nflog'], (i) => ['--sensor-id', m.sensors[i]!])
  t.teardown(r.cleanup)
  const c = counters(r.recv.stderr())
  t.like(c, { packets_in: 18, skipped_linktype: m.arps, packets_written: 18 - m.arps })
  t.true(r.packets.every((p) => p.linktype === 239))
  // Raw IP and Ethernet IP packets get a minimal NFLOG header; the NFLOG sender's frames are kept whole.
  const ip = (d: Buffer) => { const off = nflogPayloadOffset(d); return d.subarray(off, off + nflogPayloadLength(d, off)).toString('hex') }
  const byIface = [0, 1, 2].map((i) => r.packets.filter((p) => p.iface === i).map((p) => ip(p.data)))
  t.deepEqual(byIface, m.rawIp.map((pkts) => pkts.map((d) => d.toString('hex'))))
  t.deepEqual(r.packets.filter((p) => p.iface === 2).map((p) => p.data.toString('hex')), readPackets(fixture('nflog.pcap')).map((p) => p.data.toString('hex')))
  const tcpdump = spawnSync('tcpdump', ['-n', '-r', r.out], { encoding: 'utf8' })
  t.is(tcpdump.status, 0, tcpdump.stderr)
  t.is(tcpdump.stdout.trim().split('\n').length, 18 - m.arps)
  t.regex(tcpdump.stderr, /link-type NFLOG/)
})

test('pcapng --mixed-linktypes keeps every packet in its own link type: tshark reads them all, tcpdump refuses the file', async (t) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const m = mixedSenders(dir)
  const r = await replay(m.files, ['--format', 'pcapng', '--mixed-linktypes'], (i) => ['--sensor-id', m.sensors[i]!])
  t.teardown(r.cleanup)
  t.like(counters(r.recv.stderr()), { packets_in: 18, packets_written: 18, skipped_linktype: 0 })
  const tshark = spawnSync('tshark', ['-n', '-r', r.out, '-T', 'fields', '-e', 'frame.interface_id', '-e', 'frame.interface_name', '-e', 'frame.protocols'], { encoding: 'utf8' })
  t.is(tshark.status, 0, tshark.stderr)
  const rows = tshark.stdout.trim().split('\n').map((l) => l.split('\t'))
  t.is(rows.length, 18)
  const perIface = new Map<string, { name: string; link: Set<string>; n: number }>()
  for (const [id, name, protos] of rows) {
    const e = perIface.get(id!) ?? { name: name!, link: new Set<string>(), n: 0 }
    e.link.add(protos!.split(':')[0]!)
    e.n += 1
    perIface.set(id!, e)
  }
  t.deepEqual([...perIface.entries()].map(([id, e]) => [id, e.name.replace(/^.*\//, ''), [...e.link].join(), e.n]), [
    ['0', 'raw:pcap:-', 'raw', 9], ['1', 'ether:pcap:-', 'eth', 5], ['2', 'nflog:pcap:-', 'nflog', 4],
  ])
  // The trade-off this flag documents: libpcap readers (tcpdump, Snort) refuse such a file.
  const tcpdump = spawnSync('tcpdump', ['-n', '-r', r.out], { encoding: 'utf8' })
  t.not(tcpdump.status, 0)
  t.regex(tcpdump.stderr, /an interface has a type 1 different from the type of the first interface/)
})

function bigPcap(path: string, packets: number, size: number): void {
  const h = Buffer.alloc(24)
  h.writeUInt32LE(0xa1b2c3d4, 0); h.writeUInt16LE(2, 4); h.writeUInt16LE(4, 6); h.writeUInt32LE(65535, 16); h.writeUInt32LE(101, 20)
  const rec = Buffer.alloc(16 + size)
  const parts = [h]
  for (let i = 0; i < packets; i++) {
    const r = Buffer.from(rec)
    r.writeUInt32LE(1700000000 + Math.floor(i / 1000), 0); r.writeUInt32LE(i % 1000, 4); r.writeUInt32LE(size, 8); r.writeUInt32LE(size, 12)
    r.writeUInt8(0x45, 16); r.writeUInt16BE(size, 18); r.writeUInt32BE(i, 20); r.fill(i % 251, 36)
    parts.push(r)
  }
  writeFileSync(path, Buffer.concat(parts))
}

test('rate control above the low watermark compresses; above the high watermark the excess is dropped', async (t) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const input = join(dir, 'in.pcap')
  bigPcap(input, 20000, 500) // ~10 MB, replayed far faster than 1 MiB/s
  const lwm = await replay([input], [], ['--rate-control', '--lwm', '0.5', '--hwm', '0', '--wm-interval', '0.5'])
  t.teardown(lwm.cleanup)
  const s1 = counters(lwm.sends[0]!.stderr.toString())
  t.true(s1.batches_compressed! > 0, lwm.sends[0]!.stderr)
  t.is(s1.dropped_hwm, 0)
  t.is(lwm.packets.length, 20000)
  t.true(counters(lwm.recv.stderr()).compressed_batches! > 0)
  t.deepEqual(lwm.packets[12345]!.data, readPackets(input)[12345]!.data)

  const hwm = await replay([input], [], ['--rate-control', '--lwm', '0.2', '--hwm', '1', '--wm-interval', '0.5'])
  t.teardown(hwm.cleanup)
  const s2 = counters(hwm.sends[0]!.stderr.toString())
  t.true(s2.dropped_hwm! > 0, hwm.sends[0]!.stderr)
  t.is(s2.packets_sent! + s2.dropped_hwm!, 20000)
  t.is(hwm.packets.length, s2.packets_sent)
  t.regex(hwm.sends[0]!.stderr.toString(), /above the high watermark/)
})

test('garbage on the receiver socket is counted per kind and skipped; good batches still arrive', async (t) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const ep = ipcEndpoint()
  const out = join(dir, 'out.pcap')
  const recv = await startRecv([ep, out])
  const push = new Dealer({ linger: 1000 })
  push.connect(ep)
  const good = createBatchBuilder({ host: 'good', sensorId: '', source: 'pcap:-', linktype: 101, instance: 7 })
  const pkt = Buffer.from('4500001c0001000040117cce7f0000017f0000010035003500080000', 'hex')
  const goodMsg = () => { good.append(1, 0, pkt.length, pkt, 0, pkt.length); return good.finish(false) }
  const bad = createBatchBuilder({ host: 'evil', sensorId: 'x', source: 'pcap:-', linktype: 101, instance: 9 })
  bad.append(1, 0, pkt.length, pkt, 0, pkt.length)
  const valid = bad.finish(false)
  const v9 = Buffer.from(valid); v9[2] = 9
  const bombHeader = valid.subarray(0, valid.readUInt16BE(6))
  const bomb = Buffer.concat([bombHeader, deflateSync(Buffer.alloc(100 << 20))]); bomb[3] = 1
  const frames = [
    Buffer.from('random bytes that are not a batch at all'), valid.subarray(0, valid.length - 5), v9, bomb,
    Buffer.alloc(0), goodMsg(), Buffer.from(valid.subarray(0, 30)), goodMsg(),
  ]
  for (const f of frames) await push.send(f)
  await push.send([goodMsg(), goodMsg()]) // multipart: not ours
  await waitFor(() => (recv.child.kill('SIGUSR1'), counters(recv.stderr(), 'counters').bad_frames === 7), 30000, '7 bad frames counted')
  push.close()
  await recv.stop('SIGINT')
  const c = counters(recv.stderr())
  t.is(c.bad_frames, 7)
  t.is(c.packets_written, 2)
  t.is(readPackets(out).length, 2)
  t.regex(recv.stderr(), /bad frame from evil\/x: Cannot decode batch \(unknown version 9\)/)
  t.regex(recv.stderr(), /bad frame from evil\/x: Cannot decode batch \(inflates past the declared 48 bytes\)/)
  t.is(c.zlib_bombs, 1)
  t.regex(recv.stderr(), /bad frame from unknown sender/)
  t.is(recv.child.exitCode, 0)
})

test('FIFO: a reader that goes away is replaced, and the new one gets a fresh header and whole packets', async (t) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const fifo = join(dir, 'snort.pcap')
  execFileSync('mkfifo', [fifo])
  const ep = ipcEndpoint()
  const recv = await startRecv([ep, fifo])
  const input = readFileSync(fixture('babel_rtt.pcap'))
  // Reader 1 reads 3 packets and leaves.
  const r1 = spawnSync('sh', ['-c', `tcpdump -n -c 3 -r ${fifo} 2>/dev/null & sleep 0.3; for i in 1 2 3 4 5 6; do node ${join(process.cwd(), 'bin/pcap-zmq-send.js')} - ${ep} < ${fixture('babel_rtt.pcap')}; sleep 0.2; done; wait`], { encoding: 'utf8', timeout: 30000 })
  t.is(r1.stdout.trim().split('\n').length, 3, r1.stderr)
  // Reader 2 opens later and must see a valid stream from its first byte.
  const reader = spawnSync('sh', ['-c', `timeout 10 tcpdump -n -c 18 -r ${fifo} 2>&1 & sleep 0.5; for i in 1 2 3; do node ${join(process.cwd(), 'bin/pcap-zmq-send.js')} - ${ep} < ${fixture('babel_rtt.pcap')}; sleep 0.3; done; wait`], { encoding: 'utf8', timeout: 30000 })
  const lines = reader.stdout.trim().split('\n').filter((l) => /babel/.test(l))
  t.is(lines.length, 18, reader.stdout)
  t.notRegex(reader.stdout, /bad dump file|truncated|unknown file format/)
  await recv.stop('SIGINT')
  const c = counters(recv.stderr())
  t.true(c.reader_reopens! >= 1)
  t.true(c.no_reader! > 0) // packets that arrived while nobody read were counted, not held
  t.true(input.length > 0)
})

test('the buffer interface returns the latest traffic as a capture', async (t) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const ep = ipcEndpoint()
  const bif = ipcEndpoint()
  const recv = await startRecv([ep, join(dir, 'out.pcap'), '--buffer-interface', bif, '--buffer-window', '1'])
  for (const f of ['babel_rtt.pcap', 'ipv6_mobility_1.pcap']) runTool('send', ['-', ep], readFileSync(fixture(f)))
  await waitFor(() => /packets_in=25/.test((recv.child.kill('SIGUSR1'), recv.stderr())), 30000, 'packets to arrive')
  const q = runTool('query', [bif])
  t.is(q.status, 0, q.stderr)
  const pkts = readPackets(q.stdout)
  t.is(pkts.length, 25)
  t.true(pkts.every((p) => p.linktype === 101))
  const none = runTool('query', [ipcEndpoint(), '--timeout', '0.3'])
  t.is(none.status, 1)
  t.regex(none.stderr, /^pcap-zmq-query: no answer from ipc:.* within 0.3 s/)
  await recv.stop('SIGINT')
})

test('user mistakes end in one clear line and a non-zero exit', (t) => {
  const cases: Array<[string, string[], RegExp]> = [
    ['send', ['0,abc', 'tcp://127.0.0.1:1'], /^pcap-zmq-send: bad source "0,abc"/],
    ['send', ['0', 'localhost:5555'], /is not a ZeroMQ endpoint/],
    ['send', ['0', 'tcp://127.0.0.1'], /has no port/],
    ['send', ['0', 'tcp://127.0.0.1:1', '--lwm', 'x'], /--lwm expects a number/],
    ['send', ['0', 'tcp://127.0.0.1:1', '--nope'], /Unknown argument: nope/],
    ['send', ['-', 'tcp://127.0.0.1:1', '-c', '/nonexistent.yaml'], /cannot read config \/nonexistent.yaml/],
    ['send', ['pcap:/nonexistent.pcap', 'tcp://127.0.0.1:1'], /cannot read \/nonexistent.pcap: no such file/],
    ['recv', ['tcp://127.0.0.1:1', '-', '--format', 'xml'], /--format expects pcap or pcapng/],
    ['recv', ['tcp://127.0.0.1:1', '-', '--linktype', 'bogus'], /--linktype expects/],
    ['recv', ['tcp://127.0.0.1:1', '-', '--mixed-linktypes'], /--mixed-linktypes needs --format pcapng/],
    ['recv', ['tcp://127.0.0.1:1', '-', '--format', 'pcapng', '--mixed-linktypes', '--linktype', 'raw'], /--linktype may only be auto or nflog/],
    ['recv', ['tcp://10.255.255.1:1', '-'], /^pcap-zmq-recv: cannot bind tcp:\/\/10.255.255.1:1: /],
    ['query', ['nope'], /is not a ZeroMQ endpoint/],
  ]
  for (const [tool, args, re] of cases) {
    const r = runTool(tool, args, '', 10000)
    t.not(r.status, 0, `${tool} ${args.join(' ')}`)
    t.regex(r.stderr, re, `${tool} ${args.join(' ')}`)
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr)
    t.notRegex(r.stderr, /\n\s+at /)
  }
  const garbage = runTool('send', ['-', 'tcp://127.0.0.1:1'], 'this is not a capture file at all')
  t.is(garbage.status, 1)
  t.regex(garbage.stderr, /stdin: Cannot decode capture \(not a pcap or pcapng stream: bad magic\)/)
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  writeFileSync(join(dir, 'c.yaml'), 'zmq-bufer: 3\n')
  const typo = runTool('send', ['-', 'tcp://127.0.0.1:1', '-c', join(dir, 'c.yaml')], '')
  t.regex(typo.stderr, /unknown key "zmq-bufer"/)
})

test('optional sweep: every capture in the tcpdump corpus goes through the send and recv code paths intact', (t) => {
  if (!existsSync(corpusDir)) {
    t.log(`skipped: ${corpusDir} is absent`)
    t.pass()
    return
  }
  // In-process (reader -> batch builder -> wire -> decode -> pcapng encoder -> reader): the same
  // code the two tools run, without 800 process start-ups.
  const files = readdirSync(corpusDir).filter((f) => /\.pcap(ng)?$/.test(f))
  let total = 0
  let refused = 0
  for (const f of files) {
    const enc = createEncoder({ format: 'pcapng', mixedLinktypes: true, application: 'sweep' })
    const builders = new Map<string, ReturnType<typeof createBatchBuilder>>()
    const chunks: Buffer[] = []
    let n = 0
    const flush = () => {
      for (const b of builders.values()) {
        if (b.count === 0) continue
        const res = enc.encode(decodeBatch(b.finish(true)))
        chunks.push(res.preface, res.chunk)
        t.is(res.skipped, 0, f)
      }
    }
    const reader = createCaptureReader((p) => {
      n += 1
      const key = `${p.iface}:${p.linktype}`
      let b = builders.get(key)
      if (!b) builders.set(key, (b = createBatchBuilder({ host: 'sweep', sensorId: '', source: `pcap:${f}`, linktype: p.linktype, instance: 1 }, 64 << 10)))
      if (b.count > 0 && !b.fits(p.data.length)) flush()
      b.append(p.tsSec, p.tsNsec, p.origLen, p.data, 0, p.data.length)
    })
    try {
      reader.push(readFileSync(join(corpusDir, f)))
      reader.end()
    } catch (err) {
      t.regex((err as { code?: string }).code ?? '', /^EPCAP/, f)
      refused += 1
      continue
    }
    flush()
    const back = readPackets(Buffer.concat([enc.preamble()!, ...chunks]))
    t.is(back.length, n, f)
    total += n
  }
  t.log(`${files.length} captures, ${total} packets, ${refused} files refused with a coded error`)
})

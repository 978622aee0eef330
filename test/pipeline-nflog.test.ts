import test from 'ava'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { nflogPayloadLength, nflogPayloadOffset } from '../lib/pcap/convert.js'
import { ipcEndpoint, isRoot, ROOT_SKIP, sleep, startTool, tempDir, waitFor, type Tool } from './helpers/env.js'
import { createNetns, type Netns } from './helpers/netns.js'
import { counters, readPackets, startRecv, waitForCounters } from './helpers/pipeline.js'

const rootTest = isRoot ? test.serial : test.skip
if (!isRoot) test('NFLOG end-to-end tests', (t) => { t.log(`skipped: ${ROOT_SKIP}`); t.pass() })

let nextGroup = 100 + (process.pid % 50) * 10

/** A namespace where UDP to port 9 on loopback (v4 and v6) is logged to `group` (and `refGroup`). */
function nflogNetns(group: number, refGroup?: number): Netns {
  const ns = createNetns('pzpn')
  for (const ipt of ['iptables', 'ip6tables']) {
    ns.exec(ipt, ['-I', 'OUTPUT', '-p', 'udp', '--dport', '9', '-j', 'NFLOG', '--nflog-group', String(group), '--nflog-prefix', 'pzp', '--nflog-threshold', '1'])
    if (refGroup !== undefined) ns.exec(ipt, ['-I', 'OUTPUT', '-p', 'udp', '--dport', '9', '-j', 'NFLOG', '--nflog-group', String(refGroup), '--nflog-threshold', '1'])
  }
  return ns
}

/** Sends `count` UDP datagrams (v4 and v6 alternately, distinct payloads) to port 9 inside `ns`. */
function traffic(ns: Netns, count: number, tag: string, gapMs = 2): Promise<void> {
  const py = `
import socket, time
s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
for i in range(${count}):
    msg = b'${tag}-%05d-' % i + bytes(range(i % 200))
    (s4.sendto(msg, ('127.0.0.1', 9)) if i % 2 == 0 else s6.sendto(msg, ('::1', 9)))
    time.sleep(${gapMs / 1000})
`
  return new Promise((resolve, reject) => {
    const p = spawn('ip', ['netns', 'exec', ns.name, 'python3', '-c', py], { stdio: 'ignore' })
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`traffic exited ${code}`))))
  })
}

function startSend(ns: Netns, group: number, ep: string, extra: string[] = []): Tool {
  return startTool('send', [String(group), ep, '--libnflog-timeout', '0.05', '--libnflog-qthresh', '20', '--debug', ...extra], { netns: ns.name })
}

async function sendReady(s: Tool): Promise<void> {
  await waitFor(() => s.stderr().includes('sending NFLOG') || s.child.exitCode !== null, 30000, 'pcap-zmq-send to start')
  if (s.child.exitCode !== null) throw new Error(`pcap-zmq-send exited: ${s.stderr()}`)
}

rootTest('NFLOG -> send -> recv -> FIFO -> tcpdump: the same bytes tcpdump -i nflog captured', async (t) => {
  const group = nextGroup++
  const ref = nextGroup++
  const ns = nflogNetns(group, ref)
  const { dir, cleanup } = tempDir()
  t.teardown(() => { ns.remove(); cleanup() })
  const fifo = join(dir, 'snort.pcap')
  ns.exec('mkfifo', [fifo])
  // TCP inside the namespace, and the sender drops to `nobody` once its sockets are open (-u).
  const ep = 'tcp://127.0.0.1:4455'
  const recv = await startRecv([ep, fifo], ns.name)
  const refFile = join(dir, 'ref.pcap')
  const refCap = spawn('ip', ['netns', 'exec', ns.name, 'tcpdump', '-i', `nflog:${ref}`, '-w', refFile, '--immediate-mode'], { stdio: 'ignore' })
  const outFile = join(dir, 'out.pcap')
  const reader = spawn('tcpdump', ['-r', fifo, '-w', outFile], { stdio: 'ignore' })
  const readerDone = new Promise((r) => reader.on('exit', r))
  const send = startSend(ns, group, ep, ['-u', 'nobody'])
  await sendReady(send)
  await sleep(700) // tcpdump's nflog socket
  await traffic(ns, 200, 'fifo')
  await waitForCounters(recv, (c) => c.packets_written === 200, 30000, '200 packets written')
  await send.stop('SIGINT')
  refCap.kill('SIGINT')
  await recv.stop('SIGINT')
  await readerDone
  await sleep(200)
  const ours = readPackets(outFile)
  const theirs = readPackets(refFile).map((p) => {
    const off = nflogPayloadOffset(p.data)
    return p.data.subarray(off, off + nflogPayloadLength(p.data, off))
  })
  t.is(ours.length, 200)
  t.is(theirs.length, 200)
  t.true(ours.every((p) => p.linktype === 101))
  t.deepEqual(ours.map((p) => p.data.toString('hex')), theirs.map((d) => d.toString('hex')))
  const s = counters(send.stderr())
  t.like(s, { packets_in: 200, packets_sent: 200, dropped_queue: 0, dropped_hwm: 0, enobufs: 0 })
  t.regex(send.stderr(), /running as nobody/)
})

rootTest('two senders in two namespaces into one receiver: pcapng keeps them apart, NFLOG metadata kept', async (t) => {
  const g = nextGroup++
  const a = nflogNetns(g)
  const b = nflogNetns(g) // the same group number in another namespace is another log
  const { dir, cleanup } = tempDir()
  t.teardown(() => { a.remove(); b.remove(); cleanup() })
  const ep = ipcEndpoint()
  const out = join(dir, 'merged.pcapng')
  const recv = await startRecv([ep, out, '--format', 'pcapng', '--linktype', 'nflog'])
  const sa = startSend(a, g, ep, ['--sensor-id', 'east'])
  const sb = startSend(b, g, ep, ['--sensor-id', 'west'])
  await sendReady(sa)
  await sendReady(sb)
  await Promise.all([traffic(a, 60, 'east'), traffic(b, 40, 'west')])
  await waitForCounters(recv, (c) => c.packets_written === 100, 30000, '100 packets')
  await Promise.all([sa.stop('SIGINT'), sb.stop('SIGINT')])
  await recv.stop('SIGINT')
  const pkts = readPackets(out)
  t.is(pkts.length, 100)
  t.true(pkts.every((p) => p.linktype === 239))
  const byIface = new Map<number, string[]>()
  for (const p of pkts) {
    const off = nflogPayloadOffset(p.data)
    const text = p.data.subarray(off, off + nflogPayloadLength(p.data, off)).toString('latin1')
    const tag = /(east|west)-/.exec(text)?.[1] ?? '?'
    byIface.set(p.iface, [...(byIface.get(p.iface) ?? []), tag])
    t.true(p.data.includes(Buffer.from('pzp\0')), 'NFLOG prefix TLV kept')
  }
  const sets = [...byIface.values()].map((tags) => [...new Set(tags)].join() + ':' + tags.length).sort()
  t.deepEqual(sets, ['east:60', 'west:40'])
  t.regex(recv.stderr(), /sender [^ ]+\/east: batches=\d+ packets=60/)
  t.regex(recv.stderr(), /sender [^ ]+\/west: batches=\d+ packets=40/)
})

rootTest('receiver killed and restarted mid-stream: the sender keeps capturing, counts drops, delivery resumes', async (t) => {
  const g = nextGroup++
  const ns = nflogNetns(g)
  const { dir, cleanup } = tempDir()
  t.teardown(() => { ns.remove(); cleanup() })
  const ep = ipcEndpoint()
  let recv = await startRecv([ep, join(dir, 'first.pcap')])
  const send = startSend(ns, g, ep, ['--zmq-buffer', '2'])
  await sendReady(send)
  await traffic(ns, 50, 'before')
  await waitForCounters(recv, (c) => c.packets_written === 50, 30000, 'first 50')
  await recv.stop('SIGKILL')
  // While nobody listens: ZMQ keeps --zmq-buffer batches, the rest is dropped and counted.
  await traffic(ns, 300, 'down', 5)
  recv = await startRecv([ep, join(dir, 'second.pcap')])
  // libzmq may keep the dead connection's queue full; the sender replaces a socket stuck for 1 s.
  await traffic(ns, 100, 'after', 20)
  await sleep(500)
  send.child.kill('SIGUSR1')
  await send.stop('SIGINT')
  await recv.stop('SIGINT')
  const s = counters(send.stderr())
  t.is(s.packets_in, 450)
  t.true(s.dropped_queue! > 0, send.stderr())
  // Every packet is accounted for once: acknowledged, never queued, or lost with the dead receiver.
  t.is(s.packets_sent! + s.dropped_queue! + s.packets_lost! + s.packets_unconfirmed!, 450)
  t.is(s.packets_queued! + s.dropped_queue!, 450)
  const second = readPackets(join(dir, 'second.pcap')).map((p) => /(before|down|after)-(\d+)/.exec(p.data.toString('latin1'))?.slice(1).join('-'))
  // How soon the stuck socket is replaced depends on the machine's load; once it is, nothing is lost:
  // the 'after' packets that arrived are one unbroken run up to the last one sent.
  const after = second.filter((x) => x?.startsWith('after')).map((x) => Number(x!.slice(6)))
  t.true(after.length >= 20, second.join(' '))
  t.deepEqual(after, Array.from({ length: 100 - after[0]! }, (_, i) => after[0]! + i), second.join(' '))
  t.is(send.child.exitCode, 0)
})

rootTest('errors a user can make with NFLOG end in one line', async (t) => {
  const g = nextGroup++
  const ns = nflogNetns(g)
  t.teardown(() => ns.remove())
  const ep = ipcEndpoint()
  const first = startSend(ns, g, ep)
  await sendReady(first)
  const second = startSend(ns, g, ep)
  const code = await second.exited
  await first.stop('SIGINT')
  t.is(code, 1)
  t.regex(second.stderr().trim(), /^pcap-zmq-send: cannot bind NFLOG group \d+: .*another process/)
  const nobody = startTool('send', [String(g), ep, '-u', 'no-such-user-here'], { netns: ns.name })
  t.is(await nobody.exited, 2)
  t.regex(nobody.stderr(), /no such user "no-such-user-here"/)
})

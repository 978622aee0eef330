import test, { type ExecutionContext } from 'ava'
import { spawn, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { compileBpf } from '../lib/native/libpcap.js'
import { binPath, ipcEndpoint, isRoot, ROOT_SKIP, sh, sleep, startTool, tempDir, waitFor, type Tool } from './helpers/env.js'
import { askCounters, counters, readPackets, startRecv, waitForCounters, type ReadPacket } from './helpers/pipeline.js'
import { ipv4, ipv6 } from './helpers/packet-builder.js'
import { counterDelta, ether, flowPayload, linkCounters, packetKeys, sendTraffic, silentPair, udpPacket, udpPayloadOf, type SilentPair, type UdpFlow } from './helpers/iface.js'
import type { Netns } from './helpers/netns.js'
import { tcpBulk } from './helpers/traffic.js'

/**
 * pcap-zmq-send iface: (AF_PACKET, TPACKET_V3) end to end on a veth pair that carries only the
 * test's traffic: every capture is held to what was sent, to tcpdump -i on the same interface in
 * the same run (where the kernel stamps a packet once for every socket, the nanosecond timestamps
 * agree too) and to the interface's own counters.
 */
const rootTest = isRoot ? test.serial : test.skip
if (!isRoot) test('AF_PACKET capture tests', (t) => { t.log(`skipped: ${ROOT_SKIP}`); t.pass() })

interface Capture { send: Tool; recv: Tool; file: string }

/** pcap-zmq-recv writing a file and pcap-zmq-send iface:DEV feeding it over ipc, both in `ns`. */
async function startCapture(t: ExecutionContext, ns: Netns, dev: string, args: string[] = [], dst?: { ep: string; recvNs: Netns; bind: string }, recvArgs: string[] = []): Promise<Capture> {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const file = join(dir, 'out.pcapng')
  const ep = dst?.ep ?? ipcEndpoint()
  // pcapng keeps the ring's nanoseconds (classic pcap output is in microseconds).
  const recv = await startRecv([dst?.bind ?? ep, file, '--format', 'pcapng', ...recvArgs], (dst?.recvNs ?? ns).name)
  t.teardown(() => recv.stop('SIGKILL'))
  const send = startTool('send', [`iface:${dev}`, ep, '--debug', ...args], { netns: ns.name })
  t.teardown(() => send.stop('SIGKILL'))
  await waitFor(() => send.stderr().includes('sending iface:') || send.child.exitCode !== null, 30000, 'pcap-zmq-send to start')
  if (send.child.exitCode !== null) throw new Error(`pcap-zmq-send exited: ${send.stderr()}`)
  return { send, recv, file }
}

/**
 * Waits until the sender took `n` packets and had them all acknowledged (any number, once they
 * stop growing, when `n` is null), stops both, reads the file.
 */
async function finish(c: Capture, n: number | null): Promise<{ packets: ReadPacket[]; send: Record<string, number>; recv: Record<string, number> }> {
  if (n === null) await sleep(1500)
  else await waitForCounters(c.send, (x) => x.packets_in === n && x.packets_sent === n, 30000, `the sender to take and deliver ${n} packets`).catch(() => {})
  await c.send.stop('SIGINT')
  const sent = counters(c.send.stderr()).packets_sent ?? 0
  await waitForCounters(c.recv, (x) => x.packets_written! >= sent, 30000, 'the receiver to write them').catch(() => {})
  await c.recv.stop('SIGINT')
  return { packets: readPackets(c.file), send: counters(c.send.stderr()), recv: counters(c.recv.stderr()) }
}

interface Dump { stop: () => Promise<ReadPacket[]>; stderr: () => string }

/** tcpdump -i DEV in `ns` (nanosecond stamps, a ring large enough for the bursts), ready when it says so. */
async function startTcpdump(t: ExecutionContext, ns: Netns, dev: string, args: string[] = []): Promise<Dump> {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const file = join(dir, 'ref.pcap')
  const p = spawn('ip', ['netns', 'exec', ns.name, 'tcpdump', '-i', dev, '-n', '-B', '65536', '--immediate-mode', '--time-stamp-precision=nano', '-w', file, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  p.stderr.on('data', (d: Buffer) => { err += d.toString() })
  const exited = new Promise<void>((r) => p.on('exit', () => r()))
  t.teardown(() => { p.kill('SIGKILL') })
  await waitFor(() => err.includes('listening on') || p.exitCode !== null, 30000, 'tcpdump to start')
  if (p.exitCode !== null) throw new Error(`tcpdump exited: ${err}`)
  return {
    stderr: () => err,
    stop: async () => {
      await sleep(300)
      p.kill('SIGINT')
      await exited
      t.regex(err, /^0 packets dropped by kernel$/m, 'tcpdump lost nothing')
      return readPackets(file)
    },
  }
}

function frameBytes(ps: ReadPacket[]): string[] {
  return ps.map((p) => p.data.toString('hex')).sort()
}

/** Two multisets of packet keys are equal; a failure says how many differ each way and shows one, cut short. */
function sameSet(t: ExecutionContext, ours: string[], want: string[], what: string): void {
  const count = (xs: string[]) => xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>())
  const a = count(ours)
  const b = count(want)
  const extra = [...a].filter(([k, n]) => n > (b.get(k) ?? 0)).map(([k]) => k)
  const missing = [...b].filter(([k, n]) => n > (a.get(k) ?? 0)).map(([k]) => k)
  const cut = (s?: string) => (s === undefined ? '' : s.length > 160 ? `${s.slice(0, 160)}...` : s)
  t.true(extra.length === 0 && missing.length === 0 && ours.length === want.length,
    `${what}: ${ours.length} vs ${want.length}; ${extra.length} not expected (e.g. ${cut(extra[0])}), ${missing.length} missing (e.g. ${cut(missing[0])})`)
}

/** IP sizes of the UDP datagrams through the stack: minimum-size frames to full 9000-byte jumbo packets. */
const UDP_SIZES = [50, 64, 200, 1000, 1500, 4000, 8999, 9000]

function flows(p: SilentPair, fromA: boolean, count: number, dport = 9, base = 40000): UdpFlow[] {
  const [s4, d4, s6, d6] = fromA ? [p.a4, p.b4, p.a6, p.b6] : [p.b4, p.a4, p.b6, p.a6]
  return [
    { src: s4, dst: d4, sport: base + 1, dport, sizes: UDP_SIZES, count, tag: fromA ? 1 : 3 },
    { src: s6, dst: d6, sport: base + 2, dport, sizes: UDP_SIZES, count, tag: fromA ? 2 : 4 },
  ]
}

const datagrams = (fs: UdpFlow[]) => fs.reduce((n, f) => n + f.sizes.length * f.count, 0)

/** Tagged frames as they go on the wire: 802.1Q, and 802.1ad over 802.1Q (QinQ), IPv4 and IPv6 inside. */
function taggedFrames(p: SilentPair, fromA: boolean, each: number): Buffer[] {
  const [dst, src] = fromA ? [p.macB, p.macA] : [p.macA, p.macB]
  const [s4, d4, s6, d6] = fromA ? [p.a4, p.b4, p.a6, p.b6] : [p.b4, p.a4, p.b6, p.a6]
  const out: Buffer[] = []
  const tagsets: Array<Array<[number, number]>> = [[[0x8100, 0x6064]], [[0x88a8, 0x00c8], [0x8100, 0xa12c]]]
  tagsets.forEach((tags, ti) => {
    for (const size of [46, 200, 1500, 9000 - 4 * tags.length]) {
      for (let k = 0; k < each; k++) {
        const v6 = k % 2 === 1
        out.push(ether(dst, src, v6 ? 0x86dd : 0x0800, udpPacket(v6 ? s6 : s4, v6 ? d6 : d4, 6000 + ti, 9, Math.max(size, v6 ? 48 : 28), k), tags))
      }
    }
  })
  return out
}

rootTest('iface: UDP of 64 to 9014-byte frames (MTU 9000) and 802.1Q/QinQ-tagged frames, IPv4 and IPv6, both directions: exactly what was sent, what tcpdump -i saw and what the interface counted', async (t) => {
  const p = silentPair(9000)
  t.teardown(p.remove)
  const dump = await startTcpdump(t, p.a, p.va)
  const cap = await startCapture(t, p.a, p.va)
  const before = linkCounters(p.a, p.va)
  const [tagA, tagB] = [taggedFrames(p, true, 10), taggedFrames(p, false, 10)]
  const [flowA, flowB] = [flows(p, true, 12), flows(p, false, 12)]
  await Promise.all([sendTraffic(p.a, p.va, tagA, flowA), sendTraffic(p.b, p.vb, tagB, flowB)])
  const n = tagA.length + tagB.length + datagrams(flowA) + datagrams(flowB)
  const r = await finish(cap, n)
  const ref = await dump.stop()
  const d = counterDelta(before, linkCounters(p.a, p.va))
  t.log(`sent ${n}; interface rx ${d.rxPackets} tx ${d.txPackets}; tcpdump ${ref.length}; ours ${r.packets.length}`)
  t.log(`sender: ${JSON.stringify(r.send)}`)

  t.is(d.rxPackets, tagB.length + datagrams(flowB), 'the interface received what b sent, nothing else')
  t.is(d.txPackets, tagA.length + datagrams(flowA), 'the interface sent what a sent, nothing else')
  t.like(r.send, { packets_in: n, packets_sent: n, kernel_packets: n, kernel_lost: 0, kernel_freezes: 0, truncated: 0, bad_input: 0 })
  t.is(r.recv.packets_written, n)
  t.is(r.packets.length, n)
  t.true(r.packets.every((x) => x.linktype === 1), 'LINKTYPE_ETHERNET')
  t.is(r.packets.reduce((s, x) => s + x.origLen, 0), d.rxBytes + d.txBytes, 'lengths add up to the interface\'s byte counters')
  t.true(r.packets.every((x) => x.data.length === x.origLen), 'nothing cut')
  sameSet(t, packetKeys(r.packets), packetKeys(ref), 'the same packets as tcpdump -i, to the nanosecond')
  // VLAN tags come back exactly as sent, whether the kernel kept them inline (sent) or in the ring's metadata (received).
  const tagged = r.packets.filter((x) => [0x8100, 0x88a8].includes(x.data.readUInt16BE(12)))
  sameSet(t, frameBytes(tagged), [...tagA, ...tagB].map((f) => f.toString('hex')), 'tagged frames as sent')
  const payloads = r.packets.map((x) => udpPayloadOf(x.data)).filter((x): x is Buffer => x !== null).map((x) => x.toString('hex')).sort()
  const want = [...flowA, ...flowB].flatMap((f) => f.sizes.flatMap((s) => Array.from({ length: f.count }, (_, i) => flowPayload(f, s, i).toString('hex')))).sort()
  sameSet(t, payloads, want, 'every datagram\'s payload, once')
})

rootTest('iface: TCP bulk transfers both ways, IPv4 and IPv6 (GSO super-packets up to 64 KiB through the ring): the same packets as tcpdump -i, the interface\'s counts', async (t) => {
  const p = silentPair(1500)
  t.teardown(p.remove)
  const dump = await startTcpdump(t, p.a, p.va)
  const cap = await startCapture(t, p.a, p.va)
  const before = linkCounters(p.a, p.va)
  const mb = 4 << 20
  await tcpBulk(p.a, p.b, p.b4, 5201, mb)
  await tcpBulk(p.a, p.b, p.b6, 5202, mb, true)
  await sleep(200) // the last ACKs
  const d = counterDelta(before, linkCounters(p.a, p.va))
  const n = d.rxPackets + d.txPackets
  const r = await finish(cap, n)
  const ref = await dump.stop()
  const largest = Math.max(...r.packets.map((x) => x.origLen))
  t.log(`${n} packets, largest ${largest} bytes`)
  t.like(r.send, { packets_in: n, packets_sent: n, kernel_packets: n, kernel_lost: 0, truncated: 0, bad_input: 0 })
  t.true(largest > 9000, `super-packets expected, largest was ${largest}`)
  t.is(r.packets.reduce((s, x) => s + x.origLen, 0), d.rxBytes + d.txBytes)
  // Times are not compared here: TCP segments carry their departure time (a monotonic clock) across
  // the veth, so the kernel stamps them per socket as it hands them over, microseconds apart.
  sameSet(t, packetKeys(r.packets, false), packetKeys(ref, false), 'the same packets as tcpdump -i')
})

/** Untagged TCP SYNs to a MAC nobody has (no stack answers them), for filters that need TCP too. */
function tcpFrames(p: SilentPair, fromA: boolean, ports: number[]): Buffer[] {
  const src = fromA ? p.macA : p.macB
  const nobody = Buffer.from([0x02, 0, 0, 0, 0, 0x99])
  const [s4, d4, s6, d6] = fromA ? [p.a4, p.b4, p.a6, p.b6] : [p.b4, p.a4, p.b6, p.a6]
  return ports.flatMap((port, i) => [false, true].map((v6) => {
    const seg = Buffer.alloc(20)
    seg.writeUInt16BE(30000 + i, 0)
    seg.writeUInt16BE(port, 2)
    seg[12] = 0x50
    seg[13] = 0x02
    return ether(nobody, src, v6 ? 0x86dd : 0x0800, (v6 ? ipv6 : ipv4)(6, seg, { src: v6 ? s6 : s4, dst: v6 ? d6 : d4 }))
  }))
}

rootTest('iface: --bpf, --capture-ports and --ignore-ports (and --pcap-mode) keep exactly the packets their expression matches', async (t) => {
  const p = silentPair(1500)
  t.teardown(p.remove)
  const dump = await startTcpdump(t, p.a, p.va)
  const runs: Array<{ args: string[]; expr: string }> = [
    { args: ['--bpf', 'udp and ip6'], expr: 'udp and ip6' },
    { args: ['--capture-ports', '53,5353'], expr: '(tcp or udp) and (port 53 or port 5353)' },
    { args: ['--bpf', 'not ip6', '--ignore-ports', '9', '--capture-ports', '53', '--pcap-mode', 'deny'], expr: '(not ip6) and not ((tcp or udp) and port 9)' },
  ]
  const caps = await Promise.all(runs.map((r) => startCapture(t, p.a, p.va, r.args)))
  for (const [i, c] of caps.entries()) t.true(c.send.stderr().includes(`filter "${runs[i]!.expr}"`), c.send.stderr())
  const mk = (fromA: boolean) => [9, 53, 5353, 2000].flatMap((dport, i) => flows(p, fromA, 3, dport, 41000 + 10 * i).map((f) => ({ ...f, sizes: [100, 700] })))
  const [fa, fb] = [mk(true), mk(false)]
  const [ta, tb] = [tcpFrames(p, true, [53, 80, 9]), tcpFrames(p, false, [5353, 443])]
  await Promise.all([sendTraffic(p.a, p.va, ta, fa), sendTraffic(p.b, p.vb, tb, fb)])
  const total = datagrams(fa) + datagrams(fb) + ta.length + tb.length
  // What each expression should keep, counted from the traffic itself.
  const udpWith = (pred: (f: UdpFlow) => boolean) => datagrams([...fa, ...fb].filter(pred))
  const want = [
    udpWith((f) => f.src.includes(':')),
    udpWith((f) => f.dport === 53 || f.dport === 5353) + 4,
    udpWith((f) => !f.src.includes(':') && f.dport !== 9) + 4,
  ]
  const results = []
  for (const [i, c] of caps.entries()) results.push(await finish(c, want[i]!))
  const ref = await dump.stop()
  t.is(ref.length, total, 'tcpdump saw all the traffic')
  for (const [i, r] of results.entries()) {
    const f = compileBpf(runs[i]!.expr, 1)
    const matching = ref.filter((x) => f.matches(x.data, x.origLen))
    f.close()
    t.is(r.packets.length, want[i]!, runs[i]!.args.join(' '))
    t.is(matching.length, want[i]!, `libpcap's own matcher on tcpdump's capture agrees: ${runs[i]!.expr}`)
    sameSet(t, packetKeys(r.packets), packetKeys(matching), runs[i]!.args.join(' '))
  }
})

/** The flow of an IPv4/IPv6 TCP/UDP frame, the same from both ends. */
function flowKey(frame: Buffer): string {
  const type = frame.readUInt16BE(12)
  const [proto, src, dst, l4] = type === 0x0800
    ? [frame[23]!, frame.subarray(26, 30).toString('hex'), frame.subarray(30, 34).toString('hex'), 14 + (frame[14]! & 0x0f) * 4]
    : [frame[20]!, frame.subarray(22, 38).toString('hex'), frame.subarray(38, 54).toString('hex'), 54]
  const ends = [`${src}:${frame.readUInt16BE(l4)}`, `${dst}:${frame.readUInt16BE(l4 + 2)}`].sort()
  return `${proto} ${ends.join(' ')}`
}

rootTest('iface: two senders with one --fanout id see each packet once between them, each flow (both directions) in exactly one', async (t) => {
  const p = silentPair(1500)
  t.teardown(p.remove)
  const dump = await startTcpdump(t, p.a, p.va)
  const caps = await Promise.all([0, 1].map(() => startCapture(t, p.a, p.va, ['--fanout', '4242'])))
  // 64 flows out of a (IPv4 and IPv6), each answered from b on the same ports.
  const out: UdpFlow[] = []
  const back: UdpFlow[] = []
  for (let k = 0; k < 32; k++) {
    for (const v6 of [false, true]) {
      const [s, d] = v6 ? [p.a6, p.b6] : [p.a4, p.b4]
      out.push({ src: s, dst: d, sport: 42000 + k, dport: 9, sizes: [100, 1000], count: 3, tag: k })
      back.push({ src: d, dst: s, sport: 9, dport: 42000 + k, sizes: [200], count: 2, tag: 100 + k })
    }
  }
  const before = linkCounters(p.a, p.va)
  await Promise.all([sendTraffic(p.a, p.va, [], out), sendTraffic(p.b, p.vb, [], back)])
  const n = datagrams(out) + datagrams(back)
  // Between them the members must take every packet; each then delivers its own share.
  let shares = [0, 0]
  await waitFor(async () => {
    const cs = await Promise.all(caps.map((c) => askCounters(c.send)))
    shares = cs.map((c) => c?.packets_in ?? 0)
    return shares[0]! + shares[1]! === n
  }, 30000, () => `the fanout members to take ${n} packets (have ${shares.join(' + ')})`).catch(() => {})
  const results = [await finish(caps[0]!, shares[0]!), await finish(caps[1]!, shares[1]!)]
  const ref = await dump.stop()
  const d = counterDelta(before, linkCounters(p.a, p.va))
  const [x, y] = results.map((r) => r.packets)
  t.log(`fanout members: ${x!.length} + ${y!.length} packets of ${n}`)
  t.is(d.rxPackets + d.txPackets, n)
  t.is(x!.length + y!.length, n, 'each packet once')
  t.true(x!.length > 0 && y!.length > 0, 'both members got a share')
  sameSet(t, packetKeys([...x!, ...y!]), packetKeys(ref), 'together, what tcpdump saw')
  const flowsOf = (ps: ReadPacket[]) => new Set(ps.map((q) => flowKey(q.data)))
  const [fx, fy] = [flowsOf(x!), flowsOf(y!)]
  t.is(fx.size + fy.size, 64, 'every flow is in one member')
  t.deepEqual([...fx].filter((k) => fy.has(k)), [], 'no flow is split')
  for (const r of results) t.like(r.send, { kernel_lost: 0, bad_input: 0 })
  t.is(results[0]!.send.packets_in! + results[1]!.send.packets_in!, n)
})

rootTest('iface: the sender\'s own ZeroMQ connection over the captured interface is left out (and kept with --capture-own-traffic)', async (t) => {
  const p = silentPair(1500)
  t.teardown(p.remove)
  const port = 4455
  const dump = await startTcpdump(t, p.a, p.va)
  const dst = { ep: `tcp://${p.b4}:${port}`, recvNs: p.b, bind: `tcp://${p.b4}:${port}` }
  const cap = await startCapture(t, p.a, p.va, [], dst)
  t.regex(cap.send.stderr(), new RegExp(`leaving its own connection out of the capture on ${p.va}: tcp ${p.a4.replace(/\./g, '\\.')} <-> ${p.b4.replace(/\./g, '\\.')} port ${port} \\(--capture-own-traffic keeps it\\)`))
  // Datagrams within the 1500-byte MTU, so each is one packet.
  const [fa, fb] = [flows(p, true, 4), flows(p, false, 4)].map((fs) => fs.map((f) => ({ ...f, sizes: [64, 500, 1500] })))
  await Promise.all([sendTraffic(p.a, p.va, [], fa!), sendTraffic(p.b, p.vb, [], fb!)])
  const n = datagrams(fa!) + datagrams(fb!)
  const r = await finish(cap, n)
  const ref = await dump.stop()
  const own = (x: ReadPacket) => { try { return flowKey(x.data).includes(`:${port}`) && flowKey(x.data).startsWith('6 ') } catch { return false } }
  t.true(ref.filter(own).length > 0, 'the connection did cross the interface')
  t.is(r.packets.filter(own).length, 0, 'and never appears in the capture')
  t.is(r.packets.length, n)
  sameSet(t, packetKeys(r.packets), packetKeys(ref.filter((x) => !own(x))), 'everything else tcpdump saw')

  const keep = await startCapture(t, p.a, p.va, ['--capture-own-traffic'], dst)
  t.false(keep.send.stderr().includes('leaving its own connection'))
  await sendTraffic(p.a, p.va, [], fa!)
  const k = await finish(keep, null)
  t.true(k.packets.filter(own).length > 0, 'with --capture-own-traffic it is captured')
  t.is(k.packets.filter((x) => !own(x)).length, datagrams(fa!))
})

rootTest('iface: --direction in and out split the traffic as the interface counted it; -u nobody still captures', async (t) => {
  const p = silentPair(9000)
  t.teardown(p.remove)
  const ins = await startCapture(t, p.a, p.va, ['--direction', 'in', '-u', 'nobody'])
  const outs = await startCapture(t, p.a, p.va, ['--direction', 'out'])
  const status = readFileSync(`/proc/${ins.send.child.pid}/status`, 'utf8')
  t.regex(status, /^Uid:\s+65534\s+65534\s+65534\s+65534$/m, 'running as nobody')
  const before = linkCounters(p.a, p.va)
  const [tagA, tagB] = [taggedFrames(p, true, 2), taggedFrames(p, false, 2)]
  const [fa, fb] = [flows(p, true, 3), flows(p, false, 5)]
  await Promise.all([sendTraffic(p.a, p.va, tagA, fa), sendTraffic(p.b, p.vb, tagB, fb)])
  const d = counterDelta(before, linkCounters(p.a, p.va))
  const nIn = tagB.length + datagrams(fb)
  const nOut = tagA.length + datagrams(fa)
  const [ri, ro] = [await finish(ins, nIn), await finish(outs, nOut)]
  t.is(d.rxPackets, nIn)
  t.is(d.txPackets, nOut)
  t.is(ri.packets.length, nIn)
  t.is(ro.packets.length, nOut)
  t.true(ri.packets.every((x) => x.data.subarray(6, 12).equals(p.macB)), 'in: only what b sent')
  t.true(ro.packets.every((x) => x.data.subarray(6, 12).equals(p.macA)), 'out: only what a sent')
  t.is(ri.packets.reduce((s, x) => s + x.origLen, 0), d.rxBytes)
  t.is(ro.packets.reduce((s, x) => s + x.origLen, 0), d.txBytes)
  sameSet(t, frameBytes(ri.packets.filter((x) => x.data.readUInt16BE(12) !== 0x0800 && x.data.readUInt16BE(12) !== 0x86dd)), tagB.map((f) => f.toString('hex')), 'received tags back as sent')
})

/**
 * tun devices in `ns` held open by a python process: ARPHRD_NONE (LINKTYPE_RAW) as created, or
 * switched to another hardware type with TUNSETLINK while down. Each packet written to one
 * arrives on it as received from the wire.
 */
async function tunDevices(t: ExecutionContext, ns: Netns, devs: Array<{ name: string; arphrd?: number }>): Promise<{ write: (dev: number, packets: Buffer[]) => Promise<void> }> {
  const code = `
import fcntl, os, struct, sys, json
devs = json.loads(sys.argv[1])
fds = []
for d in devs:
    fd = os.open('/dev/net/tun', os.O_RDWR)
    fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH', d['name'].encode(), 0x0001 | 0x1000))  # TUNSETIFF: IFF_TUN | IFF_NO_PI
    if d.get('arphrd') is not None: fcntl.ioctl(fd, 0x400454cd, d['arphrd'])  # TUNSETLINK
    fds.append(fd)
print('ready', flush=True)
for line in sys.stdin:
    i, hexes = line.split(' ', 1)
    for h in hexes.split():
        os.write(fds[int(i)], bytes.fromhex(h))
    print('written', flush=True)
`
  const p = spawn('ip', ['netns', 'exec', ns.name, 'python3', '-u', '-c', code, JSON.stringify(devs)], { stdio: ['pipe', 'pipe', 'pipe'] })
  t.teardown(() => { p.kill('SIGKILL') })
  let out = ''
  let err = ''
  p.stdout.on('data', (d: Buffer) => { out += d.toString() })
  p.stderr.on('data', (d: Buffer) => { err += d.toString() })
  await waitFor(() => out.includes('ready') || p.exitCode !== null, 20000, 'the tun devices')
  if (p.exitCode !== null) throw new Error(`tun helper exited: ${err}`)
  let done = 0
  return {
    write: async (dev, packets) => {
      p.stdin.write(`${dev} ${packets.map((x) => x.toString('hex')).join(' ')}\n`)
      done += 1
      await waitFor(() => out.split('written').length - 1 >= done, 20000, 'the packets to be written')
    },
  }
}

rootTest('iface: tun devices: ARPHRD_NONE as LINKTYPE_RAW, an unknown hardware type (PPP) cooked as LINKTYPE_LINUX_SLL2, one sender on both, with and without a kernel filter', async (t) => {
  const ns = (() => { const p = silentPair(1500); t.teardown(p.remove); return p.a })()
  const tun = await tunDevices(t, ns, [{ name: 'pzptunraw' }, { name: 'pzptunppp', arphrd: 512 }])
  for (const [dev, a4, a6] of [['pzptunraw', '10.77.0.1', '2001:db8:77::1'], ['pzptunppp', '10.78.0.1', '2001:db8:78::1']] as const) {
    ns.exec('ip', ['link', 'set', dev, 'up'])
    ns.exec('ip', ['addr', 'add', `${a4}/24`, 'dev', dev])
    ns.exec('ip', ['-6', 'addr', 'add', `${a6}/64`, 'dev', dev, 'nodad'])
  }
  const recvArgs = ['--mixed-linktypes']
  const all = await startCapture(t, ns, 'pzptunraw,pzptunppp', [], undefined, recvArgs)
  const v6udp = await startCapture(t, ns, 'pzptunraw,pzptunppp', ['--bpf', 'udp and ip6'], undefined, recvArgs)
  t.regex(all.send.stderr(), /pzptunppp: a PPP interface: captured cooked, from the network header, as LINUX_SLL2 \(as libpcap does\)/)
  const dumps = await Promise.all(['pzptunraw', 'pzptunppp'].map((d) => startTcpdump(t, ns, d)))
  const packets = (net: string) => Array.from({ length: 12 }, (_, i) => i % 3 === 2
    ? udpPacket(`2001:db8:${net}::2`, `2001:db8:${net}::1`, 7000 + i, 9, 100 + 50 * i, i)
    : udpPacket(`10.${net}.0.2`, `10.${net}.0.1`, 7000 + i, 9, 100 + 50 * i, i))
  const [raw, ppp] = [packets('77'), packets('78')]
  await tun.write(0, raw)
  await tun.write(1, ppp)
  const [ra, rf] = [await finish(all, 24), await finish(v6udp, 8)]
  const [refRaw, refPpp] = await Promise.all(dumps.map((d) => d.stop()))

  const rawOut = ra.packets.filter((x) => x.linktype === 101)
  const sllOut = ra.packets.filter((x) => x.linktype === 276)
  t.is(rawOut.length, 12)
  t.is(sllOut.length, 12)
  sameSet(t, frameBytes(rawOut), raw.map((x) => x.toString('hex')), 'RAW: the packets as written')
  sameSet(t, packetKeys(rawOut), packetKeys(refRaw!), 'RAW: as tcpdump -i saw them')
  // tcpdump -i on one cooked interface writes the older LINUX_SLL (16-byte header); the packets and times agree.
  t.is(refPpp![0]!.linktype, 113)
  sameSet(t, packetKeys(sllOut.map((x) => ({ ...x, data: x.data.subarray(20), origLen: x.origLen - 20 }))), packetKeys(refPpp!.map((x) => ({ ...x, data: x.data.subarray(16), origLen: x.origLen - 16 }))), 'SLL2: as tcpdump -i saw them')
  const ifindex = Number(ns.exec('cat', ['/sys/class/net/pzptunppp/ifindex']).trim())
  for (const x of sllOut) {
    const v6 = x.data[20]! >> 4 === 6
    // protocol, reserved, ifindex, ARPHRD_PPP, PACKET_HOST, no link address
    t.is(x.data.subarray(0, 12).toString('hex'), `${v6 ? '86dd' : '0800'}0000${ifindex.toString(16).padStart(8, '0')}0200` + '0000')
  }
  t.is(rf.packets.length, 8, 'udp and ip6: 4 on each')
  t.true(rf.packets.every((x) => (x.linktype === 101 ? x.data[0]! >> 4 : x.data[20]! >> 4) === 6))
  t.deepEqual(rf.packets.map((x) => x.linktype).sort(), [101, 101, 101, 101, 276, 276, 276, 276])
})

rootTest('pcap-zmq-track iface: tracks sessions straight from the interface', async (t) => {
  const p = silentPair(1500)
  t.teardown(p.remove)
  const track = startTool('track', [`iface:${p.va}`, '--stats-interval', '0'], { netns: p.a.name })
  t.teardown(() => track.stop('SIGKILL'))
  // Ready once its packet socket is bound: /proc/net/packet lists it with the interface's index (R = running).
  const ifindex = p.a.exec('cat', [`/sys/class/net/${p.va}/ifindex`]).trim()
  await waitFor(() => p.a.exec('cat', ['/proc/net/packet']).split('\n').some((l) => { const f = l.trim().split(/\s+/); return f[3] === '0003' && f[4] === ifindex && f[5] === '1' }) || track.child.exitCode !== null, 30000, 'pcap-zmq-track to capture')
  const out: UdpFlow[] = []
  const back: UdpFlow[] = []
  for (let k = 0; k < 3; k++) {
    out.push({ src: p.a4, dst: p.b4, sport: 43000 + k, dport: 53, sizes: [80], count: 5, tag: k })
    back.push({ src: p.b4, dst: p.a4, sport: 53, dport: 43000 + k, sizes: [120], count: 2, tag: k })
  }
  out.push({ src: p.a6, dst: p.b6, sport: 43010, dport: 53, sizes: [90], count: 4, tag: 9 })
  await sendTraffic(p.a, p.va, [], out)
  await sendTraffic(p.b, p.vb, [], back)
  await sleep(500)
  t.is(await track.stop('SIGINT'), 0, track.stderr())
  const events = track.stdout().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
  const expired = events.filter((e) => e.state === 'EXPIRED')
  t.is(expired.length, 4, track.stdout())
  t.deepEqual(expired.map((e) => `${e.src_port}>${e.dst_port} ${e.orig_packets}/${e.reply_packets}`).sort(), ['43000>53 5/2', '43001>53 5/2', '43002>53 5/2', '43010>53 4/0'])
  t.regex(track.stderr(), /packets=25 .*kernel_packets=25 kernel_drops=0/)
})

/** A bin run to completion inside `ns`, for error paths. */
function runIn(ns: Netns, tool: string, args: string[], uid?: number): { status: number | null; stderr: string } {
  const r = uid === undefined
    ? spawnSync('ip', ['netns', 'exec', ns.name, process.execPath, binPath(tool), ...args], { encoding: 'utf8', timeout: 30000 })
    : spawnSync(process.execPath, [binPath(tool), ...args], { encoding: 'utf8', timeout: 30000, uid, gid: uid })
  return { status: r.status, stderr: r.stderr }
}

rootTest('iface: a bad interface, a bad filter, a ring the kernel refuses and no privileges are one line each, exit 2 or 1', (t) => {
  const p = silentPair(1500)
  t.teardown(p.remove)
  const ep = ipcEndpoint()
  const cases: Array<[string, string[], number, RegExp, number?]> = [
    ['send', ['iface:nope0', ep], 2, new RegExp(`^pcap-zmq-send: no interface "nope0" here \\(interfaces: .*${p.va}.*\\)$`)],
    ['track', ['iface:nope0'], 2, /^pcap-zmq-track: no interface "nope0" here/],
    ['send', [`iface:${p.va}`, ep, '--bpf', 'udp port'], 2, new RegExp(`^pcap-zmq-send: ${p.va}: bad filter "udp port" for link type ETHERNET: can.t parse filter expression: syntax error$`)],
    ['send', [`iface:${p.va}`, ep, '--ring-frame-size', '100'], 1, new RegExp(`^pcap-zmq-send: cannot set up the receive ring on ${p.va} \\(PACKET_RX_RING, 32 blocks of 1024 KiB, 100-byte frames\\): invalid argument$`)],
    ['send', [`iface:${p.va}`, ep, '--ring-block-size', '3'], 2, /^pcap-zmq-send: --ring-block-size expects an integer >= 4, got 3$/],
    ['send', ['iface:lo', ep, '--direction', 'out'], 2, /^pcap-zmq-send: --direction out on lo: a LOOPBACK interface sees each packet leave and arrive/],
    ['send', ['iface:lo', ep], 1, /^pcap-zmq-send: cannot open a packet socket \(AF_PACKET\): operation not permitted \(capture needs root or CAP_NET_RAW\)$/, 65534],
  ]
  for (const [tool, args, code, line, uid] of cases) {
    const r = runIn(p.a, tool, args, uid)
    const lines = r.stderr.trim().split('\n')
    t.is(r.status, code, `${tool} ${args.join(' ')}: ${r.stderr}`)
    t.is(lines.length, 1, r.stderr)
    t.regex(lines[0]!, line)
  }
})

rootTest('iface: stopping delivers the block the kernel was still filling; an interface that goes away ends the run after delivering what it took, exit 1', async (t) => {
  const p = silentPair(1500)
  t.teardown(p.remove)
  // A long block timeout: without the final wait the last packets would sit in the ring at exit.
  const cap = await startCapture(t, p.a, p.va, ['--block-timeout', '900'])
  const fa = flows(p, true, 5).map((f) => ({ ...f, sizes: [100, 1400] }))
  await sendTraffic(p.a, p.va, [], fa)
  t.is(await cap.send.stop('SIGINT'), 0)
  t.like(counters(cap.send.stderr()), { packets_in: datagrams(fa), packets_sent: datagrams(fa), kernel_packets: datagrams(fa) })
  await cap.recv.stop('SIGINT')
  t.is(readPackets(cap.file).length, datagrams(fa))

  const gone = await startCapture(t, p.a, p.va)
  await sendTraffic(p.a, p.va, [], fa)
  await waitForCounters(gone.send, (c) => c.packets_sent === datagrams(fa), 30000, 'all delivered')
  p.b.exec('ip', ['link', 'del', p.vb])
  t.is(await gone.send.exited, 1)
  const lines = gone.send.stderr().trim().split('\n')
  t.is(lines.pop(), `pcap-zmq-send: interface ${p.va} went away`)
  t.like(counters(gone.send.stderr()), { packets_in: datagrams(fa), packets_sent: datagrams(fa) })
  await gone.recv.stop('SIGINT')
  t.is(readPackets(gone.file).length, datagrams(fa))
})

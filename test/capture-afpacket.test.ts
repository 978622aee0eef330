import test, { type ExecutionContext } from 'ava'
import { spawn, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { binPath, ipcEndpoint, isRoot, ROOT_SKIP, sleep, startTool, tempDir, waitFor, type Tool } from './helpers/env.js'
import { counters, readPackets, startRecv, waitForCounters, type ReadPacket } from './helpers/pipeline.js'
import { counterDelta, ether, flowPayload, linkCounters, packetKeys, sendTraffic, silentPair, udpPacket, udpPayloadOf, type SilentPair, type UdpFlow } from './helpers/iface.js'
import type { Netns } from './helpers/netns.js'

/**
 * pcap-zmq-send iface: (AF_PACKET, TPACKET_V3) end to end on a veth pair that carries only the
 * test's traffic: every capture is held to what was sent, to tcpdump -i on the same interface in
 * the same run (the kernel stamps each packet once, so even the nanosecond timestamps agree) and
 * to the interface's own counters.
 */
const rootTest = isRoot ? test.serial : test.skip
if (!isRoot) test('AF_PACKET capture tests', (t) => { t.log(`skipped: ${ROOT_SKIP}`); t.pass() })

interface Capture { send: Tool; recv: Tool; file: string }

/** pcap-zmq-recv writing a file and pcap-zmq-send iface:DEV feeding it over ipc, both in `ns`. */
async function startCapture(t: ExecutionContext, ns: Netns, dev: string, args: string[] = [], dst?: { ep: string; recvNs: Netns; bind: string }): Promise<Capture> {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const file = join(dir, 'out.pcapng')
  const ep = dst?.ep ?? ipcEndpoint()
  // pcapng keeps the ring's nanoseconds (classic pcap output is in microseconds).
  const recv = await startRecv([dst?.bind ?? ep, file, '--format', 'pcapng'], (dst?.recvNs ?? ns).name)
  t.teardown(() => recv.stop('SIGKILL'))
  const send = startTool('send', [`iface:${dev}`, ep, '--debug', ...args], { netns: ns.name })
  t.teardown(() => send.stop('SIGKILL'))
  await waitFor(() => send.stderr().includes('sending iface:') || send.child.exitCode !== null, 30000, 'pcap-zmq-send to start')
  if (send.child.exitCode !== null) throw new Error(`pcap-zmq-send exited: ${send.stderr()}`)
  return { send, recv, file }
}

/** Waits until the sender took `n` packets and had them all acknowledged, stops both, reads the file. */
async function finish(c: Capture, n: number): Promise<{ packets: ReadPacket[]; send: Record<string, number>; recv: Record<string, number> }> {
  await waitForCounters(c.send, (x) => x.packets_in === n && x.packets_sent === n, 30000, `the sender to take and deliver ${n} packets`).catch(() => {})
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

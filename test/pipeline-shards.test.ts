import test, { type ExecutionContext } from 'ava'
import { join } from 'node:path'
import { createFlowSharder } from '../lib/decode/flow-hash.js'
import { decodeSummary } from '../lib/decode/summary-decoder.js'
import { createSummary, type PacketSummary } from '../lib/decode/summary.js'
import { ipcEndpoint, isRoot, ROOT_SKIP, sleep, startTool, tempDir, waitFor, type Tool } from './helpers/env.js'
import { pair, ruleCount } from './helpers/gateway.js'
import { askCounters, counters, readPackets, startRecv, waitForCounters, type ReadPacket } from './helpers/pipeline.js'
import { tcpBulk, udpFlows } from './helpers/traffic.js'

/**
 * Flow-consistent sharding end to end: gateways' pcap-zmq-send split NFLOG traffic over two
 * receivers by flow, each receiver publishes two shard topics, four trackers take one each.
 * Every count is compared with the kernel's rule counters, and every flow (both directions) must
 * be whole in exactly one receiver's output and one tracker's sessions.
 */
const rootTest = isRoot ? test.serial : test.skip
if (!isRoot) test('sharding end-to-end tests', (t) => { t.log(`skipped: ${ROOT_SKIP}`); t.pass() })

let nextGroup = 800 + (process.pid % 50) * 10

type Gateway = ReturnType<typeof pair>

/** NFLOG on the gateway's veth (offloads on: GSO super-packets; off: MTU-size segments) for TCP and UDP, both directions; UDP arriving is dropped after logging. */
function gateway(group: number, offloads = true, mtu = 9000): Gateway {
  const g = pair(group, offloads, mtu)
  for (const ipt of ['iptables', 'ip6tables']) {
    for (const proto of ['tcp', 'udp']) {
      g.a.exec(ipt, ['-A', 'OUTPUT', '-o', g.va, '-p', proto, '-j', 'NFLOG', '--nflog-group', String(group)])
      g.a.exec(ipt, ['-A', 'INPUT', '-i', g.va, '-p', proto, '-j', 'NFLOG', '--nflog-group', String(group)])
    }
    g.a.exec(ipt, ['-A', 'INPUT', '-i', g.va, '-p', 'udp', '-j', 'DROP'])
    g.b.exec(ipt, ['-A', 'INPUT', '-i', g.vb, '-p', 'udp', '-j', 'DROP'])
  }
  return g
}

/** TCP bulk both ways over IPv4 and IPv6 (GSO super-packets), and UDP flows with replies, MTU-size and jumbo. */
async function traffic(g: Gateway, tcpBytes: number, udpFlowCount: number, portBase = 0): Promise<void> {
  if (tcpBytes > 0) {
    await tcpBulk(g.a, g.b, g.addrs.b4, 5201 + portBase, tcpBytes)
    await tcpBulk(g.a, g.b, g.addrs.b4, 5202 + portBase, tcpBytes, true)
    await tcpBulk(g.a, g.b, g.addrs.b6, 5203 + portBase, tcpBytes)
    await tcpBulk(g.a, g.b, g.addrs.b6, 5204 + portBase, tcpBytes, true)
  }
  const half = udpFlowCount / 2
  await udpFlows(g.a, g.addrs.b4, 30000 + portBase, 9000 + portBase, half, 6, 1400)
  await udpFlows(g.b, g.addrs.a4, 9000 + portBase, 30000 + portBase, half, 3, 1400)
  await udpFlows(g.a, g.addrs.b6, 31000 + portBase, 10000 + portBase, half, 4, 8000)
  await udpFlows(g.b, g.addrs.a6, 10000 + portBase, 31000 + portBase, half, 2, 8000)
}

/** "proto lowAddr:port highAddr:port", the same for both directions. */
function flowKey(proto: number, a: string, pa: number, b: string, pb: number): string {
  const x = `${a}|${pa}`
  const y = `${b}|${pb}`
  return `${proto} ${x < y ? `${x} ${y}` : `${y} ${x}`}`
}

const summary: PacketSummary = createSummary()
function addrText(buf: Buffer, v: number): string {
  if (v === 4) return [...buf.subarray(0, 4)].join('.')
  const words = [] as string[]
  for (let i = 0; i < 16; i += 2) words.push(buf.readUInt16BE(i).toString(16))
  return words.join(':')
}
function packetKey(p: ReadPacket): string {
  decodeSummary(p.linktype, p.data, summary, false)
  return flowKey(summary.protocol, addrText(summary.src, summary.ipVersion), summary.srcPort, addrText(summary.dst, summary.ipVersion), summary.dstPort)
}

/** Events' addresses are text already; IPv6 is normalised to the same unabbreviated form. */
function eventKey(e: Record<string, unknown>): string {
  const norm = (ip: string) => (ip.includes(':') ? expand6(ip) : ip)
  return flowKey(Number(e.protocol_num), norm(String(e.src_ip)), Number(e.src_port), norm(String(e.dst_ip)), Number(e.dst_port))
}
function expand6(ip: string): string {
  const [h, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined]
  const head = h ? h.split(':') : []
  const t = tail ? tail.split(':') : []
  const groups = tail === undefined ? head : [...head, ...Array(8 - head.length - t.length).fill('0'), ...t]
  return groups.map((g) => parseInt(g, 16).toString(16)).join(':')
}

/** The `  destination EP: k=v ...` lines of a sender's final report. */
function destinationCounters(stderr: string): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>()
  const final = stderr.slice(stderr.lastIndexOf('final counters:'))
  for (const m of final.matchAll(/ {2}destination (\S+): (.*)$/gm)) {
    out.set(m[1]!, Object.fromEntries(m[2]!.split(' ').map((kv) => kv.split('=')).map(([k, v]) => [k!, Number(v)])))
  }
  return out
}

/** Waits until the sender has taken what the rules matched (stable for 500 ms) and delivery settled. */
async function drained(send: Tool, g: Gateway, group: number, settled: (c: Record<string, number>) => boolean): Promise<void> {
  let last = -1
  let since = Date.now()
  await waitForCounters(send, (c) => {
    const now = ruleCount(g.a, group).packets
    if (now !== last) { last = now; since = Date.now() }
    return Date.now() - since > 500 && c.packets_in === now && settled(c)
  }, 60000, 'the sender to take and deliver what the rules matched').catch(() => {})
}

function startSend(g: Gateway, group: number, eps: string[], extra: string[] = []): Tool {
  return startTool('send', [String(group), ...eps, '--debug', ...extra], { netns: g.a.name })
}

async function sendReady(s: Tool): Promise<void> {
  await waitFor(() => s.stderr().includes('sending NFLOG') || s.child.exitCode !== null, 30000, 'pcap-zmq-send to start')
  if (s.child.exitCode !== null) throw new Error(`pcap-zmq-send exited: ${s.stderr()}`)
}

function events(tool: Tool): Array<Record<string, unknown>> {
  return tool.stdout().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)
}

rootTest('three gateways -> two receivers -> four trackers: every flow whole in one receiver and one tracker, totals equal the rule counters', async (t: ExecutionContext) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const gws: Array<{ g: Gateway; group: number }> = []
  t.teardown(() => { for (const { g } of gws) g.remove() })
  for (let i = 0; i < 3; i++) {
    const group = nextGroup++
    gws.push({ g: gateway(group), group })
  }
  const eps = [ipcEndpoint(), ipcEndpoint()]
  const pubs = [ipcEndpoint(), ipcEndpoint()]
  const outs = [join(dir, 'a.pcap'), join(dir, 'b.pcap')]
  const recvs: Tool[] = []
  for (let r = 0; r < 2; r++) recvs.push(await startRecv([eps[r]!, outs[r]!, '--publish', pubs[r]!, '--shards', '2']))
  t.teardown(() => Promise.all(recvs.map((r) => r.stop('SIGKILL'))))
  // Tracker 2r + k takes topic k of receiver r.
  const trackers: Tool[] = []
  for (let r = 0; r < 2; r++) for (let k = 0; k < 2; k++) trackers.push(startTool('track', [pubs[r]!, '--shard', `${k}/2`, '--debug']))
  t.teardown(() => Promise.all(trackers.map((x) => x.stop('SIGKILL'))))
  await waitFor(() => trackers.every((x) => x.stderr().includes('reading ')), 30000, 'trackers to subscribe')
  await sleep(500) // the subscriptions reach the publishers
  const sends = gws.map(({ g, group }) => startSend(g, group, eps))
  t.teardown(() => Promise.all(sends.map((s) => s.stop('SIGKILL'))))
  await Promise.all(sends.map(sendReady))

  await Promise.all(gws.map(({ g }) => traffic(g, 4 << 20, 48)))
  await Promise.all(gws.map(({ g, group }, i) => drained(sends[i]!, g, group, (c) => c.packets_sent! >= c.packets_in!)))
  await Promise.all(sends.map((s) => s.stop('SIGINT')))
  const rules = gws.map(({ g, group }) => ruleCount(g.a, group).packets)
  const total = rules.reduce((a, b) => a + b, 0)
  t.log(`rules matched ${rules.join(' + ')} = ${total} packets`)

  gws.forEach((_, i) => {
    const s = counters(sends[i]!.stderr())
    t.like(s, { packets_in: rules[i], packets_sent: rules[i], dropped_queue: 0, packets_lost: 0, truncated: 0, kernel_lost: 0 }, sends[i]!.stderr())
    const dests = destinationCounters(sends[i]!.stderr())
    t.deepEqual([...dests.keys()], eps)
    const shares = eps.map((ep) => dests.get(ep)!)
    t.true(shares.every((d) => d.packets! > 0 && d.packets_sent === d.packets), JSON.stringify(shares))
    t.is(shares[0]!.packets! + shares[1]!.packets!, rules[i])
  })

  await waitFor(async () => {
    const cs = await Promise.all(recvs.map((r) => askCounters(r)))
    return cs.every(Boolean) && cs.reduce((n, c) => n + c!.packets_written!, 0) >= total
  }, 30000, 'the receivers to write every packet').catch(() => {})
  await waitFor(async () => {
    const cs = await Promise.all(trackers.map((x) => askCounters(x, 'pcap-zmq-track')))
    return cs.every(Boolean) && cs.reduce((n, c) => n + c!.packets!, 0) >= total
  }, 30000, 'the trackers to see every packet').catch(() => {})
  await Promise.all(trackers.map((x) => x.stop('SIGINT')))
  await Promise.all(recvs.map((r) => r.stop('SIGINT')))

  // Receivers: the two outputs hold every packet once; each flow, both directions, in one of them,
  // the one its hash picks.
  const files = outs.map((f) => readPackets(f))
  t.is(files[0]!.length + files[1]!.length, total)
  const destOf = createFlowSharder(2)
  const topicOf = createFlowSharder(2, 'topic')
  const flowRecv = new Map<string, number>()
  const flowPackets = new Map<string, number>()
  files.forEach((pkts, r) => {
    for (const p of pkts) {
      const key = packetKey(p)
      t.is(destOf.shard(p.linktype, p.data, 0, p.data.length), r, key)
      const seen = flowRecv.get(key)
      if (seen !== undefined && seen !== r) t.fail(`${key} in both receivers`)
      flowRecv.set(key, r)
      flowPackets.set(key, (flowPackets.get(key) ?? 0) + 1)
    }
  })
  const tcpFlows = [...flowRecv.keys()].filter((k) => k.startsWith('6 '))
  t.is(tcpFlows.length, 12, tcpFlows.join('\n'))
  t.is(flowRecv.size, 12 + 3 * 48)
  t.true([0, 1].every((r) => [...flowRecv.values()].filter((x) => x === r).length > 40), 'both receivers got a fair share of flows')

  // Trackers: every packet seen once in all; each session in the one tracker of its receiver and topic,
  // with exactly the packets the receiver wrote for that flow.
  const trackCounts = trackers.map((x) => counters(x.stderr(), 'pcap-zmq-track'))
  t.is(trackCounts.reduce((n, c) => n + c.packets!, 0), total, JSON.stringify(trackCounts))
  t.true(trackCounts.every((c) => c.lost_batches === 0 && c.source_restarts === 0), 'no tracker saw a gap in its topic')
  const flowTracker = new Map<string, number>()
  const sessionPackets = new Map<string, Map<string, number>>()
  trackers.forEach((x, i) => {
    for (const e of events(x)) {
      const key = eventKey(e)
      const seen = flowTracker.get(key)
      if (seen !== undefined && seen !== i) t.fail(`${key} in trackers ${seen} and ${i}`)
      flowTracker.set(key, i)
      const per = sessionPackets.get(key) ?? new Map<string, number>()
      per.set(String(e.session_id), Math.max(per.get(String(e.session_id)) ?? 0, Number(e.orig_packets) + Number(e.reply_packets)))
      sessionPackets.set(key, per)
    }
  })
  t.is(flowTracker.size, flowRecv.size)
  t.true(trackers.every((_, i) => [...flowTracker.values()].includes(i)), 'every tracker has sessions')
  const sample = new Map<string, ReadPacket>()
  files.forEach((pkts) => { for (const p of pkts) sample.set(packetKey(p), p) })
  for (const [key, r] of flowRecv) {
    const p = sample.get(key)!
    t.is(flowTracker.get(key), 2 * r + topicOf.shard(p.linktype, p.data, 0, p.data.length), key)
    const seen = [...(sessionPackets.get(key)?.values() ?? [])].reduce((a, b) => a + b, 0)
    t.is(seen, flowPackets.get(key) ?? 0, `${key}: the tracker's sessions count the packets the receiver wrote`)
  }
})

rootTest('a receiver killed mid-stream loses only its shard: the other destination gets all of its flows, the loss is counted', async (t: ExecutionContext) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const group = nextGroup++
  // Offloads off and MTU 1500 here: MTU-size TCP segments, and 8000-byte datagrams beyond the MTU.
  const g = gateway(group, false, 1500)
  t.teardown(g.remove)
  const eps = [ipcEndpoint(), ipcEndpoint()]
  const outs = [join(dir, 'a.pcap'), join(dir, 'b.pcap')]
  const recvs = [await startRecv([eps[0]!, outs[0]!]), await startRecv([eps[1]!, outs[1]!])]
  t.teardown(() => Promise.all(recvs.map((r) => r.stop('SIGKILL'))))
  const send = startSend(g, group, eps, ['--zmq-buffer', '50'])
  t.teardown(() => send.stop('SIGKILL'))
  await sendReady(send)
  await traffic(g, 2 << 20, 64)
  await drained(send, g, group, (c) => c.packets_sent! >= c.packets_in!)
  const before = ruleCount(g.a, group).packets
  await recvs[1]!.stop('SIGKILL')
  await traffic(g, 2 << 20, 64, 100)
  await drained(send, g, group, () => true)
  await sleep(1500)
  await send.stop('SIGINT')
  await recvs[0]!.stop('SIGINT')
  const total = ruleCount(g.a, group).packets
  t.log(`rules matched ${before} before the kill, ${total} in all`)
  const s = counters(send.stderr())
  const [a, b] = eps.map((ep) => destinationCounters(send.stderr()).get(ep)!)
  t.log(`destination a: ${JSON.stringify(a)}\ndestination b: ${JSON.stringify(b)}`)
  t.is(s.packets_in, total)
  t.is(a!.packets! + b!.packets!, total)
  // The live destination: everything routed to it arrived, before and after the kill.
  t.like(a, { packets_sent: a!.packets, dropped_queue: 0, packets_lost: 0, packets_unconfirmed: 0, socket_resets: 0 })
  const kept = readPackets(outs[0]!)
  t.is(kept.length, a!.packets)
  const destOf = createFlowSharder(2)
  t.true(kept.every((p) => destOf.shard(p.linktype, p.data, 0, p.data.length) === 0))
  // The dead one: what it missed is counted, and each packet is accounted for once.
  t.true(b!.packets_sent! < b!.packets!)
  t.is(b!.packets_sent! + b!.dropped_queue! + b!.packets_lost! + b!.packets_unconfirmed!, b!.packets)
  t.is(s.packets_sent, a!.packets! + b!.packets_sent!)
  t.is(send.child.exitCode, 0, 'live capture that delivered exits 0')
})

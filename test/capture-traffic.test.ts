import test, { type ExecutionContext } from 'ava'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ipcEndpoint, isRoot, ROOT_SKIP, runTool, sh, startTool, tempDir, waitFor } from './helpers/env.js'
import { createNetns, linkNetns, type Netns } from './helpers/netns.js'
import { counters, readPackets, startRecv, waitForCounters, type ReadPacket } from './helpers/pipeline.js'
import { tcpBulk, udpBurst } from './helpers/traffic.js'
import { NFULNL_COPY_RANGE_MAX, offloads, pair, ruleCount, vethOf, type RuleCount } from './helpers/gateway.js'

/**
 * Realistic traffic through NFLOG -> pcap-zmq-send -> pcap-zmq-recv, every count compared with the
 * kernel's own rule counters: TCP bulk transfers with offloads on (GSO/GRO super-packets up to
 * 64 KiB) and off (MTU-size segments), both directions, IPv4 and IPv6, rules on OUTPUT, INPUT and
 * FORWARD; UDP bursts from 64-byte to 8000-byte payloads (MTU 9000) with rule thresholds 0, 64, 1024.
 */
const rootTest = isRoot ? test.serial : test.skip
if (!isRoot) test('realistic traffic tests', (t) => { t.log(`skipped: ${ROOT_SKIP}`); t.pass() })

let nextGroup = 600 + (process.pid % 50) * 10

interface Run { rule: RuleCount; send: Record<string, number>; recv: Record<string, number>; packets: ReadPacket[]; sendErr: string; file: string }

/**
 * Starts recv and send (in `capNs`, over ipc), runs `traffic`, waits until the sender has taken
 * every packet the rules matched and the receiver has written them, stops both.
 */
async function captureRun(t: ExecutionContext, capNs: Netns, group: number, traffic: () => Promise<void>, sendArgs: string[] = []): Promise<Run> {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const ep = ipcEndpoint()
  const out = join(dir, 'out.pcap')
  const recv = await startRecv([ep, out], capNs.name)
  t.teardown(() => recv.stop('SIGKILL'))
  const send = startTool('send', [String(group), ep, '--debug', ...sendArgs], { netns: capNs.name })
  t.teardown(() => send.stop('SIGKILL'))
  await waitFor(() => send.stderr().includes('sending NFLOG') || send.child.exitCode !== null, 30000, 'pcap-zmq-send to start')
  if (send.child.exitCode !== null) throw new Error(`pcap-zmq-send exited: ${send.stderr()}`)
  await traffic()
  // Late packets of a close (the last ACK) can still be on their way: wait for the counters to agree.
  let last = -1
  let stableSince = Date.now()
  const taken = (c: Record<string, number>) => {
    const now = ruleCount(capNs, group).packets
    if (now !== last) { last = now; stableSince = Date.now() }
    return Date.now() - stableSince > 500 && c.packets_in === now && c.packets_sent! >= c.packets_in!
  }
  await waitForCounters(send, taken, 60000, 'the sender to take and deliver what the rules matched').catch(() => {})
  await send.stop('SIGINT')
  const rule = ruleCount(capNs, group)
  await waitForCounters(recv, (c) => c.packets_written! >= rule.packets, 30000, 'the receiver to write them').catch(() => {})
  await recv.stop('SIGINT')
  return { rule, send: counters(send.stderr()), recv: counters(recv.stderr()), packets: readPackets(out), sendErr: send.stderr(), file: out }
}

/** Delivered == matched, nothing cut or lost anywhere, and the bytes add up to the kernel's. */
function assertWhole(t: ExecutionContext, r: Run, label: string, snap = NFULNL_COPY_RANGE_MAX): void {
  t.log(`${label}: rule matched ${r.rule.packets} packets / ${r.rule.bytes} bytes; largest ${Math.max(...r.packets.map((p) => p.origLen))} bytes`)
  t.log(`sender: ${Object.entries(r.send).map(([k, v]) => `${k}=${v}`).join(' ')}`)
  t.log(`receiver: ${Object.entries(r.recv).map(([k, v]) => `${k}=${v}`).join(' ')}`)
  t.true(r.rule.packets > 0, `${label}: the rule matched nothing`)
  t.is(r.send.packets_in, r.rule.packets, `${label}: sender took what the rule matched\n${r.sendErr}`)
  t.is(r.send.truncated, 0, `${label}: truncated datagrams`)
  t.is(r.send.bad_input, 0, `${label}: bad input`)
  t.is(r.send.packets_sent, r.rule.packets, `${label}: acknowledged by the receiver`)
  t.is(r.recv.packets_written, r.rule.packets, `${label}: written by the receiver`)
  t.is(r.packets.length, r.rule.packets, `${label}: packets in the file`)
  // iptables counts skb->len, the whole IP packet: the records' original lengths must add up to it.
  t.is(r.packets.reduce((n, p) => n + p.origLen, 0), r.rule.bytes, `${label}: original lengths add up to the rule's bytes`)
  // Each packet arrives whole up to what the kernel copies (the rule's --nflog-size, at most 65531).
  const cut = r.packets.filter((p) => p.data.length !== Math.min(p.origLen, snap))
  t.is(cut.length, 0, `${label}: ${cut.length} packets not copied to min(length, ${snap}), e.g. ${cut[0]?.data.length} of ${cut[0]?.origLen}`)
}

/**
 * pcap-zmq-track on what was delivered sees each bulk connection whole: opened, established and
 * closed with FINs, with the bulk's bytes in the right direction.
 */
function assertSessions(t: ExecutionContext, r: Run, ports: number[], bulk: number): void {
  const res = runTool('track', ['-'], readFileSync(r.file), 120000)
  t.is(res.status, 0, res.stderr)
  const events = res.stdout.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)
  ports.forEach((port, i) => {
    const evs = events.filter((e) => e.protocol_name === 'TCP' && e.dst_port === port)
    t.deepEqual(evs.map((e) => e.state).slice(0, 3), ['NEW', 'ESTABLISHED', 'CLOSE'], `port ${port}`)
    const close = evs.find((e) => e.state === 'CLOSE')
    // Even ports: the client sends the bulk; odd: the server does (IP bytes include headers).
    const [data, other] = i % 2 === 0 ? ['orig_bytes', 'reply_bytes'] : ['reply_bytes', 'orig_bytes']
    t.true(Number(close?.[data]) > bulk && Number(close?.[other]) < bulk / 10, `port ${port}: ${JSON.stringify(close)}`)
    t.is(close?.reason, 'fin')
  })
}

for (const on of [true, false]) {
  rootTest(`TCP bulk, offloads ${on ? 'on (GSO/GRO super-packets)' : 'off (MTU-size segments)'}: rules on OUTPUT and INPUT, both directions, IPv4 and IPv6, all delivered`, async (t) => {
    const group = nextGroup++
    const p = pair(group, on)
    t.teardown(p.remove)
    for (const ipt of ['iptables', 'ip6tables']) {
      // TCP only: the link's own IPv6 chatter (DAD, MLD) starts before the sender listens.
      p.a.exec(ipt, ['-A', 'OUTPUT', '-o', p.va, '-p', 'tcp', '-j', 'NFLOG', '--nflog-group', String(group)])
      p.a.exec(ipt, ['-A', 'INPUT', '-i', p.va, '-p', 'tcp', '-j', 'NFLOG', '--nflog-group', String(group)])
    }
    const mb = 16 << 20
    const r = await captureRun(t, p.a, group, async () => {
      await tcpBulk(p.a, p.b, p.addrs.b4, 5201, mb)
      await tcpBulk(p.a, p.b, p.addrs.b4, 5202, mb, true)
      await tcpBulk(p.a, p.b, p.addrs.b6, 5203, mb)
      await tcpBulk(p.a, p.b, p.addrs.b6, 5204, mb, true)
    })
    assertWhole(t, r, `offloads ${on ? 'on' : 'off'}`)
    assertSessions(t, r, [5201, 5202, 5203, 5204], mb)
    const largest = Math.max(...r.packets.map((x) => x.origLen))
    if (on) t.true(largest > 9000, `GSO super-packets expected, largest was ${largest}`)
    else t.true(largest <= 1500, `MTU-size segments expected, largest was ${largest}`)
  })
}

rootTest('TCP bulk with --nflog-size 200 and unusual sender settings (a datagram per packet, 2 MiB buffer): all delivered, each cut to 200 bytes', async (t) => {
  const group = nextGroup++
  const p = pair(group, true)
  t.teardown(p.remove)
  for (const ipt of ['iptables', 'ip6tables']) {
    p.a.exec(ipt, ['-A', 'OUTPUT', '-o', p.va, '-p', 'tcp', '-j', 'NFLOG', '--nflog-group', String(group), '--nflog-size', '200'])
    p.a.exec(ipt, ['-A', 'INPUT', '-i', p.va, '-p', 'tcp', '-j', 'NFLOG', '--nflog-group', String(group), '--nflog-size', '200'])
  }
  const r = await captureRun(t, p.a, group, async () => {
    await tcpBulk(p.a, p.b, p.addrs.b4, 5401, 8 << 20)
    await tcpBulk(p.a, p.b, p.addrs.b6, 5402, 8 << 20, true)
  }, ['--libnflog-qthresh', '1', '--libnflog-nlbufsiz', '2', '--libnflog-timeout', '0.5'])
  assertWhole(t, r, 'nflog-size 200', 200)
})

rootTest('TCP bulk through a router: rule on FORWARD, both directions, IPv4 and IPv6, all delivered', async (t) => {
  const group = nextGroup++
  const client = createNetns('pzpc')
  const router = createNetns('pzpr')
  const server = createNetns('pzps')
  t.teardown(() => { client.remove(); router.remove(); server.remove() })
  const left = linkNetns(client, router, 60 + (group % 100))
  const right = linkNetns(router, server, 160 + (group % 90))
  router.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1'])
  client.exec('ip', ['route', 'add', 'default', 'via', left.b4])
  client.exec('ip', ['-6', 'route', 'add', 'default', 'via', left.b6])
  server.exec('ip', ['route', 'add', 'default', 'via', right.a4])
  server.exec('ip', ['-6', 'route', 'add', 'default', 'via', right.a6])
  for (const ns of [client, router, server]) for (const dev of vethOf(ns)) offloads(ns, dev, true, 1500)
  for (const ipt of ['iptables', 'ip6tables']) router.exec(ipt, ['-A', 'FORWARD', '-p', 'tcp', '-j', 'NFLOG', '--nflog-group', String(group)])
  const mb = 16 << 20
  const r = await captureRun(t, router, group, async () => {
    await tcpBulk(client, server, right.b4, 5301, mb)
    await tcpBulk(client, server, right.b4, 5302, mb, true)
    await tcpBulk(client, server, right.b6, 5303, mb)
    await tcpBulk(client, server, right.b6, 5304, mb, true)
  })
  assertWhole(t, r, 'FORWARD')
  assertSessions(t, r, [5301, 5302, 5303, 5304], mb)
})

for (const threshold of [0, 64, 1024]) {
  rootTest(`UDP bursts of 64, 512, 1400 and 8000-byte payloads (MTU 9000), rule threshold ${threshold}, both directions, IPv4 and IPv6, all delivered`, async (t) => {
    const group = nextGroup++
    const p = pair(group, true, 9000)
    t.teardown(p.remove)
    const th = threshold ? ['--nflog-threshold', String(threshold)] : []
    for (const ipt of ['iptables', 'ip6tables']) {
      p.a.exec(ipt, ['-A', 'OUTPUT', '-o', p.va, '-p', 'udp', '-j', 'NFLOG', '--nflog-group', String(group), ...th])
      p.a.exec(ipt, ['-A', 'INPUT', '-i', p.va, '-p', 'udp', '-j', 'NFLOG', '--nflog-group', String(group), ...th])
      p.a.exec(ipt, ['-A', 'INPUT', '-i', p.va, '-p', 'udp', '-j', 'DROP'])
      p.b.exec(ipt, ['-A', 'INPUT', '-i', p.vb, '-p', 'udp', '-j', 'DROP'])
    }
    const r = await captureRun(t, p.a, group, async () => {
      for (const size of [64, 512, 1400, 8000]) {
        const n = size >= 8000 ? 1500 : 4000
        // Four streams at up to 25 MB/s each: the pipeline is measured in scripts/bench, not here.
        const pps = Math.min(20000, Math.floor(25e6 / size))
        await Promise.all([
          udpBurst(p.a, p.addrs.b4, 9, n, size, pps),
          udpBurst(p.b, p.addrs.a4, 9, n, size, pps),
          udpBurst(p.a, p.addrs.b6, 9, n, size, pps),
          udpBurst(p.b, p.addrs.a6, 9, n, size, pps),
        ])
      }
    })
    assertWhole(t, r, `UDP threshold ${threshold}`)
    t.is(r.rule.packets, 4 * 3 * 4000 + 4 * 1500)
  })
}

rootTest('live capture with no receiver at all: nothing claimed sent, and the exit says nothing was delivered', async (t) => {
  const group = nextGroup++
  const p = pair(group, true)
  t.teardown(p.remove)
  p.a.exec('iptables', ['-A', 'OUTPUT', '-o', p.va, '-p', 'udp', '-j', 'NFLOG', '--nflog-group', String(group)])
  const send = startTool('send', [String(group), ipcEndpoint(), '--debug'], { netns: p.a.name })
  t.teardown(() => send.stop('SIGKILL'))
  await waitFor(() => send.stderr().includes('sending NFLOG'), 30000, 'pcap-zmq-send to start')
  await udpBurst(p.a, p.addrs.b4, 9, 300, 200)
  await waitForCounters(send, (c) => c.packets_in === 300, 30000, '300 packets taken')
  t.is(await send.stop('SIGINT'), 1)
  const c = counters(send.stderr())
  t.like(c, { packets_in: 300, packets_sent: 0 })
  t.regex(send.stderr().trim().split('\n').pop()!, /^pcap-zmq-send: 300 of 300 packets were not delivered/)
  t.is(sh('ip', ['netns', 'exec', p.a.name, 'iptables', '-S', 'OUTPUT']).includes('NFLOG'), true)
})

rootTest('packets logged on OUTPUT (no kernel timestamp) are stamped within a few milliseconds of when they left', async (t) => {
  const group = nextGroup++
  const p = pair(group, true)
  t.teardown(p.remove)
  p.a.exec('iptables', ['-A', 'OUTPUT', '-o', p.va, '-p', 'udp', '-j', 'NFLOG', '--nflog-group', String(group)])
  let sentAt: number[] = []
  const r = await captureRun(t, p.a, group, async () => {
    const out = p.a.exec('python3', ['-c', `
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(5):
    print(time.time(), flush=True)
    s.sendto(b'tick-%d' % i, ('${p.addrs.b4}', 9))
    time.sleep(0.2)
`])
    sentAt = out.trim().split('\n').map((l) => Number(l) * 1000)
  })
  t.is(r.packets.length, 5)
  r.packets.forEach((pkt, i) => {
    const stamp = pkt.tsSec * 1000 + pkt.tsNsec / 1e6
    const late = stamp - sentAt[i]!
    t.log(`packet ${i}: stamped ${late.toFixed(2)} ms after it was sent`)
    // A few ms on an idle machine (the kernel's next tick); the bound leaves room for a loaded one
    // and still fails the old default, which held packets up to 2 s.
    t.true(late >= 0 && late < 150, `packet ${i} stamped ${late.toFixed(2)} ms after it was sent`)
  })
})

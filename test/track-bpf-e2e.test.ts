import test from 'ava'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { compatDir, hasCommand, ipcEndpoint, isRoot, ROOT_SKIP, sh, startTool, tempDir, uniqueName, waitFor, type Tool } from './helpers/env.js'
import { createNetns, type Netns } from './helpers/netns.js'
import { startRecv } from './helpers/pipeline.js'

// PokieStream's own config (AGPL) is read where it is, never copied into the project.
const example = join(compatDir, 'config.example.yaml')
const ok = isRoot && hasCommand('iptables') && hasCommand('python3') && existsSync(example)
const rootTest = ok ? test.serial : test.skip
if (!ok) test('NFLOG -> send -> recv -> track with a scapy filter', (t) => { t.log(existsSync(example) ? ROOT_SKIP : `skipped: ${example} is absent`); t.pass() })

interface Ev { [k: string]: any }

/**
 * The example config watches 192.168.1.0/24 and 172.16.0.0/16 talking to 1.1.1.1 / 1.0.0.1 on
 * ports 80 and 443, with `scapy: "tcp and (port 80 or port 443)"`. So: a client at
 * 192.168.1.10 and a server holding 1.1.1.1, in two private namespaces.
 */
function topology(): { client: Netns; server: Netns } {
  const client = createNetns('pzbc')
  const server = createNetns('pzbs')
  const vc = uniqueName('vc')
  const vs = uniqueName('vs')
  sh('ip', ['link', 'add', vc, 'netns', client.name, 'type', 'veth', 'peer', 'name', vs, 'netns', server.name])
  client.exec('ip', ['addr', 'add', '192.168.1.10/24', 'dev', vc])
  server.exec('ip', ['addr', 'add', '192.168.1.1/24', 'dev', vs])
  server.exec('ip', ['addr', 'add', '1.1.1.1/32', 'dev', vs])
  client.exec('ip', ['link', 'set', vc, 'up'])
  server.exec('ip', ['link', 'set', vs, 'up'])
  client.exec('ip', ['route', 'add', '1.1.1.1/32', 'via', '192.168.1.1'])
  return { client, server }
}

/** One TCP request/response per port, in this order, each closed by the client before the next. */
const PORTS = [8080, 80, 8443, 443]

const SERVER = `
import socket, sys, threading
def serve(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('1.1.1.1', port)); s.listen(1)
    c, _ = s.accept(); c.recv(1000); c.sendall(b'HTTP/1.0 200 OK\\r\\n\\r\\nhello'); c.close()
ts = [threading.Thread(target=serve, args=(p,)) for p in (${PORTS.join(', ')})]
[t.start() for t in ts]
print('ready', flush=True)
[t.join() for t in ts]
`
const CLIENT = `
import socket, time
for port in (${PORTS.join(', ')}):
    c = socket.create_connection(('1.1.1.1', port), timeout=5)
    c.sendall(b'GET / HTTP/1.0\\r\\nHost: one.one.one.one\\r\\n\\r\\n')
    while c.recv(1000): pass
    c.close()
    time.sleep(0.2)
`

/** Repeats a UDP datagram to 1.1.1.1:9 (logged, and dropped by every filter here). */
function udpOnce(ns: Netns): void {
  ns.exec('python3', ['-c', "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'warm', ('1.1.1.1', 9))"])
}

const packetsSeen = (tool: Tool) => Number([...tool.stderr().matchAll(/ packets=(\d+)/g)].pop()?.[1] ?? 0)
const counter = (tool: Tool, name: string) => Number([...tool.stderr().matchAll(new RegExp(` ${name}=(\\d+)`, 'g'))].pop()?.[1] ?? -1)
const events = (tool: Tool): Ev[] => tool.stdout().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Ev)
const closed = (tool: Tool, port: number) => events(tool).some((e) => e.dst_port === port && e.state === 'CLOSE')

rootTest("NFLOG -> send -> recv --publish -> track -c PokieStream's config: events for what the scapy filter keeps, none for the rest", async (t) => {
  const { client, server } = topology()
  const tmp = tempDir()
  const tools: Tool[] = []
  const children: Array<ReturnType<typeof spawn>> = []
  t.teardown(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
    await Promise.all(tools.map((x) => x.stop('SIGKILL')))
    client.remove()
    server.remove()
    tmp.cleanup()
  })
  // The unchanged example, and the same file with only the expression narrowed to 443: the
  // port-80 connection then passes every other filter of the file and only scapy stops it.
  const narrowed = join(tmp.dir, 'narrowed.yaml')
  const text = readFileSync(example, 'utf8')
  t.regex(text, /^\s*scapy: "tcp and \(port 80 or port 443\)"/m)
  writeFileSync(narrowed, text.replace(/scapy: "[^"]*"/, 'scapy: "tcp and port 443"'))

  const group = 40 + (process.pid % 20)
  for (const [chain, dir] of [['OUTPUT', '-d'], ['INPUT', '-s']]) {
    client.exec('iptables', ['-I', chain, dir, '1.1.1.1', '-j', 'NFLOG', '--nflog-group', String(group), '--nflog-threshold', '1'])
  }
  const ep = ipcEndpoint()
  const pubEp = ipcEndpoint()
  const recv = await startRecv([ep, join(tmp.dir, 'out.pcap'), '--publish', pubEp])
  tools.push(recv)
  const send = startTool('send', [String(group), ep, '--libnflog-timeout', '0.05', '--libnflog-qthresh', '20', '--debug'], { netns: client.name })
  tools.push(send)
  await waitFor(() => send.stderr().includes('sending NFLOG') || send.child.exitCode !== null, 30000, 'pcap-zmq-send to start')
  t.is(send.child.exitCode, null, send.stderr())
  const whole = startTool('track', [pubEp, '-c', example, '--stats-interval', '0.2'])
  const narrow = startTool('track', [pubEp, '-c', narrowed, '--stats-interval', '0.2'])
  tools.push(whole, narrow)
  // Until both subscribers are in (a SUB misses what was published before it joined).
  await waitFor(() => { udpOnce(client); return packetsSeen(whole) > 0 && packetsSeen(narrow) > 0 }, 30000, 'both trackers to subscribe')

  const srv = spawn('ip', ['netns', 'exec', server.name, 'python3', '-c', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] })
  children.push(srv)
  let ready = ''
  srv.stdout!.on('data', (d: Buffer) => { ready += d.toString() })
  await waitFor(() => ready.includes('ready'), 10000, 'the server')
  client.exec('python3', ['-c', CLIENT])
  udpOnce(client)
  // In order on one stream: once 443's close is through, every earlier packet is too.
  await waitFor(() => closed(whole, 443) && closed(narrow, 443), 30000, 'the last connection to reach both trackers')
  await Promise.all([whole.stop('SIGTERM'), narrow.stop('SIGTERM')])

  const summary = (tool: Tool) => events(tool).map((e) => `${e.src_ip} ${e.dst_ip}:${e.dst_port} ${e.protocol_name} ${e.state}`)
  const conn = (port: number) => ['NEW', 'ESTABLISHED', 'CLOSE'].map((s) => `192.168.1.10 1.1.1.1:${port} TCP ${s}`)
  // Stopped within their TIME_WAIT, the closed connections end with DESTROY (reason eof).
  const destroy = (port: number) => `192.168.1.10 1.1.1.1:${port} TCP DESTROY`
  t.deepEqual(summary(whole), [...conn(80), ...conn(443), destroy(80), destroy(443)], whole.stderr())
  t.deepEqual(summary(narrow), [...conn(443), destroy(443)], narrow.stderr())
  t.is(new Set(events(whole).filter((e) => e.dst_port === 80).map((e) => e.session_id)).size, 1)
  // What never became an event was dropped by the expression, not by the other filters.
  t.true(counter(whole, 'bpf_dropped') > 0)
  t.is(counter(whole, 'ignored_sessions'), 0, whole.stderr())
  t.is(counter(narrow, 'ignored_sessions'), 0, narrow.stderr())
  t.true(counter(narrow, 'bpf_dropped') > counter(whole, 'bpf_dropped'))
  t.is(counter(whole, 'bad_batches'), 0)
})

rootTest("pcap-zmq-track -c PokieStream's config with its iface on the client's interface: it captures there, with scapy as the kernel filter", async (t) => {
  const { client, server } = topology()
  const tmp = tempDir()
  const children: Array<ReturnType<typeof spawn>> = []
  let track: Tool | undefined
  t.teardown(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
    await track?.stop('SIGKILL')
    client.remove()
    server.remove()
    tmp.cleanup()
  })
  const veth = (JSON.parse(client.exec('ip', ['-j', 'link'])) as Array<{ ifname: string }>).find((l) => l.ifname !== 'lo')!.ifname
  const cfg = join(tmp.dir, 'config.yaml')
  const text = readFileSync(example, 'utf8')
  t.regex(text, /^\s*iface: "eth0"/m)
  writeFileSync(cfg, text.replace(/iface: "eth0"/, `iface: "${veth}"`))
  track = startTool('track', ['-c', cfg, '--stats-interval', '0.2'], { netns: client.name })
  await waitFor(() => / packets=\d+/.test(track!.stderr()) || track!.child.exitCode !== null, 30000, 'track to capture')
  t.is(track.child.exitCode, null, track.stderr())
  const srv = spawn('ip', ['netns', 'exec', server.name, 'python3', '-c', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] })
  children.push(srv)
  let ready = ''
  srv.stdout!.on('data', (d: Buffer) => { ready += d.toString() })
  await waitFor(() => ready.includes('ready'), 10000, 'the server')
  client.exec('python3', ['-c', CLIENT])
  udpOnce(client)
  await waitFor(() => closed(track!, 443), 30000, 'the last connection')
  await track.stop('SIGTERM')
  const summary = events(track).map((e) => `${e.src_ip} ${e.dst_ip}:${e.dst_port} ${e.protocol_name} ${e.state}`)
  const conn = (port: number) => ['NEW', 'ESTABLISHED', 'CLOSE'].map((s) => `192.168.1.10 1.1.1.1:${port} TCP ${s}`)
  const destroy = (port: number) => `192.168.1.10 1.1.1.1:${port} TCP DESTROY`
  t.deepEqual(summary, [...conn(80), ...conn(443), destroy(80), destroy(443)], track.stderr())
  // The scapy expression ran in the kernel: what it drops never reached the tracker.
  t.is(counter(track, 'bpf_dropped'), 0)
  t.true(counter(track, 'kernel_packets') > 0)
})


import test from 'ava'
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { resolveRecvOptions } from '../lib/cli/recv-options.js'
import { resolveSendOptions } from '../lib/cli/send-options.js'
import { loadConfig } from '../lib/filter/config.js'
import { loadPluginConfig } from '../lib/plugin/config.js'
import { binPath, hasCommand, repoRoot, runTool, startTool, tempDir, waitFor } from './helpers/env.js'

const unitsDir = join(repoRoot, 'contrib', 'systemd')
const examples = join(repoRoot, 'examples')
const units = readdirSync(unitsDir).filter((f) => f.endsWith('@.service'))

test('every tool has a systemd template unit, and systemd-analyze verify finds nothing to say about it', (t) => {
  t.deepEqual(units.sort(), ['pcap-zmq-plugin@.service', 'pcap-zmq-recv@.service', 'pcap-zmq-send@.service', 'pcap-zmq-track@.service'])
  if (!hasCommand('systemd-analyze')) { t.pass('systemd-analyze is not installed (Debian: systemd); skipped'); return }
  const { dir, cleanup } = tempDir('pzp-units-')
  t.teardown(cleanup)
  const files: string[] = []
  for (const u of units) {
    // An instance of the template, pointing at this checkout's bins (verify checks they exist).
    const text = readFileSync(join(unitsDir, u), 'utf8').replace(/\/usr\/local\/bin\/(pcap-zmq-\w+)/g, (_, tool: string) => binPath(tool.slice('pcap-zmq-'.length)))
    const file = join(dir, u.replace('@.service', '@test.service'))
    writeFileSync(file, text)
    files.push(file)
  }
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...files], { encoding: 'utf8', env: { ...process.env, SYSTEMD_LOG_LEVEL: 'notice' } })
  t.is(r.status, 0, r.stderr)
  t.is(r.stderr.trim(), '', 'no warnings')
})

test('units run as the pcap-zmq user with only the capabilities each tool needs', (t) => {
  const caps: Record<string, string> = {}
  for (const u of units) {
    const text = readFileSync(join(unitsDir, u), 'utf8')
    t.regex(text, /^User=pcap-zmq$/m, u)
    t.regex(text, /^NoNewPrivileges=yes$/m, u)
    t.regex(text, /^Restart=on-failure$/m, u)
    caps[u] = /^CapabilityBoundingSet=(.*)$/m.exec(text)![1]!
    t.is(/^AmbientCapabilities=(.*)$/m.exec(text)![1], caps[u], u)
  }
  t.deepEqual(caps, {
    'pcap-zmq-plugin@.service': '',
    'pcap-zmq-recv@.service': '',
    'pcap-zmq-send@.service': 'CAP_NET_ADMIN CAP_NET_RAW',
    'pcap-zmq-track@.service': 'CAP_NET_RAW',
  })
  t.regex(readFileSync(join(unitsDir, 'pcap-zmq-pipe.sysusers'), 'utf8'), /^u pcap-zmq /m)
})

test('the example configs are read back as written', (t) => {
  const send = resolveSendOptions({ config: join(examples, 'send.yaml') }, () => {})
  t.deepEqual(send.source, { kind: 'nflog', groups: [0, 1] })
  t.deepEqual(send.endpoints, ['tcp://ids.example.net:1234'])
  t.like(send, { sensorId: 'gw1', nlbufsiz: 10 * 1048576, timeout: 0, statsInterval: 60, rateControl: false })
  const recv = resolveRecvOptions({ config: join(examples, 'recv.yaml') }, () => {})
  t.like(recv, { endpoint: 'tcp://0.0.0.0:1234', output: '/run/snort/snort.pcap', format: 'pcap', publish: 'tcp://127.0.0.1:5556', bufferInterface: 'tcp://127.0.0.1:5560', bufferWindow: 16 * 1048576 })
  const track = loadConfig(join(examples, 'track.yaml'))
  t.deepEqual(track.filter.protocol, ['tcp', 'udp', 'icmp'])
  t.is(track.filter.bpf, 'not port 22')
  t.like(track, { maxSessions: 1000000, sensor: 'ids-1' })
  t.is(track.timeouts.udpPorts.get(53), 30)
  const plugin = loadPluginConfig(join(examples, 'plugin.yaml'))
  t.like(plugin.builtin.jsonl, { path: '/var/lib/pcap-zmq-pipe/sessions.jsonl', max_bytes: 104857600, keep: 5 })
})

test('the example configs run: the tools start with them (paths overridden on the command line)', async (t) => {
  const { dir, cleanup } = tempDir('pzp-examples-')
  t.teardown(cleanup)
  const ep = (n: string) => `ipc://${join(dir, n)}`
  const recv = startTool('recv', ['-c', join(examples, 'recv.yaml'), ep('in'), join(dir, 'out.pcap'), '--publish', ep('pub'), '--buffer-interface', ep('buf'), '--debug'])
  t.teardown(() => { void recv.stop('SIGKILL') })
  await waitFor(() => recv.stderr().includes('listening on') || recv.child.exitCode !== null, 30000, 'recv to start')
  t.is(await recv.stop('SIGINT'), 0, recv.stderr())
  t.regex(recv.stderr(), /listening on ipc:\/\/.*\/in, writing pcap to/)
  const track = runTool('track', ['-', '-c', join(examples, 'track.yaml')], readFileSync(join(repoRoot, 'test', 'fixtures', 'tcpdump', 'LINKTYPE_IPV4.pcap')))
  t.is(track.status, 0, track.stderr)
  t.regex(track.stdout.toString(), /"sensor":"ids-1"/)
})

import test from 'ava'
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { binPath, runTool, tempDir } from './helpers/env.js'
import { frame } from './helpers/track-frames.js'

/** A classic pcap (Ethernet) of the given frames, one per millisecond. */
function pcap(frames: Buffer[]): Buffer {
  const head = Buffer.alloc(24)
  head.writeUInt32LE(0xa1b2c3d4, 0); head.writeUInt16LE(2, 4); head.writeUInt16LE(4, 6); head.writeUInt32LE(262144, 16); head.writeUInt32LE(1, 20)
  const recs = frames.map((f, i) => {
    const h = Buffer.alloc(16)
    h.writeUInt32LE(1_700_000_000, 0); h.writeUInt32LE(i * 1000, 4); h.writeUInt32LE(f.length, 8); h.writeUInt32LE(f.length, 12)
    return Buffer.concat([h, f])
  })
  return Buffer.concat([head, ...recs])
}

const web = [
  frame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'tcp', sport: 4000, dport: 80, flags: 'S' }),
  frame({ src: '10.0.0.2', dst: '10.0.0.1', proto: 'tcp', sport: 80, dport: 4000, flags: 'SA' }),
  frame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'tcp', sport: 4000, dport: 80, flags: 'A' }),
  frame({ src: '10.0.0.1', dst: '10.0.0.3', proto: 'udp', sport: 4001, dport: 53, payload: 'x' }),
]

test('stdin pcap to NDJSON events; eof flush; counters on stderr', (t) => {
  const r = runTool('track', ['-'], pcap(web))
  t.is(r.status, 0, r.stderr)
  const ev = r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l))
  t.deepEqual(ev.map((e) => `${e.protocol_name} ${e.state} ${e.reason}`), ['TCP NEW null', 'TCP ESTABLISHED null', 'UDP NEW null', 'TCP EXPIRED eof', 'UDP EXPIRED eof'])
  t.regex(r.stderr, /pcap-zmq-track: packets=4 .*sessions=2 events=5/)
})

test('filter.bpf in the config and --filter attributes', (t) => {
  const tmp = tempDir()
  const cfg = join(tmp.dir, 'c.yaml')
  writeFileSync(cfg, 'config:\n  filter:\n    scapy: "udp"\n')
  const r = runTool('track', ['-', '-c', cfg], pcap(web))
  t.deepEqual(r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l).protocol_name), ['UDP', 'UDP'])
  const f = runTool('track', ['-', '--filter', '{"TCP": {"Destination_Port": 80}}'], pcap(web))
  t.is(f.status, 0, f.stderr)
  t.deepEqual(f.stdout.toString().trim().split('\n').map((l) => JSON.parse(l).state), ['NEW', 'EXPIRED'])
  tmp.cleanup()
})

test('--packets prints decoded objects', (t) => {
  const r = runTool('track', ['-', '--packets'], pcap(web))
  const lines = r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l))
  t.is(lines.length, 4)
  t.truthy(lines[0].TCP)
})

test('user mistakes: one stderr line and exit 2', (t) => {
  const tmp = tempDir()
  const cfg = join(tmp.dir, 'c.yaml')
  writeFileSync(cfg, 'filter:\n  source: [10.0.0.0/40]\n')
  for (const args of [['-', '-c', cfg], ['-', '--max-sessions', '0'], ['tcp://nohost'], ['-', '--filter', '{bad'], ['-', '--bogus']]) {
    const r = runTool('track', args, Buffer.alloc(0))
    t.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`)
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr)
    t.regex(r.stderr, /^pcap-zmq-track: /)
  }
  const b = runTool('track', ['-'], Buffer.alloc(0))
  t.not(b.status, 0)
  tmp.cleanup()
})

test('a closed stdout (| head) ends quietly', (t) => {
  const many: Buffer[] = []
  for (let i = 0; i < 20000; i++) many.push(frame({ src: '10.0.0.1', dst: `10.9.${i >> 8}.${i & 255}`, proto: 'udp', sport: 1000, dport: 2000, payload: 'x' }))
  const tmp = tempDir()
  const file = join(tmp.dir, 'many.pcap')
  writeFileSync(file, pcap(many))
  const r = spawnSync('sh', ['-c', `node ${binPath('track')} - < ${file} | head -n 2`], { encoding: 'utf8' })
  t.is(r.stdout.trim().split('\n').length, 2)
  t.notRegex(r.stderr, /EPIPE|internal error|Error:/)
  tmp.cleanup()
})

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

/** Exit code and the single stderr line of a run that must fail without a stack trace. */
function failure(args: string[], input: Buffer): { status: number | null; line: string; stdout: Buffer } {
  const r = runTool('track', args, input)
  return { status: r.status, line: r.stderr.endsWith('\n') && r.stderr.indexOf('\n') === r.stderr.length - 1 ? r.stderr.slice(0, -1) : `NOT ONE LINE: ${r.stderr}`, stdout: r.stdout }
}

test('bad stdin: one stderr line naming the problem, exit 1 (as tcpdump -r exits 1)', (t) => {
  const cases: Array<[string, Buffer, string]> = [
    ['empty', Buffer.alloc(0), 'stdin: empty input, no pcap or pcapng file header'],
    ['text', Buffer.from('hello world, this is no capture file\n'), 'stdin: not a pcap or pcapng stream (magic 0x68656c6c)'],
    ['short text', Buffer.from('hello!'), 'stdin: not a pcap or pcapng stream (magic 0x68656c6c)'],
    ['gzip', Buffer.from('1f8b0800000000000003', 'hex'), 'stdin: not a pcap or pcapng stream (magic 0x1f8b0800)'],
    ['three bytes', Buffer.from([0xd4, 0xc3, 0xb2]), 'stdin: truncated file header (only 3 bytes)'],
    ['cut pcap header', pcap(web).subarray(0, 20), 'stdin: truncated file header (only 20 bytes)'],
  ]
  for (const [name, input, want] of cases) {
    const r = failure(['-'], input)
    t.is(r.status, 1, name)
    t.is(r.line, `pcap-zmq-track: ${want}`, name)
    t.is(r.stdout.length, 0, name)
  }
})

test('truncated capture: the events of every packet before the cut, then one line and exit 1', (t) => {
  const whole = pcap(web)
  // Cut inside the fourth record (16-byte header + frame): the first three are whole.
  const fourth = 24 + web.slice(0, 3).reduce((n, f) => n + 16 + f.length, 0)
  for (const cut of [fourth + 5, fourth + 16 + 3]) {
    const r = failure(['-'], whole.subarray(0, cut))
    t.is(r.status, 1)
    t.is(r.line, `pcap-zmq-track: stdin: truncated record at byte ${fourth} (after 3 packets)`)
    const ev = r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l))
    t.deepEqual(ev.map((e) => `${e.protocol_name} ${e.state} ${e.reason}`), ['TCP NEW null', 'TCP ESTABLISHED null', 'TCP EXPIRED eof'])
  }
  // --packets too: decoded before the cut means printed.
  const p = failure(['-', '--packets'], whole.subarray(0, fourth + 5))
  t.is(p.status, 1)
  t.is(p.stdout.toString().trim().split('\n').length, 3)
})

test('truncated pcapng: the same, counted from the start of the stream', (t) => {
  const ng = (() => {
    const block = (type: number, body: Buffer) => {
      const b = Buffer.alloc(12 + body.length + ((4 - (body.length % 4)) % 4))
      b.writeUInt32LE(type, 0); b.writeUInt32LE(b.length, 4); body.copy(b, 8); b.writeUInt32LE(b.length, b.length - 4)
      return b
    }
    const shb = Buffer.alloc(16)
    shb.writeUInt32LE(0x1a2b3c4d, 0); shb.writeUInt16LE(1, 4); shb.fill(0xff, 8)
    const idb = Buffer.alloc(8)
    idb.writeUInt16LE(1, 0); idb.writeUInt32LE(262144, 4)
    const epbs = web.map((f, i) => {
      const h = Buffer.alloc(20)
      h.writeUInt32LE(0, 0); h.writeUInt32LE(0x60a, 4); h.writeUInt32LE(i * 1000, 8); h.writeUInt32LE(f.length, 12); h.writeUInt32LE(f.length, 16)
      return block(6, Buffer.concat([h, f]))
    })
    return { head: Buffer.concat([block(0x0a0d0d0a, shb), block(1, idb)]), epbs }
  })()
  const at = ng.head.length + ng.epbs[0]!.length + ng.epbs[1]!.length
  const r = failure(['-'], Buffer.concat([ng.head, ng.epbs[0]!, ng.epbs[1]!, ng.epbs[2]!.subarray(0, 30)]))
  t.is(r.status, 1)
  t.is(r.line, `pcap-zmq-track: stdin: truncated record at byte ${at} (after 2 packets)`)
  const ev = r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l))
  t.deepEqual(ev.map((e) => `${e.state} ${e.orig_packets}/${e.reply_packets}`), ['NEW 1/0', 'EXPIRED 1/1'])
})

test('usage mistakes: exit 2, one line, no stack trace', (t) => {
  for (const args of [[], ['-', '-c', '/nonexistent/track.yaml'], ['-', '--pull'], ['-', 'extra', 'args']]) {
    const r = failure(args, pcap(web))
    t.is(r.status, 2, `${args.join(' ')}: ${r.line}`)
    t.regex(r.line, /^pcap-zmq-track: [^\n]+$/, args.join(' '))
    t.notRegex(r.line, /\bat .*\.js:\d+/)
  }
})

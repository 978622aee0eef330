import test from 'ava'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Publisher } from 'zeromq'
import { ipcEndpoint, sleep, tempDir, waitFor } from './helpers/env.js'
import { ndjson, runPlugin, sessionEvents, startPluginFor } from './helpers/plugin-proc.js'

function setup(t: { teardown: (f: () => void) => void }) {
  const { dir, cleanup } = tempDir('pzp-input-')
  t.teardown(cleanup)
  const plugin = join(dir, 'seq.mjs')
  writeFileSync(plugin, "export function receiver(e) { process.stdout.write(e.seq + '\\n') }\n")
  return { plugin, spool: ['--spool-dir', join(dir, 'spool')] }
}

const ev = (seq: number) => ({ ...sessionEvents(1)[0], seq })
// One of each hostile kind, several times: each kind is warned about once and counted every time.
const hostile = [
  'not json at all', '{"src_ip": "1.2.3.4"', '\u0000\u0001\u0002',
  JSON.stringify({ ...ev(0), src_port: 'eighty' }), JSON.stringify([1, 2, 3]), '42', 'null',
  JSON.stringify({ ...ev(0), session_id: 7 }), JSON.stringify({ ...ev(0), src_port: 70000 }),
  'x'.repeat(5000), `{"a":"${'y'.repeat(70000)}"}`,
]

function checkCounts(t: { is: (a: unknown, b: unknown, m?: string) => void; regex: (s: string, r: RegExp) => void }, stderr: string, c: Record<string, number>, rounds: number) {
  t.is(c.not_json, 3 * rounds)
  t.is(c.wrong_type, 6 * rounds)
  t.is(c.too_long, 2 * rounds)
  t.is(c.bad_input, 11 * rounds)
  for (const kind of ['not JSON', 'not a session event', 'over the 4096-byte limit']) {
    t.is(stderr.split(kind).length - 1, 1, `one warning for "${kind}"`)
  }
}

test('hostile stdin: bad lines counted by kind, one warning per kind, good lines delivered', async (t) => {
  const { plugin, spool } = setup(t)
  let input = ''
  for (let r = 0; r < 3; r++) input += ndjson([ev(r * 2)]) + hostile.join('\n') + '\n' + ndjson([ev(r * 2 + 1)])
  // CRLF and blank lines are not errors.
  input += '\r\n\n' + JSON.stringify(ev(6)) + '\r\n' + JSON.stringify(ev(7))
  const r = await runPlugin(['-', plugin, '--max-line', '4096', ...spool], input)
  t.is(r.code, 0, r.stderr)
  t.is(r.stdout, '0\n1\n2\n3\n4\n5\n6\n7\n')
  t.like(r.counters, { received: 8, delivered: 8 })
  checkCounts(t, r.stderr, r.counters, 3)
})

test('a huge line split across many chunks is skipped without being held whole', async (t) => {
  const { plugin, spool } = setup(t)
  const p = startPluginFor(t, ['-', plugin, '--max-line', '64k', ...spool])
  p.child.stdin?.write(ndjson([ev(1)]) + '{"big":"')
  const chunk = 'z'.repeat(1 << 20)
  for (let i = 0; i < 64; i++) {
    if (!p.child.stdin?.write(chunk)) await new Promise((r) => p.child.stdin?.once('drain', r))
  }
  p.child.stdin?.end('"}\n' + ndjson([ev(2)]))
  t.is(await p.exited, 0, p.stderr())
  t.is(p.stdout(), '1\n2\n')
  t.like(p.counters(), { too_long: 1, received: 2 })
})

test('hostile messages on the socket: counted, skipped, nothing crashes', async (t) => {
  const { plugin, spool } = setup(t)
  const ep = ipcEndpoint()
  const pub = new Publisher()
  await pub.bind(ep)
  t.teardown(() => pub.close())
  const p = startPluginFor(t, [ep, plugin, '--max-line', '4096', ...spool])
  p.child.stdin?.end()
  // Subscriptions take a moment to reach the publisher: probe until the first event arrives.
  await waitFor(async () => { await pub.send(JSON.stringify(ev(-1)) + '\n'); await sleep(100); return p.stdout().includes('-1\n') }, 60000, 'subscription')
  const before = p.stdout().length
  for (let r = 0; r < 2; r++) {
    for (const h of hostile) await pub.send(h)
    await pub.send(['multi', 'part'])
    await pub.send(Buffer.from([0xff, 0xfe, 0x00, 0x0a]))
  }
  // Several events in one message, the last without a newline.
  await pub.send(ndjson([ev(1), ev(2)]) + JSON.stringify(ev(3)))
  await waitFor(() => p.stdout().slice(before).includes('3\n'), 60000, 'events after the hostile ones')
  p.child.kill('SIGTERM')
  t.is(await p.exited, 0)
  t.is(p.stdout().slice(before).replace(/^(-1\n)+/, ''), '1\n2\n3\n')
  const c = p.counters()
  // Per round: hostile (3 not JSON) + 2 multipart frames + 1 binary line of garbage.
  t.is(c.not_json, 2 * (3 + 2 + 1))
  t.is(c.wrong_type, 12)
  t.is(c.too_long, 4)
})

test('bad flags and configs end in one line and exit code 2', async (t) => {
  const { plugin, spool } = setup(t)
  const { dir, cleanup } = tempDir('pzp-cfg-')
  t.teardown(cleanup)
  const write = (name: string, body: string) => { writeFileSync(join(dir, name), body); return join(dir, name) }
  const cases: [string[], RegExp][] = [
    [['udp://x', plugin], /bad endpoint "udp:\/\/x"/],
    [['-', plugin, '--batch', '0'], /--batch expects an integer >= 1, got 0/],
    [['-', plugin, '--spool-max', 'lots'], /--spool-max: expected a size/],
    [['-', plugin, '-c', join(dir, 'absent.yaml')], /cannot read config/],
    [['-', plugin, '-c', write('a.yaml', 'config:\n  plugin:\n    pass_config: maybe\n')], /plugin.pass_config must be true or false/],
    [['-', plugin, '-c', write('b.yaml', 'plugin: [1]\n')], /plugin must be a mapping/],
    [['-', plugin, '-c', write('c.yaml', 'a: [\n')], /is not valid YAML/],
    [['-', plugin, '-c', write('d.yaml', 'queue_size: -3\n')], /queue_size must be a positive integer/],
    [['-', 'postgres'], /postgres needs a connection string/],
  ]
  for (const [args, re] of cases) {
    const r = await runPlugin([...args, ...spool], '')
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr)
    t.regex(r.stderr, re)
  }
})

import test from 'ava'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot, tempDir } from './helpers/env.js'
import { ndjson, runPlugin, sessionEvents } from './helpers/plugin-proc.js'

const ex = (f: string) => join(repoRoot, 'examples', 'plugins', f)
const icmp = {
  src_ip: '10.0.0.1', dst_ip: '10.0.0.2', src_port: null, dst_port: null, protocol_num: 1, protocol_name: 'ICMP',
  state: 'NEW', timestamp: '2026-11-23T09:15:02.123456', session_id: '0190a5b2-0000-7000-8000-0000000000ff',
  payload: null, sensor: null, orig_packets: 1,
}

function withSpool(t: { teardown: (f: () => void) => void }): { dir: string; spool: string[] } {
  const { dir, cleanup } = tempDir('pzp-plugin-')
  t.teardown(cleanup)
  // Only a bound on a hang: a passing run ends as soon as everything is delivered.
  return { dir, spool: ['--spool-dir', join(dir, 'spool'), '--drain-timeout', '60'] }
}

test('JS plugin: async receiver gets every event in order, without config by default', async (t) => {
  const { spool } = withSpool(t)
  const r = await runPlugin(['-', ex('print.js'), ...spool], ndjson(sessionEvents(3)))
  t.is(r.code, 0, r.stderr)
  t.deepEqual(r.stdout.trim().split('\n'), [
    'NEW TCP 10.0.0.1:40000 -> 127.0.0.1:443 0190a5b2-0000-7000-8000-000000000000',
    'ESTABLISHED TCP 10.0.0.1:40000 -> 127.0.0.1:443 0190a5b2-0000-7000-8000-000000000000',
    'ESTABLISHED TCP 10.0.0.1:40000 -> 127.0.0.1:443 0190a5b2-0000-7000-8000-000000000000',
  ])
  t.like(r.counters, { received: 3, delivered: 3, failed: 0, spooled: 0 })
})

test('JS plugin: config is passed as the second argument only with plugin.pass_config', async (t) => {
  const { dir, spool } = withSpool(t)
  const plugin = join(dir, 'args.mjs')
  writeFileSync(plugin, `export function receiver(...a) { process.stdout.write(a.length + ' ' + JSON.stringify(a[1]?.plugin ?? null) + ' ' + Object.keys(a[0]).length + '\\n') }\n`)
  const cfg = join(dir, 'c.yaml')
  writeFileSync(cfg, 'config:\n  iface: eth0\n  plugin:\n    pass_config: True\n    tag: x\n')
  const input = ndjson(sessionEvents(1))
  const off = await runPlugin(['-', plugin, ...spool], input)
  t.is(off.stdout, '1 null 23\n')
  const on = await runPlugin(['-', plugin, '-c', cfg, ...spool], input)
  t.is(on.stdout, `2 ${JSON.stringify({ pass_config: true, tag: 'x', path: null })} 23\n`)
  const flag = await runPlugin(['-', plugin, '--pass-config', '--fields', 'pokiestream', ...spool], input)
  t.regex(flag.stdout, /^2 .* 10\n$/)
})

test('TS plugin through tsx: init(config), receiverBatch in batches, close()', async (t) => {
  const { dir, spool } = withSpool(t)
  const state = join(dir, 'state.txt')
  const cfg = join(dir, 'c.yaml')
  writeFileSync(cfg, `plugin:\n  state_file: ${state}\n`)
  const r = await runPlugin(['-', ex('state-file.ts'), '-c', cfg, '--batch', '2', ...spool], ndjson(sessionEvents(5, 2)))
  t.is(r.code, 0, r.stderr)
  const lines = readFileSync(state, 'utf8').trim().split('\n').map((l) => l.split(' ').slice(1).join(' '))
  t.deepEqual(lines, [
    '0190a5b2-0000-7000-8000-000000000000 - -> NEW',
    '0190a5b2-0000-7000-8000-000000000001 - -> NEW',
    '0190a5b2-0000-7000-8000-000000000000 NEW -> ESTABLISHED',
    '0190a5b2-0000-7000-8000-000000000001 NEW -> ESTABLISHED',
    '0190a5b2-0000-7000-8000-000000000000 ESTABLISHED -> ESTABLISHED',
  ])
  t.like(r.counters, { delivered: 5 })
})

test('Lua plugin: nil for absent fields, print goes to stdout', async (t) => {
  const { spool } = withSpool(t)
  const events = [...sessionEvents(1), icmp, { ...sessionEvents(1)[0], payload: { dns: 'example.com' } }]
  const r = await runPlugin(['-', ex('summary.lua'), ...spool], ndjson(events))
  t.is(r.code, 0, r.stderr)
  t.deepEqual(r.stdout.trim().split('\n'), [
    '#1 NEW TCP 10.0.0.1:40000 -> 127.0.0.1:443',
    '#2 NEW ICMP 10.0.0.1 -> 10.0.0.2',
    '#3 NEW TCP 10.0.0.1:40000 -> 127.0.0.1:443 dns=example.com',
  ])
})

test('Python plugin: async receiver under python3, every event acknowledged', async (t) => {
  const { spool } = withSpool(t)
  const r = await runPlugin(['-', ex('summary.py'), ...spool], ndjson([...sessionEvents(2), icmp]))
  t.is(r.code, 0, r.stderr)
  t.deepEqual(r.stdout.trim().split('\n'), [
    '#1 NEW TCP 10.0.0.1:40000 -> 127.0.0.1:443',
    '#2 ESTABLISHED TCP 10.0.0.1:40000 -> 127.0.0.1:443',
    '#3 NEW ICMP 10.0.0.1 -> 10.0.0.2',
  ])
  t.like(r.counters, { received: 3, delivered: 3, failed: 0 })
})

test('exec: plugin reads NDJSON on its stdin', async (t) => {
  const { spool } = withSpool(t)
  const r = await runPlugin(['-', `exec:sh ${ex('count-states.sh')}`, ...spool], ndjson(sessionEvents(4)))
  t.is(r.code, 0, r.stderr)
  t.is(r.stdout, 'ESTABLISHED 3\nNEW 1\n')
})

test('a plugin without receiver is refused at start with one line', async (t) => {
  const { dir, spool } = withSpool(t)
  const cases: [string, string, RegExp][] = [
    ['none.mjs', 'export const x = 1\n', /does not export a receiver/],
    ['none.lua', 'function other() end\n', /does not define a global receiver/],
    ['none.py', 'def other():\n    pass\n', /does not define a receiver/],
  ]
  for (const [file, body, re] of cases) {
    writeFileSync(join(dir, file), body)
    const r = await runPlugin(['-', join(dir, file), ...spool], '')
    t.is(r.code, 2, file)
    const lines = r.stderr.trim().split('\n')
    t.is(lines.length, 1, r.stderr)
    t.regex(lines[0], /^pcap-zmq-plugin: /)
    t.regex(lines[0], re)
  }
  const missing = await runPlugin(['-', join(dir, 'absent.js'), ...spool], '')
  t.is(missing.code, 2)
  t.regex(missing.stderr, /plugin file not found/)
  const bad = await runPlugin(['-', join(dir, 'x.rb'), ...spool], '')
  t.regex(bad.stderr, /unsupported plugin/)
})

test('built-in plain: PokieStream format, ICMP without ports, payload names', async (t) => {
  const { spool } = withSpool(t)
  const ev = { ...sessionEvents(1)[0], payload: { host: 'example.org' } }
  const r = await runPlugin(['-', 'plain', '--no-rdns', '--no-color', ...spool], ndjson([ev, icmp]))
  t.is(r.code, 0, r.stderr)
  t.deepEqual(r.stdout.trim().split('\n'), [
    '[2026-11-23T09:00:00.000000] 10.0.0.1:40000 -> 127.0.0.1:443 Protocol: TCP (6), State: NEW, Session: 0190a5b2-0000-7000-8000-000000000000, Host: example.org',
    '[2026-11-23T09:15:02.123456] 10.0.0.1 -> 10.0.0.2 Protocol: ICMP (1)',
  ])
  const colored = await runPlugin(['-', 'plain', '--no-rdns', ...spool], ndjson([{ ...ev, state: 'ABORT' }]))
  t.true(colored.stdout.startsWith('\x1b[1;91m['))
  t.true(colored.stdout.includes('Session: 0190a5b2-0000-7000-8000-000000000000\x1b[0m, Host: example.org'))
})

test('built-in jsonl: appends, rotates by size, keeps N files', async (t) => {
  const { dir, spool } = withSpool(t)
  const out = join(dir, 'events.jsonl')
  const events = sessionEvents(40)
  const r = await runPlugin(['-', 'jsonl', '--out', out, '--rotate-bytes', '4k', '--keep', '2', '--batch', '5', ...spool], ndjson(events))
  t.is(r.code, 0, r.stderr)
  t.true(existsSync(`${out}.1`))
  t.false(existsSync(`${out}.3`))
  const read = (f: string) => existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l).seq as number) : []
  const cur = read(out)
  const all = [...read(`${out}.2`), ...read(`${out}.1`), ...cur]
  t.deepEqual(all, Array.from({ length: all.length }, (_, i) => 40 - all.length + i))
  t.is(cur[cur.length - 1], 39)
  for (const f of [out, `${out}.1`]) t.true(readFileSync(f).length <= 4096)
  const missing = await runPlugin(['-', 'jsonl', ...spool], '')
  t.is(missing.code, 2)
  t.regex(missing.stderr, /jsonl needs a file/)
})

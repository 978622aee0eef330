import test, { type ExecutionContext } from 'ava'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { allOptions, type ToolSpec } from '../lib/cli/option-table.js'
import { SEND_TOOL, resolveSendOptions } from '../lib/cli/send-options.js'
import { RECV_TOOL, resolveRecvOptions } from '../lib/cli/recv-options.js'
import { QUERY_TOOL, parseQueryArgs } from '../lib/cli/query-options.js'
import { KEYGEN_TOOL, parseKeygenArgs } from '../lib/cli/keygen-options.js'
import { TRACK_TOOL, parseTrackArgs } from '../lib/cli/track-options.js'
import { PLUGIN_TOOL, parsePluginArgs } from '../lib/cli/plugin-options.js'
import { createRateMeter, formatCounters, snakeKeys } from '../lib/util/stats.js'
import { repoRoot, runTool, tempDir } from './helpers/env.js'

const TOOLS: Array<[string, ToolSpec]> = [['send', SEND_TOOL], ['recv', RECV_TOOL], ['query', QUERY_TOOL], ['keygen', KEYGEN_TOOL], ['track', TRACK_TOOL], ['plugin', PLUGIN_TOOL]]
const LONG_RUNNING = ['send', 'recv', 'track', 'plugin']

/** --print-config's output, written to a file -c can read. */
function template(t: ExecutionContext, tool: string): string {
  const r = runTool(tool, ['--print-config'])
  if (r.status !== 0) throw new Error(`${tool} --print-config exited ${r.status}: ${r.stderr}`)
  const dir = temp(t)
  const file = join(dir, `${tool}.yaml`)
  writeFileSync(file, r.stdout)
  return file
}

function temp(t: ExecutionContext): string {
  const { dir, cleanup } = tempDir('pzp-cfg-')
  t.teardown(cleanup)
  return dir
}

const noLog = () => {}
/** Options without their functions (log callbacks), for comparison. */
const plain = (o: object) => JSON.parse(JSON.stringify(o, (_k, v: unknown) => (v instanceof Map ? [...v] : v))) as Record<string, unknown>

for (const [tool, spec] of TOOLS) {
  test(`${tool}: --print-config is YAML naming every config option, and every option is in --help and the man page`, (t) => {
    const r = runTool(tool, ['--print-config'])
    t.is(r.status, 0, r.stderr)
    const text = r.stdout.toString()
    t.notThrows(() => parseYaml(text))
    const help = runTool(tool, ['--help']).stdout.toString()
    const man = readFileSync(join(repoRoot, 'man', `pcap-zmq-${tool}.1`), 'utf8')
    for (const o of allOptions(spec)) {
      t.true(help.includes(`--${o.name}`), `--${o.name} in --help`)
      t.true(man.includes(`\\-\\-${o.name.replace(/-/g, '\\-')}`), `--${o.name} in the man page`)
      if (o.cliOnly) continue
      const key = (o.configKey ?? o.name).split('.').pop()!
      t.regex(text, new RegExp(`^\\s*(# )?${key.replace(/[-]/g, '[-_]')}:`, 'm'), `${o.name} in the template`)
    }
    for (const g of spec.groups) t.true(help.includes(`${g.title}:`), `group ${g.title} in --help`)
    t.regex(man, /^\.SH OPTIONS$/m)
    t.regex(man, /^\.SH EXIT STATUS$/m)
  })
}

test('every long-running tool has the same logging, statistics and metrics options', (t) => {
  for (const [tool, spec] of TOOLS.filter(([n]) => LONG_RUNNING.includes(n))) {
    const names = allOptions(spec).map((o) => o.name)
    for (const n of ['debug', 'stats-interval', 'metrics', 'config', 'print-config', 'curve-key']) t.true(names.includes(n), `${tool} --${n}`)
    const group = spec.groups.find((g) => g.title === 'Logging and statistics')
    t.deepEqual(group?.options.map((o) => o.name), ['debug', 'stats-interval', 'metrics'], tool)
  }
})

test('send and recv: the printed config read back with -c changes nothing; values in it apply; flags win', (t) => {
  const sendCfg = template(t, 'send')
  const base = { src: '0,1', dst: 'tcp://127.0.0.1:5555' }
  t.deepEqual(plain(resolveSendOptions({ ...base, config: sendCfg }, noLog)), plain(resolveSendOptions(base, noLog)))
  const recvCfg = template(t, 'recv')
  const rbase = { src: 'tcp://127.0.0.1:5555', dst: '/tmp/pzp-never-written.pcap' }
  t.deepEqual(plain(resolveRecvOptions({ ...rbase, config: recvCfg }, noLog)), plain(resolveRecvOptions(rbase, noLog)))

  const dir = temp(t)
  const edited = join(dir, 'send.yaml')
  writeFileSync(edited, readFileSync(sendCfg, 'utf8').replace(/^lwm: 1$/m, 'lwm: 2').replace(/^# src:$/m, 'src: "3"'))
  const o = resolveSendOptions({ dst: base.dst, config: edited }, noLog)
  t.is(o.lwm, 2 * 1048576)
  t.deepEqual(o.source, { kind: 'nflog', groups: [3] })
  t.is(resolveSendOptions({ dst: base.dst, config: edited, lwm: 0.5 }, noLog).lwm, 0.5 * 1048576)
})

test('query, keygen, track and plugin: the printed config read back with -c changes nothing', async (t) => {
  t.deepEqual(plain(parseQueryArgs(['tcp://127.0.0.1:5556', '-c', template(t, 'query')])), plain(parseQueryArgs(['tcp://127.0.0.1:5556'])))
  t.deepEqual(parseKeygenArgs(['/tmp/pzp-never-written-key', '-c', template(t, 'keygen')]), parseKeygenArgs(['/tmp/pzp-never-written-key']))

  const trackCfg = template(t, 'track')
  const withCfg = plain(await parseTrackArgs(['-', '-c', trackCfg]))
  const without = plain(await parseTrackArgs(['-']))
  // The raw values hold what the template spelled out; what they resolve to must not differ.
  for (const o of [withCfg, without]) {
    delete (o.config as Record<string, unknown>).options
    delete (o.config as Record<string, unknown>).maxSessions
  }
  t.deepEqual(withCfg, without)

  const pluginCfg = template(t, 'plugin')
  const p1 = plain(await parsePluginArgs(['-', '-c', pluginCfg]))
  const p0 = plain(await parsePluginArgs(['-']))
  delete p1.config
  t.deepEqual(p1, p0)
})

test('track and plugin take their own options from their config sections; the command line wins', async (t) => {
  const dir = temp(t)
  const track = join(dir, 'track.yaml')
  writeFileSync(track, 'config:\n  track:\n    stats_interval: 7\n    drop-bad-checksum: true\n    max_sessions: 500\n')
  const o = await parseTrackArgs(['-', '-c', track])
  t.is(o.statsInterval, 7)
  t.true(o.dropBadChecksum)
  t.is(o.maxSessions, 500)
  t.is((await parseTrackArgs(['-', '-c', track, '--stats-interval', '3', '--max-sessions', '9'])).statsInterval, 3)
  t.is((await parseTrackArgs(['-', '-c', track, '--max-sessions', '9'])).maxSessions, 9)
  const bad = join(dir, 'bad.yaml')
  writeFileSync(bad, 'config:\n  track:\n    stats-intervall: 7\n')
  const r = runTool('track', ['-', '-c', bad], Buffer.alloc(0))
  t.is(r.status, 2)
  t.regex(r.stderr, /track\.stats-intervall: unknown key/)

  const plugin = join(dir, 'plugin.yaml')
  writeFileSync(plugin, 'plugin:\n  spool_dir: /tmp/pzp-never-made-spool\n  batch: 9\n')
  const p = await parsePluginArgs(['-', '-c', plugin])
  t.is(p.spoolDir, '/tmp/pzp-never-made-spool')
  t.is(p.batch, 9)
  t.is((await parsePluginArgs(['-', '-c', plugin, '--batch', '4'])).batch, 4)
})

test('counter names are snake_case and periodic lines carry a rate beside each total', (t) => {
  t.deepEqual(snakeKeys({ badChecksum: 1, packets: 2, kernelDrops: 3 }), { bad_checksum: 1, packets: 2, kernel_drops: 3 })
  let now = 0
  const meter = createRateMeter(() => now)
  now = 2000
  const rates = meter({ packets_in: 1000, live: 5 })
  t.is(rates.get('packets_in'), 500)
  t.false(rates.has('live'), 'levels have no rate')
  now = 3000
  t.is(meter({ packets_in: 1250, live: 4 }).get('packets_in'), 250)
  t.is(formatCounters('counters', { packets_in: 1250, live: 4 }, '', new Map([['packets_in', 250]])), 'counters: packets_in=1250 (250/s) live=4')
})

test('a mistake in a config or a flag is one line and exit 2 on every tool', (t) => {
  const dir = temp(t)
  const bad = join(dir, 'bad.yaml')
  writeFileSync(bad, 'no-such-option: 1\n')
  for (const [tool, args] of [['send', ['-c', bad, '0', 'tcp://127.0.0.1:1']], ['recv', ['-c', bad, 'tcp://127.0.0.1:1', '-']], ['query', ['-c', bad, 'tcp://127.0.0.1:1']], ['keygen', ['-c', bad, join(dir, 'k')]]] as const) {
    const r = runTool(tool, [...args])
    t.is(r.status, 2, `${tool}: ${r.stderr}`)
    t.regex(r.stderr, new RegExp(`^pcap-zmq-${tool}: config .*unknown key "no-such-option"`), tool)
    t.is(r.stderr.trim().split('\n').length, 1, tool)
  }
  for (const tool of ['send', 'recv', 'query', 'track', 'plugin', 'keygen']) {
    const r = runTool(tool, ['--no-such-flag'])
    t.is(r.status, 2, tool)
    t.is(r.stderr.trim().split('\n').length, 1, `${tool}: ${r.stderr}`)
  }
})

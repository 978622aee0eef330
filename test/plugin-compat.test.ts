import test from 'ava'
import { existsSync, mkdirSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { compatDir, tempDir, waitFor } from './helpers/env.js'
import { ndjson, runPlugin, sessionEvents, startPluginFor } from './helpers/plugin-proc.js'

// PokieStream's own files (AGPL) are read where they are, never copied into the project.
const present = existsSync(join(compatDir, 'example.lua')) && existsSync(join(compatDir, 'plain.py'))
const ctest = present ? test : test.skip
if (!present) test('PokieStream compatibility files', (t) => { t.log(`skipped: ${compatDir} is absent`); t.pass() })

// plain.py does reverse DNS with gethostbyaddr: 127.0.0.1 answers from /etc/hosts, never the network.
const events = () => {
  const tcp = sessionEvents(2)
  tcp[1] = { ...tcp[1], payload: { dns: 'example.com' } }
  const icmp = { ...tcp[0], protocol_num: 1, protocol_name: 'ICMP', src_port: null, dst_port: null, session_id: 'icmp-1' }
  return [...tcp, icmp]
}

function spoolArgs(t: { teardown: (f: () => void) => void }) {
  const { dir, cleanup } = tempDir('pzp-compat-')
  t.teardown(cleanup)
  // Only a bound on a hang: a passing run ends as soon as everything is delivered.
  return { dir, args: ['--spool-dir', join(dir, 'spool'), '--drain-timeout', '60'] }
}

ctest("PokieStream's example.lua runs unchanged", async (t) => {
  const { args } = spoolArgs(t)
  const r = await runPlugin(['-', join(compatDir, 'example.lua'), ...args], ndjson(events()))
  t.is(r.code, 0, r.stderr)
  t.deepEqual(r.stdout.trim().split('\n'), [
    '[2026-11-23T09:00:00.000000] 10.0.0.1:40000 -> 127.0.0.1:443 Protocol: TCP (6) State: NEW Session: 0190a5b2-0000-7000-8000-000000000000',
    '[2026-11-23T09:00:00.001000] 10.0.0.1:40000 -> 127.0.0.1:443 Protocol: TCP (6) State: ESTABLISHED Session: 0190a5b2-0000-7000-8000-000000000000',
    '[2026-11-23T09:00:00.000000] 10.0.0.1 -> 127.0.0.1 Protocol: ICMP (1) State: NEW Session: icmp-1',
  ])
  t.like(r.counters, { delivered: 3, failed: 0 })
})

ctest("PokieStream's plain.py runs unchanged (ten fields by default for .py plugins)", async (t) => {
  const { args } = spoolArgs(t)
  const r = await runPlugin(['-', join(compatDir, 'plain.py'), ...args], ndjson(events()))
  t.is(r.code, 0, r.stderr)
  const lines = r.stdout.trim().split('\n')
  t.is(lines.length, 3)
  t.regex(lines[0], /^\x1b\[94m\[2026-11-23T09:00:00\.000000\] 10\.0\.0\.1:40000 -> 127\.0\.0\.1( \([^)]+\))?:443 Protocol: TCP \(6\), State: NEW, Session: 0190a5b2-0000-7000-8000-000000000000\x1b\[0m$/)
  t.regex(lines[1], /^\x1b\[92m.*State: ESTABLISHED, .*\x1b\[0m, DNS: example\.com$/)
  t.regex(lines[2], /^\x1b\[94m\[2026-11-23T09:00:00\.000000\] 10\.0\.0\.1 -> 127\.0\.0\.1( \([^)]+\))? Protocol: ICMP \(1\)\x1b\[0m$/)
  t.like(r.counters, { delivered: 3, failed: 0 })
})

ctest('plain.py given every field fails each event, and the events are kept, not lost', async (t) => {
  const { args } = spoolArgs(t)
  const p = startPluginFor(t, ['-', join(compatDir, 'plain.py'), '--fields', 'all', ...args.slice(0, 2), '--drain-timeout', '1'])
  p.child.stdin?.write(ndjson(sessionEvents(2)))
  // End the input only once the plugin has run and failed: python3 can take seconds to start.
  await waitFor(() => /TypeError/.test(p.stderr()), 60000, 'the plugin to fail')
  p.child.stdin?.end()
  t.is(await p.exited, 1, p.stderr())
  t.like(p.counters(), { received: 2, delivered: 0, in_spool: 2 })
})

ctest("PokieStream's config.example.yaml loads unchanged and selects plugins/plain.py", async (t) => {
  const { dir, args } = spoolArgs(t)
  // PokieStream resolves plugin.path from the working directory: give it the layout it expects.
  mkdirSync(join(dir, 'plugins'))
  symlinkSync(join(compatDir, 'plain.py'), join(dir, 'plugins', 'plain.py'))
  const r = await runPlugin(['-', '-c', join(compatDir, 'config.example.yaml'), ...args], ndjson(sessionEvents(1)), { cwd: dir })
  t.is(r.code, 0, r.stderr)
  t.regex(r.stdout, /^\x1b\[94m\[2026-11-23T09:00:00\.000000\] 10\.0\.0\.1:40000 -> 127\.0\.0\.1.*Session: 0190a5b2-0000-7000-8000-000000000000\x1b\[0m\n$/)
  // The same file with a plugin on the command line: the config is still read (and passed on request).
  const lua = await runPlugin(['-', join(compatDir, 'example.lua'), '-c', join(compatDir, 'config.example.yaml'), '--pass-config', ...args], ndjson(sessionEvents(1)))
  t.is(lua.code, 0, lua.stderr)
  t.regex(lua.stdout, /State: NEW Session: /)
})

import test from 'ava'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fixtures, repoRoot, tempDir, waitFor } from './helpers/env.js'
import { readPackets } from './helpers/pipeline.js'

// Installed the way users install it: the npm tarball into a temporary prefix, bins through npm's
// symlinks (and npx), run from outside the clone.
const TOOLS = ['send', 'recv', 'query', 'track', 'plugin', 'keygen']
const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version

function run(cmd: string, args: string[], opts: { cwd?: string; input?: Buffer | string; timeout?: number } = {}) {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, input: opts.input, timeout: opts.timeout ?? 180000, maxBuffer: 64 << 20, env: { ...process.env, npm_config_update_notifier: 'false' } })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr?.toString() ?? '' }
}

test('npm pack -> install into a prefix: every bin answers --help and --version, and the pipeline runs through the installed bins', async (t) => {
  const { dir, cleanup } = tempDir('pzp-package-')
  t.teardown(cleanup)
  // The build is the test command's (prepack would rebuild dist/ under the other tests' feet).
  const pack = run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir, repoRoot], { cwd: dir })
  t.is(pack.status, 0, pack.stderr)
  const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'))!
  const listing = run('tar', ['-tzf', join(dir, tgz)]).stdout.toString()
  for (const f of ['package/dist/lib/cli/track.js', 'package/bin/pcap-zmq-keygen.js', 'package/lib/plugin/runner.py', 'package/LICENSE', 'package/README.md', 'package/man/pcap-zmq-send.1', 'package/man/pcap-zmq-track.1']) t.true(listing.includes(f), f)
  t.false(listing.includes('package/dist/test/'), 'tests stay out of the package')
  const prefix = join(dir, 'prefix')
  const install = run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(dir, tgz)], { cwd: dir, timeout: 600000 })
  t.is(install.status, 0, install.stderr)
  const bin = (tool: string) => join(prefix, 'bin', `pcap-zmq-${tool}`)
  // npm links package.json's man pages where man(1) finds them under the prefix.
  for (const tool of TOOLS) t.true(existsSync(join(prefix, 'share', 'man', 'man1', `pcap-zmq-${tool}.1`)), `man page of ${tool} installed`)
  for (const tool of TOOLS) {
    const h = run(bin(tool), ['--help'], { cwd: dir })
    t.is(h.status, 0, `${tool} --help: ${h.stderr}`)
    t.regex(h.stdout.toString(), new RegExp(`pcap-zmq-${tool}`))
    const v = run(bin(tool), ['--version'], { cwd: dir })
    t.is(v.status, 0, `${tool} --version: ${v.stderr}`)
    t.is(v.stdout.toString().trim(), version)
  }

  // send -> recv, track and a TypeScript plugin, all from the installed copy.
  const ep = `ipc://${join(dir, 'recv.sock')}`
  const out = join(dir, 'out.pcap')
  const recv = spawn(bin('recv'), [ep, out, '--debug'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
  let recvErr = ''
  recv.stderr.on('data', (d: Buffer) => { recvErr += d.toString() })
  t.teardown(() => { recv.kill('SIGKILL') })
  await waitFor(() => recvErr.includes('listening on'), 30000, 'the installed recv to bind')
  const input = join(fixtures, 'tcpdump', 'LINKTYPE_IPV4.pcap')
  const send = run(bin('send'), [`pcap:${input}`, ep], { cwd: dir })
  t.is(send.status, 0, send.stderr)
  recv.kill('SIGINT')
  await waitFor(() => recv.exitCode !== null, 20000, 'recv to stop')
  t.is(recv.exitCode, 0, recvErr)
  t.is(readPackets(out).length, readPackets(input).length)

  const track = run(bin('track'), ['-'], { cwd: dir, input: readFileSync(input) })
  t.is(track.status, 0, track.stderr)
  const events = track.stdout.toString()
  t.regex(events, /"state":"NEW"/)
  const plugin = join(dir, 'count.ts')
  writeFileSync(plugin, "let n: number = 0\nexport function receiver(e: { state: string }): void { n += 1; process.stderr.write(`event ${n} ${e.state}\\n`) }\n")
  const p = run(bin('plugin'), ['-', plugin, '--spool-dir', join(dir, 'spool')], { cwd: dir, input: events })
  t.is(p.status, 0, p.stderr)
  t.regex(p.stderr, /event 1 NEW/)

  // npx from the tarball, as a user would try it.
  const npx = run('npx', ['--yes', '--prefer-offline', `--package=${join(dir, tgz)}`, 'pcap-zmq-track', '--version'], { cwd: dir, timeout: 600000 })
  t.is(npx.status, 0, npx.stderr)
  t.is(npx.stdout.toString().trim(), version)
})

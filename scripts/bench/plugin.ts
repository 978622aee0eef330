/**
 * pcap-zmq-plugin throughput: events/s through the runner (bin/pcap-zmq-plugin.js, stdin
 * NDJSON) to a no-op JS plugin, to jsonl, and through the spool (sink
 * down, then replay), beside a model of PokieStream's delivery loop (one awaited call per
 * event from an async queue, with its 10 ms poll). Not a test: run `npm run build`, then
 * `node dist/scripts/bench/plugin.js [events]`. Prints a Markdown table.
 */
import { spawn } from 'node:child_process'
import { createReadStream, mkdtempSync, openSync, rmSync, writeFileSync, closeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const bin = join(root, 'bin', 'pcap-zmq-plugin.js')
const N = Number(process.argv[2] ?? 300_000)
const work = mkdtempSync(join(tmpdir(), 'pzp-bench-'))

function eventLine(i: number, sessions: number): string {
  const s = i % sessions
  const k = Math.floor(i / sessions)
  const iso = new Date(Date.UTC(2026, 10, 23, 9) + i).toISOString()
  return JSON.stringify({
    src_ip: '10.0.0.1', dst_ip: '192.0.2.7', src_port: 40000 + (s % 20000), dst_port: 443, protocol_num: 6,
    protocol_name: 'TCP', state: k === 0 ? 'NEW' : 'ESTABLISHED', timestamp: iso.replace('Z', '000'),
    session_id: `0190a5b2-0000-7000-8000-${String(s).padStart(12, '0')}`, payload: null, sensor: 'bench',
    orig_packets: k + 1, orig_bytes: 60 * (k + 1), reply_packets: k, reply_bytes: 60 * k, first_seen: iso,
    last_seen: iso, duration: 0.5, tcp_state: 'ESTABLISHED', history: 'ShAD', reason: null, community_id: '1:bench',
  }) + '\n'
}

function writeEvents(n: number, sessions: number): string {
  const path = join(work, `events-${n}-${sessions}.ndjson`)
  const fd = openSync(path, 'w')
  let buf = ''
  for (let i = 0; i < n; i++) {
    buf += eventLine(i, sessions)
    if (buf.length > 1 << 20) { writeFileSync(fd, buf); buf = '' }
  }
  writeFileSync(fd, buf)
  closeSync(fd)
  return path
}

/** Runs the runner with `input` on stdin; returns seconds from start to exit and its counters. */
function run(args: string[], input: string | null, env: NodeJS.ProcessEnv = {}): Promise<{ s: number; code: number | null; counters: string }> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint()
    const child = spawn(process.execPath, [bin, '-', ...args], { stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, ...env } })
    let err = ''
    child.stderr.on('data', (d: Buffer) => { err += d.toString() })
    if (input) createReadStream(input).pipe(child.stdin)
    else child.stdin.end()
    child.on('exit', (code) => resolve({
      s: Number(process.hrtime.bigint() - t0) / 1e9,
      code,
      counters: err.split('\n').filter((l) => l.includes('received=')).pop() ?? err,
    }))
  })
}

/** Best of three runs (two cores shared with other work make single runs noisy). */
async function best(args: string[], input: string, env: NodeJS.ProcessEnv = {}): Promise<number> {
  let b = Infinity
  for (let i = 0; i < 3; i++) b = Math.min(b, (await run(args, input, env)).s)
  return b
}

/** Start-up cost (module loading, plugin load) measured with empty input, subtracted below. */
async function startup(args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  let best = Infinity
  for (let i = 0; i < 3; i++) best = Math.min(best, (await run(args, null, env)).s)
  return best
}

/**
 * PokieStream's delivery loop, modelled in Node: a bounded async queue (queue_size 10000, full
 * = dropped) filled by a producer; the consumer takes one event, awaits the async receiver, and
 * sleeps 10 ms. `everyIteration` follows components/app.py (the sleep runs after every
 * iteration unless bypass_polling_delay); otherwise the README's reading (sleep only when idle).
 */
async function pokieStreamModel(lines: string[], everyIteration: boolean): Promise<{ rate: number; dropped: number }> {
  const max = 10000
  const q: unknown[] = []
  let dropped = 0
  let produced = 0
  let delivered = 0
  const receiver = async (_e: unknown) => {}
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
  const t0 = performance.now()
  // The capture thread: events arrive as fast as they are parsed, in slices so the loop runs.
  const producer = (async () => {
    for (let i = 0; i < lines.length; i += 1000) {
      for (let j = i; j < Math.min(i + 1000, lines.length); j++) {
        const e = JSON.parse(lines[j])
        if (q.length >= max) dropped++
        else q.push(e)
        produced++
      }
      await new Promise((r) => setImmediate(r))
    }
  })()
  while (delivered + dropped < lines.length) {
    if (q.length > 0) {
      const e = q.shift()
      await receiver(e)
      delivered++
      if (everyIteration) await sleep(10)
    } else {
      await sleep(10)
    }
  }
  await producer
  return { rate: delivered / ((performance.now() - t0) / 1000), dropped }
}

const rows: [string, string, string][] = []
const fmt = (x: number) => Math.round(x).toLocaleString('en-US')
function row(name: string, n: number, secs: number, note = ''): number {
  const rate = n / secs
  rows.push([name, fmt(rate), note])
  process.stderr.write(`${name}: ${fmt(rate)} events/s ${note}\n`)
  return rate
}

const spool = join(work, 'spool')
const events = writeEvents(N, 5000)
const common = ['--spool-dir', spool]

// 1. No-op JS plugin (sync receiver) and an async one.
const noop = join(root, 'examples', 'plugins', 'noop.js')
const asyncNoop = join(work, 'async-noop.mjs')
writeFileSync(asyncNoop, 'export async function receiver() {}\n')
let base = await startup([noop, ...common])
const noopRate = row('no-op JS plugin (sync receiver)', N, (await best([noop, ...common], events)) - base)
base = await startup([asyncNoop, ...common])
row('no-op JS plugin (async receiver)', N, (await best([asyncNoop, ...common], events)) - base)

// 2. jsonl.
const out = join(work, 'out.jsonl')
const jargs = ['jsonl', '--out', out, ...common]
base = await startup(jargs)
rmSync(out, { force: true })
row('jsonl (append, batch 256)', N, (await run(jargs, events)).s - base)

// 3. Through the spool: the sink is down for the whole input (everything spooled), then up.
const flaky = join(work, 'flaky.mjs')
writeFileSync(flaky, "const down = process.env.PZP_BENCH_DOWN === '1'\nexport function receiver() { if (down) throw new Error('down') }\n")
base = await startup([flaky, ...common])
const live = row('live, same plugin (sink up)', N, (await best([flaky, ...common], events)) - base)
let down = Infinity
let replayS = Infinity
let replay = { s: 0, code: 0 as number | null, counters: '' }
for (let i = 0; i < 3; i++) {
  down = Math.min(down, (await run([flaky, ...common, '--drain-timeout', '0', '--queue', '10000'], events, { PZP_BENCH_DOWN: '1' })).s)
  replay = await run([flaky, ...common], null)
  replayS = Math.min(replayS, replay.s)
}
row('spooling while the sink is down (fsync per batch)', N, down - base)
const replayRate = row('replay from the spool (sink back)', N, replayS - base, `${(((N / (replayS - base)) / live)).toFixed(2)}x live`)
if (!replay.counters.includes(`replayed=${N}`)) process.stderr.write(`replay did not deliver all: ${replay.counters}\n`)

// 4. PokieStream's design point, modelled.
const lines = (await import('node:fs')).readFileSync(events, 'utf8').split('\n').filter(Boolean)
const idle = await pokieStreamModel(lines.slice(0, Math.min(N, 200_000)), false)
rows.push(['PokieStream model, in process (no stdin, no spool): 10 ms sleep only when idle (README)', fmt(idle.rate),
  `runner / model = ${(noopRate / idle.rate).toFixed(2)}; ${idle.dropped} dropped`])
const every = await pokieStreamModel(lines.slice(0, 300), true)
rows.push(['PokieStream model: 10 ms sleep after every event (components/app.py)', fmt(every.rate),
  `runner / model = ${fmt(noopRate / every.rate)}; input faster than this fills queue_size and is dropped`])

process.stdout.write(`\n${new Date().toISOString()} · ${N.toLocaleString('en-US')} events (${(lines[0].length + 1)} bytes each) · node ${process.version}\n\n`)
process.stdout.write('| path | events/s | note |\n| --- | ---: | --- |\n')
for (const [a, b, c] of rows) process.stdout.write(`| ${a} | ${b} | ${c} |\n`)
process.stdout.write(`\nreplay / live: ${(replayRate / live).toFixed(2)}\n`)
rmSync(work, { recursive: true, force: true })

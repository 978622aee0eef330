import test, { type ExecutionContext } from 'ava'
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { sleep, tempDir, waitFor } from './helpers/env.js'
import { ndjson, runPlugin, sessionEvents, startPluginFor, type PluginProc } from './helpers/plugin-proc.js'

/** A file sink that is "down" while a marker file exists; `mode` says how it fails. */
function sink(t: ExecutionContext, mode: 'throw' | 'hang' | 'crash-py' | 'exit-exec') {
  const { dir, cleanup } = tempDir('pzp-deliv-')
  t.teardown(cleanup)
  const down = join(dir, 'down')
  const out = join(dir, 'out.txt')
  let plugin: string
  if (mode === 'crash-py') {
    plugin = join(dir, 'sink.py')
    writeFileSync(plugin, `import os\nasync def receiver(e):\n    if os.path.exists(${JSON.stringify(down)}):\n        os._exit(3)\n` +
      `    with open(${JSON.stringify(out)}, "a") as f:\n        f.write(str(e["seq"]) + "\\n")\n`)
  } else if (mode === 'exit-exec') {
    // Crashes once, right after handling event 40 (as a program with a bug would).
    plugin = join(dir, 'sink.sh')
    writeFileSync(plugin, `while IFS= read -r line; do\n  seq=$(echo "$line" | sed 's/.*"seq":\\([0-9]*\\).*/\\1/')\n` +
      `  echo "$seq" >> ${out}\n  if [ "$seq" = 40 ] && [ ! -e ${down}.once ]; then touch ${down}.once; exit 1; fi\ndone\n`)
    plugin = `exec:sh ${plugin}`
  } else {
    plugin = join(dir, 'sink.mjs')
    writeFileSync(plugin, `import { existsSync, appendFileSync } from 'node:fs'\n` +
      `export async function receiver(e) {\n  if (existsSync(${JSON.stringify(down)})) ${mode === 'hang' ? 'await new Promise(() => {})' : "throw new Error('sink down')"}\n` +
      `  appendFileSync(${JSON.stringify(out)}, e.seq + '\\n')\n}\n`)
  }
  return {
    dir,
    plugin,
    spoolDir: join(dir, 'spool'),
    setDown: (v: boolean) => { if (v) writeFileSync(down, ''); else rmSync(down, { force: true }) },
    seqs: () => (existsSync(out) ? readFileSync(out, 'utf8').trim().split('\n').filter(Boolean).map(Number) : []),
    segments: () => (existsSync(join(dir, 'spool')) ? readdirSync(join(dir, 'spool')).filter((f) => f.endsWith('.seg')) : []),
  }
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i)

const started = (t: ExecutionContext, a: string[]) => startPluginFor(t, a)
/** Deadline for what a runner does at once when idle; a loaded machine can take many seconds. */
const SLOW = 60000

async function feed(p: PluginProc, events: unknown[], perTick = 20, tickMs = 10): Promise<void> {
  for (let i = 0; i < events.length; i += perTick) {
    p.child.stdin?.write(ndjson(events.slice(i, i + perTick)))
    await sleep(tickMs)
  }
}

/** Counters on SIGUSR1; {} when the runner has not answered (yet) within 5 s. */
async function counters(p: PluginProc): Promise<Record<string, number>> {
  const before = p.stderr().length
  p.child.kill('SIGUSR1')
  for (let i = 0; i < 100; i++) {
    await sleep(50)
    if (/ received=.*\n/.test(p.stderr().slice(before))) return p.counters()
  }
  return {}
}

test('sink down mid-stream: events are spooled, replayed in order once it is back, spool removed', async (t) => {
  const s = sink(t, 'throw')
  const p = started(t, ['-', s.plugin, '--spool-dir', s.spoolDir, '--retry-max', '0.2', '--queue', '50'])
  const events = sessionEvents(600, 7)
  await feed(p, events.slice(0, 100))
  await waitFor(() => s.seqs().length === 100, SLOW, 'first 100 delivered')
  s.setDown(true)
  await feed(p, events.slice(100, 400))
  t.true(s.segments().length > 0, 'spool segment on disk while down')
  s.setDown(false)
  await feed(p, events.slice(400))
  p.child.stdin?.end()
  t.is(await p.exited, 0, p.stderr())
  t.deepEqual(s.seqs(), range(0, 600))
  const c = p.counters()
  t.like(c, { received: 600, delivered: 600, in_spool: 0, dropped: 0 })
  t.true(c.failed > 0 && c.spooled > 0 && c.replayed > 0 && c.retried > 0, JSON.stringify(c))
  t.true(c.spilled > 0, 'the queue of 50 filled while the sink was down')
  t.deepEqual(s.segments(), [])
  // Said once per episode (until the spool drains), not once per event.
  const said = (p.stderr().match(/spilling to the spool/g) ?? []).length
  t.true(said >= 1 && said < 20, `${said} spill warnings`)
})

for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
  test(`${signal} while the sink is down keeps the events; the next start delivers them first`, async (t) => {
    const s = sink(t, 'throw')
    s.setDown(true)
    const args = ['-', s.plugin, '--spool-dir', s.spoolDir, '--retry-max', '0.2', '--queue', '40']
    const p = started(t, args)
    await feed(p, sessionEvents(300))
    // SIGKILL gives no chance to save anything: while the sink is down, events are written
    // through to the spool (every 100 ms), so everything received is on disk before the kill.
    if (signal === 'SIGKILL') {
      p.child.stdin?.write(ndjson(sessionEvents(60, 1, 300)))
      await waitFor(async () => { const c = await counters(p); return c.received === 360 && c.in_spool === 360 }, SLOW, 'all spooled')
    } else {
      await waitFor(async () => (await counters(p)).received === 300, SLOW, 'all received')
    }
    const t0 = Date.now()
    p.child.kill(signal)
    await p.exited
    if (signal === 'SIGTERM') {
      t.true(Date.now() - t0 < 1000, `stopped in ${Date.now() - t0} ms`)
      t.like(p.counters(), { received: 300, delivered: 0, in_spool: 300 })
    }
    t.deepEqual(s.seqs(), [])
    const kept = signal === 'SIGKILL' ? 360 : 300
    s.setDown(false)
    const r = await runPlugin(args, ndjson(sessionEvents(50, 1, kept)))
    t.is(r.code, 0, r.stderr)
    t.regex(r.stderr, new RegExp(`${kept} events left in the spool .* delivering them first`))
    t.deepEqual(s.seqs(), range(0, kept + 50))
    t.like(r.counters, { received: 50, delivered: kept + 50 })
    // New events that arrive during the replay may be spooled behind it and replayed too.
    t.true(r.counters.replayed >= kept)
    t.deepEqual(s.segments(), [])
  })
}

test('a plugin that hangs times out (--plugin-timeout) and is retried; nothing lost', async (t) => {
  const s = sink(t, 'hang')
  s.setDown(true)
  const p = started(t, ['-', s.plugin, '--spool-dir', s.spoolDir, '--plugin-timeout', '0.2', '--retry-max', '0.2'])
  await feed(p, sessionEvents(50))
  await waitFor(async () => (await counters(p)).timeouts >= 2, SLOW, 'two timeouts')
  s.setDown(false)
  await feed(p, sessionEvents(50, 1, 50))
  p.child.stdin?.end()
  t.is(await p.exited, 0, p.stderr())
  // At-least-once: a timed-out call is retried from the event it was stuck on.
  t.deepEqual(s.seqs(), range(0, 100))
  t.true(p.counters().timeouts >= 2)
})

for (const mode of ['crash-py', 'exit-exec'] as const) {
  test(`a plugin process that dies (${mode}) is restarted; the runner survives and delivers everything`, async (t) => {
    const s = sink(t, mode)
    const p = started(t, ['-', s.plugin, '--spool-dir', s.spoolDir, '--retry-max', '0.2', '--fields', 'all'])
    if (mode === 'crash-py') {
      await feed(p, sessionEvents(30))
      await waitFor(() => s.seqs().length === 30, SLOW, 'first 30')
      s.setDown(true)
      await feed(p, sessionEvents(30, 1, 30))
      await waitFor(async () => ((await counters(p)).failed ?? 0) >= 2, SLOW, 'failures')
      s.setDown(false)
      await feed(p, sessionEvents(30, 1, 60))
    } else {
      await feed(p, sessionEvents(50))
      await waitFor(() => s.seqs().includes(40), SLOW, 'the crash at 40')
      await sleep(200)
      await feed(p, sessionEvents(40, 1, 50))
    }
    p.child.stdin?.end()
    t.is(await p.exited, 0, p.stderr())
    if (mode === 'crash-py') t.deepEqual(s.seqs(), range(0, 90))
    // exec: delivery means "written to the pipe"; what the program had not read when it died
    // (some of 41..49, depending on timing) is lost with it. The rest arrives in order, once.
    else {
      const got = s.seqs()
      t.deepEqual(got.filter((x) => x <= 40 || x >= 50), [...range(0, 41), ...range(50, 90)])
      t.true(got.every((x, i) => i === 0 || x > got[i - 1]), 'in order, no duplicates')
    }
    t.true(p.counters().failed >= 1)
  })
}

test('--spool-max: a sink that never comes back costs the oldest segments, counted, never the process', async (t) => {
  const s = sink(t, 'throw')
  s.setDown(true)
  const r = await runPlugin(['-', s.plugin, '--spool-dir', s.spoolDir, '--spool-max', '256k', '--queue', '100', '--drain-timeout', '0.5'],
    ndjson(sessionEvents(3000)))
  t.is(r.code, 1)
  const c = r.counters
  t.true(c.dropped > 0, JSON.stringify(c))
  t.is(c.received, 3000)
  t.is(c.delivered + c.in_spool + c.dropped, 3000)
  t.regex(r.stderr, /spool over --spool-max \(262144 bytes\): dropped its oldest segment/)
  let bytes = 0
  for (const f of s.segments()) bytes += readFileSync(join(s.spoolDir, f)).length
  t.true(bytes <= 256 * 1024)
  // What is kept is the newest, still in order.
  s.setDown(false)
  const again = await runPlugin(['-', s.plugin, '--spool-dir', s.spoolDir], '')
  t.is(again.code, 0, again.stderr)
  const got = s.seqs()
  t.is(got.length, c.in_spool)
  t.deepEqual(got, range(3000 - got.length, 3000))
})

test('a second runner on the same spool directory is refused', async (t) => {
  const s = sink(t, 'throw')
  const p = started(t, ['-', s.plugin, '--spool-dir', s.spoolDir])
  // The holder is ready once the lock names it: the file exists a moment before its pid is in it,
  // and a runner starting on a loaded machine can take seconds to get there.
  const lock = join(s.spoolDir, 'lock')
  await waitFor(() => existsSync(lock) && readFileSync(lock, 'utf8') === `${p.child.pid}\n`, SLOW, 'the first runner to hold the lock')
  const r = await runPlugin(['-', s.plugin, '--spool-dir', s.spoolDir], '')
  t.is(r.code, 1, r.stderr)
  t.regex(r.stderr, new RegExp(`spool directory .* is in use by process ${p.child.pid}\n`))
  p.child.stdin?.end()
  t.is(await p.exited, 0)
})

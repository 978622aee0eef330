import test from 'ava'
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { EventLineReader } from '../lib/plugin/lines.js'
import { createCounters } from '../lib/plugin/counters.js'
import { loadPluginConfig, parseBytes } from '../lib/plugin/config.js'
import type { SessionEvent } from '../lib/plugin/event.js'
import { EventQueue } from '../lib/plugin/queue.js'
import { Spool } from '../lib/plugin/spool.js'
import { tempDir } from './helpers/env.js'
import { sessionEvents } from './helpers/plugin-proc.js'

const evs = (n: number, first = 0) => sessionEvents(n, 1, first) as unknown as SessionEvent[]
const seqOf = (a: SessionEvent[], n: number) => a.slice(0, n).map((e) => e.seq)

function open(dir: string, max = 1 << 30, drops: number[] = []) {
  return new Spool(dir, max, 4096, (events) => drops.push(events))
}

test('spool: append, read without consuming, commit, then everything removed', (t) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const s = open(dir)
  s.append(evs(5))
  s.append(evs(3, 5))
  t.is(s.pending, 8)
  const out: SessionEvent[] = []
  t.is(s.read(out, 4, () => t.fail()), 4)
  t.deepEqual(seqOf(out, 4), [0, 1, 2, 3])
  t.is(s.read(out, 4, () => t.fail()), 4, 'unconsumed until commit')
  s.commit(2)
  t.is(s.read(out, 100, () => t.fail()), 6)
  t.deepEqual(seqOf(out, 6), [2, 3, 4, 5, 6, 7])
  s.commit(6)
  t.is(s.pending, 0)
  t.deepEqual(readdirSync(dir).filter((f) => f !== 'lock'), [])
  s.close()
  t.deepEqual(readdirSync(dir), [])
})

test('spool: survives a restart at its cursor; a torn last line is cut; damaged lines skipped', (t) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const s = open(dir)
  s.append(evs(10))
  const out: SessionEvent[] = []
  s.read(out, 3, () => {})
  s.commit(3)
  s.close()
  const seg = readdirSync(dir).find((f) => f.endsWith('.seg')) as string
  appendFileSync(join(dir, seg), 'garbage line\n{"torn": ')
  const s2 = open(dir)
  t.is(s2.pending, 8, '7 left + the garbage line (counted until read)')
  let corrupt = 0
  t.is(s2.read(out, 100, () => corrupt++), 7)
  t.deepEqual(seqOf(out, 7), [3, 4, 5, 6, 7, 8, 9])
  s2.commit(7)
  t.is(s2.read(out, 100, () => corrupt++), 0)
  t.is(corrupt, 1)
  t.is(s2.pending, 0)
  s2.close()
})

test('spool: commit of lines never read (spilled while in flight) finds them on disk', (t) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const s = open(dir)
  s.append(evs(4))
  s.commit(3)
  const out: SessionEvent[] = []
  t.is(s.read(out, 10, () => {}), 1)
  t.is(out[0].seq, 3)
  s.close()
})

test('spool: over --spool-max the oldest segments are dropped and counted, order kept', (t) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const drops: number[] = []
  const s = open(dir, 256 << 10, drops)
  for (let i = 0; i < 100; i++) s.append(evs(20, i * 20))
  const dropped = drops.reduce((a, b) => a + b, 0)
  t.true(dropped > 0)
  t.is(s.pending + dropped, 2000)
  t.true(s.sizeBytes <= 256 << 10)
  const out: SessionEvent[] = []
  const got: unknown[] = []
  for (let n; (n = s.read(out, 500, () => t.fail())) > 0;) { got.push(...seqOf(out, n)); s.commit(n) }
  t.deepEqual(got, Array.from({ length: got.length }, (_, i) => 2000 - got.length + i))
  s.close()
})

test('queue: a fixed ring, oldest first', (t) => {
  const q = new EventQueue(3)
  for (const e of evs(3)) q.push(e)
  t.true(q.full)
  const out: SessionEvent[] = []
  t.is(q.takeInto(out, 2), 2)
  q.push(evs(1, 3)[0])
  t.deepEqual(q.drain().map((e) => e.seq), [2, 3])
  t.is(q.length, 0)
})

test('line reader: chunks split anywhere give the same events', (t) => {
  const text = Buffer.from(sessionEvents(20).map((e) => JSON.stringify(e)).join('\n') + '\n')
  for (const size of [1, 7, 100, 4096]) {
    const got: unknown[] = []
    const r = new EventLineReader(1 << 20, createCounters(), (e) => got.push(e.seq), () => t.fail())
    for (let i = 0; i < text.length; i += size) r.push(text.subarray(i, i + size))
    r.end()
    t.deepEqual(got, Array.from({ length: 20 }, (_, i) => i), `chunks of ${size}`)
  }
})

test('config: PokieStream wrapper, top level, defaults, sizes', (t) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const f = join(dir, 'c.yaml')
  writeFileSync(f, 'config:\n  iface: eth0\n  queue_size: 5\n  plugin:\n    path: " plugins/x.lua "\n    pass_config: True\n')
  t.like(loadPluginConfig(f), { path: 'plugins/x.lua', passConfig: true, queueSize: 5 })
  writeFileSync(f, 'plugin:\n  path: a.js\n  jsonl: {path: /tmp/x}\n')
  const c = loadPluginConfig(f)
  t.like(c, { path: 'a.js', passConfig: false, queueSize: null })
  t.deepEqual(c.builtin.jsonl, { path: '/tmp/x' })
  t.like(loadPluginConfig(undefined), { path: null, passConfig: false })
  t.is(parseBytes('64M', 'x'), 64 << 20)
  t.is(parseBytes('1.5k', 'x'), 1536)
  t.is(parseBytes('100', 'x'), 100)
  t.throws(() => parseBytes('many', '--spool-max'), { message: /--spool-max: expected a size/ })
  t.is(readFileSync(f, 'utf8').length > 0, true)
})

test('spool lock: taken exclusively; a live holder or a lock being written refuses, a dead holder is taken over', (t) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const lock = join(dir, 'lock')
  // A process that has exited: its pid is free (spawnSync waited for it).
  const dead = spawnSync('true').pid!
  writeFileSync(lock, `${dead}\n`)
  const s = open(dir)
  t.is(readFileSync(lock, 'utf8'), `${process.pid}\n`)
  s.close()
  writeFileSync(lock, `${process.ppid}\n`)
  t.throws(() => open(dir), { code: 'ESPOOLLOCK', message: new RegExp(`in use by process ${process.ppid}$`) })
  writeFileSync(lock, '')
  t.throws(() => open(dir), { code: 'ESPOOLLOCK', message: /in use by process starting up/ })
})

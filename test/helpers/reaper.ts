/**
 * The net under every test's own t.teardown: child processes, network namespaces and temporary
 * paths a test file made and did not remove. Tests stop what they start; this catches what a
 * failed test never reached, and what a worker leaves when ava stops it (timeout, Ctrl-C): ava
 * sends the worker SIGTERM, which does not reach its children (`ip netns exec ...` included), and
 * a child with open pipes keeps a finished worker from exiting at all.
 *
 * Processes are found by parentage in /proc, so children spawned straight from node:child_process
 * are covered too. Loaded once per worker, through env.ts.
 */
import { spawnSync, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { basename } from 'node:path'
import { fileURLToPath } from 'node:url'
import test, { registerCompletionHandler } from 'ava'

const namespaces = new Set<string>()
const paths = new Set<string>()
/** Extra synchronous cleanups (a PostgreSQL server started by pg_ctl is not our child). */
const hooks = new Set<() => void>()

export function trackNetns(name: string): void { namespaces.add(name) }
export function untrackNetns(name: string): void { namespaces.delete(name) }
export function trackPath(path: string): void { paths.add(path) }
export function untrackPath(path: string): void { paths.delete(path) }
/** Runs `fn` when the worker ends unless the returned function is called first. */
export function atWorkerEnd(fn: () => void): () => void {
  hooks.add(fn)
  return () => { hooks.delete(fn) }
}

/** /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses. */
function parentOf(pid: string): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
  } catch {
    return -1
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').slice(0, 160)
  } catch {
    return '?'
  }
}

/** Every live descendant of this process, parents before children. */
export function descendants(root = process.pid): number[] {
  const children = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const ppid = parentOf(entry)
    if (ppid <= 0) continue
    const list = children.get(ppid) ?? []
    list.push(Number(entry))
    children.set(ppid, list)
  }
  const out: number[] = []
  const queue = [root]
  while (queue.length > 0) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push(c)
      queue.push(c)
    }
  }
  return out
}

/** Kills a tracked child and what it started, when a test stops it the hard way. */
export function killTree(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  for (const pid of [child.pid, ...descendants(child.pid)]) {
    try { process.kill(pid, signal) } catch { /* already gone */ }
  }
}

let reaped = false

/** Kills every descendant, deletes namespaces and paths left behind; says what it found. */
function reap(why: string): void {
  if (reaped) return
  reaped = true
  const file = basename(fileURLToPath(test.meta.file))
  const say = (m: string) => { process.stderr.write(`reaper (${file}, ${why}): ${m}\n`) }
  // Snapshot the whole tree first: a killed parent's children are re-parented out of reach.
  for (const pid of descendants()) {
    say(`killed leftover process ${pid}: ${commandOf(pid)}`)
    try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ }
  }
  for (const fn of hooks) {
    try { fn() } catch (err) { say(`cleanup failed: ${String(err)}`) }
  }
  hooks.clear()
  for (const ns of namespaces) {
    say(`deleted leftover network namespace ${ns}`)
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 10000 })
  }
  namespaces.clear()
  for (const p of paths) rmSync(p, { recursive: true, force: true })
  paths.clear()
}

// Every test of the file is done: nothing may still run. Temp paths left by a failed test go
// quietly; a process or a namespace still there is a leak worth a line.
registerCompletionHandler(() => reap('after the last test'))
process.on('exit', () => reap('exit'))
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.once(signal, () => {
    reap(signal)
    // Then die of the signal, as without this handler.
    process.kill(process.pid, signal)
  })
}

import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { killTree, trackPath, untrackPath } from './reaper.js'

/** The repository root (tests run from dist/test/...). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))
export const fixtures = join(repoRoot, 'test', 'fixtures')
/** ../shared next to the clone; optional sweeps and compat tests skip when it is absent. */
export const sharedDir = join(repoRoot, '..', 'shared')
export const corpusDir = join(sharedDir, 'corpus', 'tcpdump-tests')
export const compatDir = join(sharedDir, 'compat', 'pokiestream-plugins')

export const isRoot = process.getuid?.() === 0
export const ROOT_SKIP = 'needs root (network namespaces, NFLOG rules); run the test command as root'

let counter = 0
/** A short name unique across parallel test files and runs: netns, veth and file names. */
export function uniqueName(prefix: string): string {
  counter += 1
  return `${prefix}${process.pid % 100000}x${counter}`
}

export function binPath(tool: string): string {
  return join(repoRoot, 'bin', `pcap-zmq-${tool}.js`)
}

/** A temporary directory removed by the returned cleanup (or when the test file ends, if not). */
export function tempDir(prefix = 'pzp-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  trackPath(dir)
  return { dir, cleanup: () => { rmSync(dir, { recursive: true, force: true }); untrackPath(dir) } }
}

/** A loopback TCP port free right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0))
    })
  })
}

let ipcDir = ''
/**
 * A unique ipc:// endpoint. The socket files live in one temp dir per test file, removed when the
 * file ends: libzmq leaves the file behind when its process is killed, and an endpoint is used
 * by several processes in turn, so no single test owns it.
 */
export function ipcEndpoint(): string {
  if (!ipcDir) {
    ipcDir = mkdtempSync(join(tmpdir(), 'pzp-ipc-'))
    trackPath(ipcDir)
  }
  return `ipc://${join(ipcDir, uniqueName('ep'))}.sock`
}

/** Run a command to completion; throws with its stderr when it fails. */
export function sh(cmd: string, args: string[], opts: { netns?: string; allowFail?: boolean; input?: Buffer | string } = {}): string {
  const [c, a] = opts.netns ? ['ip', ['netns', 'exec', opts.netns, cmd, ...args]] : [cmd, args]
  const r = spawnSync(c, a, { encoding: 'utf8', input: opts.input, maxBuffer: 64 << 20, timeout: 120000, killSignal: 'SIGKILL' })
  if (r.status !== 0 && !opts.allowFail) {
    throw new Error(`${c} ${a.join(' ')} failed (${r.status}): ${r.stderr}`)
  }
  return r.stdout
}

export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0
}

export interface Tool {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  /** Resolves with the exit code once the process has exited and its output is read (exitOf). */
  exited: Promise<number | null>
  /** Sends `signal`; SIGKILL (with whatever it started) if it has not exited after `graceMs`. */
  stop: (signal?: NodeJS.Signals, graceMs?: number) => Promise<number | null>
}

/** How long a tool may take to stop on a signal before it is killed: generous on a loaded machine. */
const STOP_GRACE_MS = 20000

/**
 * The exit code, once the process has exited and its output pipes are read to the end. 'exit' can
 * come before the last lines (final counters), so this waits for the pipes to close too, for at
 * most a few seconds: a grandchild that inherited them (a plugin process) may hold them open.
 */
export function exitOf(child: ChildProcess): Promise<number | null> {
  const drained = Promise.all([child.stdout, child.stderr].map((s) => s && !s.destroyed
    ? new Promise<void>((r) => { s.once('close', () => r()) })
    : undefined))
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<void>((r) => { timer = setTimeout(r, 5000) })
      void Promise.race([drained, late]).then(() => { clearTimeout(timer); resolve(code) })
    })
  })
}

/**
 * Start one of the project's bins (optionally inside a network namespace, or under a command that
 * execs it, such as `prlimit --nofile=1024:4096`), collecting output.
 */
export function startTool(tool: string, args: string[], opts: { netns?: string; stdio?: SpawnOptions['stdio']; wrap?: string[] } = {}): Tool {
  const node = [...(opts.wrap ?? []), process.execPath]
  const cmd = opts.netns ? 'ip' : node[0]!
  const argv = opts.netns
    ? ['netns', 'exec', opts.netns, ...node, binPath(tool), ...args]
    : [...node.slice(1), binPath(tool), ...args]
  const child = spawn(cmd, argv, { stdio: opts.stdio ?? ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { err += d.toString() })
  const exited = exitOf(child)
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    stop: async (signal = 'SIGTERM', graceMs = STOP_GRACE_MS) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      let timer: NodeJS.Timeout | undefined
      const killed = new Promise<void>((r) => { timer = setTimeout(r, graceMs) }).then(() => killTree(child))
      await Promise.race([exited, killed])
      clearTimeout(timer)
      return exited
    },
  }
}

/** Run a bin to completion with optional stdin; for CLI error-path tests. */
export function runTool(tool: string, args: string[], input?: Buffer | string, timeoutMs = 30000): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync(process.execPath, [binPath(tool), ...args], { input, timeout: timeoutMs, maxBuffer: 256 << 20 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() }
}

/**
 * Milliseconds of this process's time in which its event loop could run: wall time minus stalls
 * (a timer more than STALL_MS late). The tests of a file share one event loop, and another test's
 * spawnSync or a starved CPU can hold it for many seconds; waits are measured on this clock so a
 * stall does not use up their deadline before they had a fair look.
 */
const TICK_MS = 100
const STALL_MS = 250
let stalled = 0
let lastTick = Date.now()
setInterval(() => {
  const now = Date.now()
  const late = now - lastTick - TICK_MS
  if (late > STALL_MS) stalled += late
  lastTick = now
}, TICK_MS).unref()
export function activeMs(): number {
  const now = Date.now()
  // A stall that has just ended, before the ticker has seen it.
  const late = now - lastTick - TICK_MS
  return now - stalled - (late > STALL_MS ? late : 0)
}

/**
 * Polls until `check` returns truthy, or fails after `timeoutMs` of active time (see activeMs):
 * after a stall the condition gets at least one more look, which matters when the check signals
 * a tool and reads its answer only at the next poll.
 */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 30000, what: string | (() => string) = 'condition'): Promise<T> {
  const deadline = activeMs() + timeoutMs
  for (;;) {
    const v = await check()
    if (v) return v
    if (activeMs() > deadline) throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export { existsSync }

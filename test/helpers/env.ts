import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

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

/** A temporary directory removed by the returned cleanup. */
export function tempDir(prefix = 'pzp-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
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

/** A unique ipc:// endpoint in a fresh temp dir. */
export function ipcEndpoint(): string {
  return `ipc://${join(tmpdir(), uniqueName('pzp-ep-'))}.sock`
}

/** Run a command to completion; throws with its stderr when it fails. */
export function sh(cmd: string, args: string[], opts: { netns?: string; allowFail?: boolean; input?: Buffer | string } = {}): string {
  const [c, a] = opts.netns ? ['ip', ['netns', 'exec', opts.netns, cmd, ...args]] : [cmd, args]
  const r = spawnSync(c, a, { encoding: 'utf8', input: opts.input, maxBuffer: 64 << 20 })
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
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>
  stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

/** Start one of the project's bins (optionally inside a network namespace), collecting output. */
export function startTool(tool: string, args: string[], opts: { netns?: string; stdio?: SpawnOptions['stdio'] } = {}): Tool {
  const cmd = opts.netns ? 'ip' : process.execPath
  const argv = opts.netns
    ? ['netns', 'exec', opts.netns, process.execPath, binPath(tool), ...args]
    : [binPath(tool), ...args]
  const child = spawn(cmd, argv, { stdio: opts.stdio ?? ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { err += d.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
  }
}

/** Run a bin to completion with optional stdin; for CLI error-path tests. */
export function runTool(tool: string, args: string[], input?: Buffer | string, timeoutMs = 30000): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync(process.execPath, [binPath(tool), ...args], { input, timeout: timeoutMs, maxBuffer: 256 << 20 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() }
}

/** Poll until `check` returns truthy, or fail after `timeoutMs`. */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 10000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export { existsSync }

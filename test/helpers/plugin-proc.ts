import { spawn, type ChildProcess } from 'node:child_process'
import type { ExecutionContext } from 'ava'
import { binPath, exitOf, sleep, waitFor } from './env.js'
import { killTree } from './reaper.js'

/**
 * Session events as pcap-zmq-track writes them: `sessions` TCP sessions, event i belongs to
 * session i % sessions and is its k-th event (k = i / sessions), with counters and time growing
 * with k; `seq` (an extra field) is the event's position, so sinks can check order.
 */
export function sessionEvents(n: number, sessions = 1, first = 0): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = []
  const t0 = Date.UTC(2026, 10, 23, 9, 0, 0)
  for (let i = first; i < first + n; i++) {
    const s = i % sessions
    const k = Math.floor(i / sessions)
    const iso = new Date(t0 + i).toISOString()
    out.push({
      src_ip: '10.0.0.1', dst_ip: '127.0.0.1', src_port: 40000 + s, dst_port: 443, protocol_num: 6,
      protocol_name: 'TCP', state: k === 0 ? 'NEW' : 'ESTABLISHED', timestamp: iso.replace('Z', '000'),
      session_id: `0190a5b2-0000-7000-8000-${String(s).padStart(12, '0')}`, payload: null, sensor: null,
      orig_packets: k + 1, orig_bytes: 60 * (k + 1), reply_packets: k, reply_bytes: 60 * k,
      first_seen: new Date(t0 + s).toISOString(), last_seen: iso, duration: (i - s) / 1000, tcp_state: 'ESTABLISHED',
      history: 'ShA', reason: null, community_id: '1:x', seq: i,
    })
  }
  return out
}

export const ndjson = (events: unknown[]) => events.map((e) => JSON.stringify(e) + '\n').join('')

/** Writes events [from, to) of `events` to the plugin's stdin, ten at a time with a pause, as a live stream arrives. */
export async function feedEvents(p: PluginProc, events: Record<string, unknown>[], from: number, to: number): Promise<void> {
  for (let i = from; i < to; i += 10) {
    p.child.stdin?.write(ndjson(events.slice(i, Math.min(i + 10, to))))
    await new Promise((r) => setTimeout(r, 15))
  }
}

/**
 * A sink's server goes away mid-stream and comes back on its data: the first 200 events stored,
 * the server stopped, 200 more fed while it is down (they wait in the spool), `downMs` later it is
 * started again and the rest fed. The plugin exits 0 with every event delivered once, its counters
 * show the failures and the spool at work, and `failure` (when given) is in its log. The caller
 * checks what the store holds.
 */
export async function outageMidStream(t: ExecutionContext, p: PluginProc, o: {
  events: Record<string, unknown>[]
  stored: () => Promise<number>
  stop: () => unknown
  start: () => unknown
  downMs: number
  timeoutMs: number
  failure?: RegExp
}): Promise<void> {
  const total = o.events.length
  await feedEvents(p, o.events, 0, 200)
  await waitFor(async () => (await o.stored()) === 200, o.timeoutMs, 'first 200')
  await o.stop()
  await feedEvents(p, o.events, 200, 400)
  await sleep(o.downMs)
  await o.start()
  await feedEvents(p, o.events, 400, total)
  p.child.stdin?.end()
  t.is(await p.exited, 0, p.stderr())
  const c = p.counters()
  t.like(c, { received: total, delivered: total, in_spool: 0 })
  t.true(c.failed > 0 && c.spooled > 0 && c.replayed > 0, JSON.stringify(c))
  if (o.failure) t.regex(p.stderr(), o.failure)
}

export interface PluginProc {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  exited: Promise<number | null>
  /** The last counters line on stderr, as numbers (see lib/plugin/counters.ts). */
  counters: () => Record<string, number>
}

/** Starts bin/pcap-zmq-plugin.js with a stdin pipe (writes `input` if given, then ends it unless keepOpen). */
export function startPlugin(args: string[], opts: { input?: string; keepOpen?: boolean; cwd?: string; env?: NodeJS.ProcessEnv } = {}): PluginProc {
  const child = spawn(process.execPath, [binPath('plugin'), ...args], {
    stdio: ['pipe', 'pipe', 'pipe'], cwd: opts.cwd, env: { ...process.env, NO_COLOR: '', ...opts.env },
  })
  let out = ''
  let err = ''
  child.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { err += d.toString() })
  child.stdin?.on('error', () => {})
  if (opts.input !== undefined) child.stdin?.write(opts.input)
  if (!opts.keepOpen) child.stdin?.end()
  const exited = exitOf(child)
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    counters: () => {
      const lines = err.split('\n').filter((l) => l.includes(' received='))
      const last = lines[lines.length - 1] ?? ''
      const c: Record<string, number> = {}
      for (const m of last.matchAll(/([a-z_]+)=(\d+)/g)) c[m[1]] = Number(m[2])
      return c
    },
  }
}

/** startPlugin with stdin kept open, killed (with its plugin processes) when the test ends, whatever happened. */
export function startPluginFor(t: { teardown: (fn: () => void) => void }, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): PluginProc {
  const p = startPlugin(args, { ...opts, keepOpen: true })
  t.teardown(() => killTree(p.child))
  return p
}

/** Runs the plugin runner to completion. */
export async function runPlugin(args: string[], input: string, opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const p = startPlugin(args, { ...opts, input })
  const code = await p.exited
  return { code, stdout: p.stdout(), stderr: p.stderr(), counters: p.counters() }
}

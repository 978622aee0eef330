import { readFileSync } from 'node:fs'
import { createCaptureReader, type CapturePacket } from '../../lib/pcap/reader.js'
import { activeMs, sleep, startTool, waitFor, type Tool } from './env.js'

export interface ReadPacket { linktype: number; iface: number; tsSec: number; tsNsec: number; origLen: number; data: Buffer }

/** Every packet of a pcap/pcapng file or buffer, copied. */
export function readPackets(src: string | Buffer): ReadPacket[] {
  const out: ReadPacket[] = []
  const r = createCaptureReader((p: CapturePacket) => out.push({ linktype: p.linktype, iface: p.iface, tsSec: p.tsSec, tsNsec: p.tsNsec, origLen: p.origLen, data: Buffer.from(p.data) }))
  r.push(typeof src === 'string' ? readFileSync(src) : src)
  r.end()
  return out
}

/** Parses `key=value` counters from the last line starting with `prefix` in a tool's stderr. */
export function counters(stderr: string, prefix = 'final counters'): Record<string, number> {
  const line = stderr.split('\n').filter((l) => l.includes(`${prefix}:`)).pop() ?? ''
  return Object.fromEntries([...line.matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1]!, Number(m[2])]))
}

/**
 * SIGUSR1 to a running tool, then its answer: the counters line it prints after the signal, not
 * one printed before (which is what reading stderr right after the kill gives). Null when no
 * whole line came within `timeoutMs` or the tool has exited.
 */
export async function askCounters(tool: Tool, prefix = 'counters', timeoutMs = 10000): Promise<Record<string, number> | null> {
  const from = tool.stderr().length
  // The rest of a line being written when we signalled belongs to an older answer.
  const partial = from > 0 && !tool.stderr().endsWith('\n')
  tool.child.kill('SIGUSR1')
  const deadline = activeMs() + timeoutMs
  while (tool.child.exitCode === null && tool.child.signalCode === null) {
    const lines = tool.stderr().slice(from).split('\n')
    lines.pop() // unfinished
    if (partial) lines.shift()
    const line = lines.filter((l) => l.includes(`${prefix}:`)).pop()
    if (line) return counters(line, prefix)
    if (activeMs() > deadline) break
    await sleep(20)
  }
  return null
}

/**
 * Asks a tool for its counters (askCounters) until `ok` accepts them. The failure names the last
 * counters seen, so a timeout says how far it got.
 */
export async function waitForCounters(tool: Tool, ok: (c: Record<string, number>) => boolean, timeoutMs: number, what: string, prefix = 'counters'): Promise<Record<string, number>> {
  let last: Record<string, number> | null = null
  const found = await waitFor(async () => {
    last = await askCounters(tool, prefix, 5000)
    return last && ok(last) ? last : undefined
  }, timeoutMs, () => `${what} (last counters: ${last ? JSON.stringify(last) : 'no answer'}${tool.child.exitCode !== null ? `; exited ${tool.child.exitCode}: ${tool.stderr()}` : ''})`)
  return found as Record<string, number>
}

/** Starts pcap-zmq-recv and waits until it is bound (its debug line). */
export async function startRecv(args: string[], netns?: string, wrap?: string[]): Promise<Tool> {
  const t = startTool('recv', [...args, '--debug'], { netns, wrap })
  await waitFor(() => t.stderr().includes('listening on') || t.child.exitCode !== null, 60000, 'pcap-zmq-recv to bind')
  if (t.child.exitCode !== null) throw new Error(`pcap-zmq-recv exited: ${t.stderr()}`)
  return t
}

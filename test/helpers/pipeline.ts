import { readFileSync } from 'node:fs'
import { createCaptureReader, type CapturePacket } from '../../lib/pcap/reader.js'
import { startTool, waitFor, type Tool } from './env.js'

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

/** Starts pcap-zmq-recv and waits until it is bound (its debug line). */
export async function startRecv(args: string[], netns?: string): Promise<Tool> {
  const t = startTool('recv', [...args, '--debug'], { netns })
  await waitFor(() => t.stderr().includes('listening on') || t.child.exitCode !== null, 30000, 'pcap-zmq-recv to bind')
  if (t.child.exitCode !== null) throw new Error(`pcap-zmq-recv exited: ${t.stderr()}`)
  return t
}

// A TypeScript plugin with the optional hooks: init(config) opens a file named in config.yaml
// (plugin.state_file), receiverBatch gets events in bulk (--batch N), close() flushes.
// Run: pcap-zmq-plugin - examples/plugins/state-file.ts -c my-config.yaml --batch 100
import { closeSync, openSync, writeSync } from 'node:fs'

interface SessionEvent { session_id: string; state: string; timestamp: string; [k: string]: unknown }
interface Config { plugin?: { state_file?: string } }

let fd = -1
const seen = new Map<string, string>()

export function init(config: Config): void {
  const path = config.plugin?.state_file
  if (!path) throw new Error('set plugin.state_file in the config')
  fd = openSync(path, 'a')
}

export function receiver(event: SessionEvent): void {
  receiverBatch([event])
}

export function receiverBatch(events: SessionEvent[]): void {
  let text = ''
  for (const e of events) {
    const before = seen.get(e.session_id) ?? '-'
    seen.set(e.session_id, e.state)
    text += `${e.timestamp} ${e.session_id} ${before} -> ${e.state}\n`
  }
  writeSync(fd, text)
}

export function close(): void {
  if (fd >= 0) closeSync(fd)
}

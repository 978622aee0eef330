/** Whole capture files (pcap or pcapng) read into memory for decoder tests, through lib/pcap/reader. */
import { readFileSync } from 'node:fs'
import { createCaptureReader } from '../../lib/pcap/reader.js'

export interface FilePacket { linktype: number; data: Buffer; origLen: number }

export function readCaptureFile(path: string): { packets: FilePacket[]; error: string } {
  const packets: FilePacket[] = []
  // The reader reuses its packet object and may hand out views: copy what we keep.
  const reader = createCaptureReader((p) => packets.push({ linktype: p.linktype, data: Buffer.from(p.data), origLen: p.origLen }))
  reader.push(readFileSync(path))
  reader.end()
  return { packets, error: reader.stats.error }
}

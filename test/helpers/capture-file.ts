/**
 * A small synchronous pcap/pcapng file reader for decoder tests (both byte orders, microsecond and
 * nanosecond pcap, pcapng SHB/IDB/EPB/SPB/OPB). Independent of lib/pcap so decoder tests check the
 * decoders alone.
 */
import { readFileSync } from 'node:fs'

export interface FilePacket { linktype: number; data: Buffer; origLen: number }

export function readCaptureFile(path: string): FilePacket[] {
  const buf = readFileSync(path)
  if (buf.length < 4) throw new Error(`${path}: too short for a capture file`)
  const magic = buf.readUInt32LE(0)
  if (magic === 0x0a0d0d0a) return readPcapng(buf)
  return readPcap(buf, path)
}

function readPcap(buf: Buffer, path: string): FilePacket[] {
  const m = buf.readUInt32LE(0)
  let le: boolean
  if (m === 0xa1b2c3d4 || m === 0xa1b23c4d) le = true
  else if (m === 0xd4c3b2a1 || m === 0x4d3cb2a1) le = false
  else throw new Error(`${path}: not a pcap or pcapng file`)
  if (buf.length < 24) throw new Error(`${path}: truncated pcap header`)
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o))
  const linktype = u32(20) & 0x0fffffff
  const out: FilePacket[] = []
  for (let off = 24; off + 16 <= buf.length;) {
    const incl = u32(off + 8)
    const orig = u32(off + 12)
    if (off + 16 + incl > buf.length) break
    out.push({ linktype, data: buf.subarray(off + 16, off + 16 + incl), origLen: orig })
    off += 16 + incl
  }
  return out
}

function readPcapng(buf: Buffer): FilePacket[] {
  const out: FilePacket[] = []
  let le = true
  let links: number[] = []
  for (let off = 0; off + 12 <= buf.length;) {
    let type = le ? buf.readUInt32LE(off) : buf.readUInt32BE(off)
    if (type === 0x0a0d0d0a) {
      // Section header: byte-order magic decides how this section is read.
      le = buf.readUInt32LE(off + 8) === 0x1a2b3c4d
      links = []
      type = 0x0a0d0d0a
    }
    const len = le ? buf.readUInt32LE(off + 4) : buf.readUInt32BE(off + 4)
    if (len < 12 || off + len > buf.length) break
    const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o))
    const u16 = (o: number): number => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o))
    if (type === 1) links.push(u16(off + 8))
    else if (type === 6 || type === 3 || type === 2) {
      let iface = 0, incl: number, orig: number, dataOff: number
      if (type === 6) { iface = u32(off + 8); incl = u32(off + 20); orig = u32(off + 24); dataOff = off + 28 }
      else if (type === 2) { iface = u16(off + 8); incl = u32(off + 20); orig = u32(off + 24); dataOff = off + 28 }
      else { orig = u32(off + 8); incl = Math.min(orig, len - 16); dataOff = off + 12 }
      if (iface < links.length && dataOff + incl <= off + len) {
        out.push({ linktype: links[iface], data: buf.subarray(dataOff, dataOff + incl), origLen: orig })
      }
    }
    off += len
  }
  return out
}

/** TCP (RFC 9293): ports, sequence numbers, flag names, options (MSS, WS, SACK, timestamps) and checksum. */
import { addLayer, stop, type FieldValue, type LayerObject, type PacketContext } from './context.js'
import { hexString } from './format.js'
import { l4ChecksumValid } from './l4-checksum.js'
import { IPPROTO_TCP } from '../constants/ip-protocols.js'

/** Flag names, lowest bit first (FIN 0x01 ... CWR 0x80), as tcpdump and Wireshark name them. */
export const TCP_FLAG_NAMES = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR']

export function tcpFlagNames(flags: number): string[] {
  const out: string[] = []
  for (let i = 0; i < 8; i++) if (flags & (1 << i)) out.push(TCP_FLAG_NAMES[i])
  return out
}

export function decodeTcp(ctx: PacketContext, off: number, end: number): void {
  const { data } = ctx
  if (off + 20 > end) return stop(ctx, 'TCP', 'truncated header', off)
  const doff = (data[off + 12] >> 4) * 4
  const flags = data[off + 13]
  const tcp: LayerObject = addLayer(ctx, 'TCP', {
    Source_Port: data.readUInt16BE(off), Destination_Port: data.readUInt16BE(off + 2),
    Sequence_Number: data.readUInt32BE(off + 4), Acknowledgment_Number: data.readUInt32BE(off + 8),
    Header_Length: doff, Flags: tcpFlagNames(flags), Flags_Value: flags,
    Window_Size: data.readUInt16BE(off + 14), Checksum: data.readUInt16BE(off + 16), Checksum_Valid: null,
    Urgent_Pointer: data.readUInt16BE(off + 18),
  })
  if (doff < 20) return stop(ctx, 'TCP', `bad data offset ${doff}`, off)
  if (off + doff > end) return stop(ctx, 'TCP', 'truncated options', off)
  if (doff > ctx.l4Length) return stop(ctx, 'TCP', 'header longer than IP payload', off)
  if (doff > 20) tcp.Options = options(data, off + 20, off + doff)
  tcp.Payload_Length = Math.max(0, Math.min(end, off + ctx.l4Length) - off - doff)
  tcp.Checksum_Valid = l4ChecksumValid(ctx, off, end, ctx.l4Length, IPPROTO_TCP, true)
}

function options(data: Buffer, off: number, end: number): LayerObject {
  const o: LayerObject = {}
  const other: FieldValue[] = []
  for (let p = off; p < end;) {
    const kind = data[p]
    if (kind === 0) break
    if (kind === 1) { p++; continue }
    const len = p + 1 < end ? data[p + 1] : 0
    if (len < 2 || p + len > end) { o.Malformed = true; break }
    const v = p + 2
    if (kind === 2 && len === 4) o.MSS = data.readUInt16BE(v)
    else if (kind === 3 && len === 3) o.Window_Scale = data[v]
    else if (kind === 4 && len === 2) o.SACK_Permitted = true
    else if (kind === 5 && (len - 2) % 8 === 0) {
      const blocks: FieldValue[] = []
      for (let b = v; b + 8 <= p + len; b += 8) blocks.push({ Left_Edge: data.readUInt32BE(b), Right_Edge: data.readUInt32BE(b + 4) })
      o.SACK = blocks
    } else if (kind === 8 && len === 10) o.Timestamp = { Value: data.readUInt32BE(v), Echo_Reply: data.readUInt32BE(v + 4) }
    else other.push({ Kind: kind, Length: len, Data: hexString(data, v, p + len) })
    p += len
  }
  if (other.length) o.Other = other
  return o
}

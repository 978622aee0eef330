/** IPv4 (RFC 791): header fields, options list, fragments and the header checksum. */
import { addLayer, stop, type FieldValue, type LayerObject, type PacketContext } from './context.js'
import { hexString, ipv4String } from './format.js'
import { dispatchIpProtocol } from './dispatch.js'
import { onesSum, sumIsValid } from '../checksum.js'
import { ipProtocols } from '../constants/ip-protocols.js'

const OPTION_NAMES: Record<number, string> = {
  0: 'End_Of_List', 1: 'No_Operation', 7: 'Record_Route', 68: 'Timestamp', 130: 'Security', 131: 'Loose_Source_Route',
  136: 'Stream_ID', 137: 'Strict_Source_Route', 148: 'Router_Alert',
}

export function decodeIpv4(ctx: PacketContext, off: number, end: number): void {
  const { data } = ctx
  if (off + 20 > end) return stop(ctx, 'IPv4', 'truncated header', off)
  const version = data[off] >> 4
  const ihl = (data[off] & 0x0f) * 4
  if (version !== 4) return stop(ctx, 'IPv4', `bad version ${version}`, off)
  const total = data.readUInt16BE(off + 2)
  const frag = data.readUInt16BE(off + 6)
  const proto = data[off + 9]
  const flags: FieldValue[] = []
  if (frag & 0x8000) flags.push('Reserved')
  if (frag & 0x4000) flags.push('DF')
  if (frag & 0x2000) flags.push('MF')
  const ip: LayerObject = addLayer(ctx, 'IPv4', {
    Version: 4, Header_Length: ihl, DSCP: data[off + 1] >> 2, ECN: data[off + 1] & 3, Total_Length: total,
    Identification: data.readUInt16BE(off + 4), Flags: flags, Fragment_Offset: (frag & 0x1fff) * 8,
    TTL: data[off + 8], Protocol: proto, Protocol_Name: ipProtocols.name(proto) ?? null,
    Header_Checksum: data.readUInt16BE(off + 10), Checksum_Valid: null,
    Source_Address: ipv4String(data, off + 12), Destination_Address: ipv4String(data, off + 16),
  })
  if (ihl < 20) return stop(ctx, 'IPv4', `bad header length ${ihl}`, off)
  if (off + ihl > end) return stop(ctx, 'IPv4', 'truncated options', off)
  // Total length 0: a segmentation-offload super-packet from the sending host; length = captured,
  // checksums left for the NIC (not verifiable).
  const tso = total === 0
  ip.Checksum_Valid = tso ? null : sumIsValid(onesSum(data, off, off + ihl, 0))
  if (tso) ip.Segmentation_Offload = true
  if (ihl > 20) ip.Options = options(data, off + 20, off + ihl)
  if (!tso && total < ihl) return stop(ctx, 'IPv4', `bad total length ${total}`, off)
  if ((frag & 0x1fff) !== 0) { ip.Fragment = true; return }
  const ipEnd = tso ? end : off + total
  ctx.ipVersion = 4; ctx.srcOff = off + 12; ctx.dstOff = off + 16
  ctx.l4Length = ipEnd - off - ihl
  ctx.partial = tso || (frag & 0x2000) !== 0
  ctx.complete = !ctx.partial && ipEnd <= end
  dispatchIpProtocol(ctx, proto, off + ihl, Math.min(end, ipEnd))
}

function options(data: Buffer, off: number, end: number): FieldValue[] {
  const list: FieldValue[] = []
  let p = off
  while (p < end) {
    const type = data[p]
    const name = OPTION_NAMES[type] ?? null
    if (type === 0) { list.push({ Type: 0, Name: name }); break }
    if (type === 1) { list.push({ Type: 1, Name: name }); p++; continue }
    const len = p + 1 < end ? data[p + 1] : 0
    if (len < 2 || p + len > end) { list.push({ Type: type, Name: name, Malformed: true }); break }
    list.push({ Type: type, Name: name, Length: len, Data: hexString(data, p + 2, p + len) })
    p += len
  }
  return list
}

/** ICMP (RFC 792) and ICMPv6 (RFC 4443, 4861): type and code names, echo id/sequence, ND targets, checksum. */
import { addLayer, stop, type LayerObject, type PacketContext } from './context.js'
import { ipv4String, ipv6String } from './format.js'
import { l4ChecksumValid } from './l4-checksum.js'
import { icmpTypes, icmpv6Types } from '../constants/icmp-types.js'
import { IPPROTO_ICMPV6 } from '../constants/ip-protocols.js'

function header(ctx: PacketContext, name: string, off: number, end: number, typeName: string | undefined): LayerObject | undefined {
  const { data } = ctx
  if (off + 4 > end) { stop(ctx, name, 'truncated header', off); return undefined }
  return addLayer(ctx, name, {
    Type: data[off], Type_Name: typeName ?? null, Code: data[off + 1], Checksum: data.readUInt16BE(off + 2), Checksum_Valid: null,
  })
}

function echo(ctx: PacketContext, name: string, layer: LayerObject, off: number, end: number): boolean {
  if (off + 8 > end) { stop(ctx, name, 'truncated echo header', off); return false }
  layer.Identifier = ctx.data.readUInt16BE(off + 4)
  layer.Sequence_Number = ctx.data.readUInt16BE(off + 6)
  return true
}

export function decodeIcmp(ctx: PacketContext, off: number, end: number): void {
  const { data } = ctx
  const type = off < end ? data[off] : -1
  const icmp = header(ctx, 'ICMP', off, end, icmpTypes.name(type))
  if (!icmp) return
  icmp.Checksum_Valid = l4ChecksumValid(ctx, off, end, ctx.l4Length, 1, false)
  if (type === 0 || type === 8 || type === 13 || type === 14) {
    echo(ctx, 'ICMP', icmp, off, end)
  } else if (type === 5 && off + 8 <= end) icmp.Gateway_Address = ipv4String(data, off + 4)
  else if (type === 3 && icmp.Code === 4 && off + 8 <= end) icmp.Next_Hop_MTU = data.readUInt16BE(off + 6)
}

export function decodeIcmpv6(ctx: PacketContext, off: number, end: number): void {
  const { data } = ctx
  const type = off < end ? data[off] : -1
  const icmp = header(ctx, 'ICMPv6', off, end, icmpv6Types.name(type))
  if (!icmp) return
  icmp.Checksum_Valid = l4ChecksumValid(ctx, off, end, ctx.l4Length, IPPROTO_ICMPV6, true)
  if (type === 128 || type === 129) echo(ctx, 'ICMPv6', icmp, off, end)
  else if (type === 2 && off + 8 <= end) icmp.MTU = data.readUInt32BE(off + 4)
  else if (type === 135 || type === 136 || type === 137) {
    if (off + 24 > end) return stop(ctx, 'ICMPv6', 'truncated neighbor discovery message', off)
    if (type === 136) {
      const f = data[off + 4]
      icmp.Router = (f & 0x80) !== 0; icmp.Solicited = (f & 0x40) !== 0; icmp.Override = (f & 0x20) !== 0
    }
    icmp.Target_Address = ipv6String(data, off + 8)
  } else if (type === 134 && off + 16 <= end) {
    icmp.Hop_Limit = data[off + 4]
    icmp.Router_Lifetime = data.readUInt16BE(off + 6)
  }
}

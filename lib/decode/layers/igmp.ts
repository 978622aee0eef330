/** IGMP v1/v2/v3 (RFC 1112, 2236, 3376): type, group, version and checksum. */
import { addLayer, stop, type PacketContext } from './context.js'
import { ipv4String } from './format.js'
import { l4ChecksumValid } from './l4-checksum.js'
import { igmpTypes } from '../constants/icmp-types.js'

export function decodeIgmp(ctx: PacketContext, off: number, end: number): void {
  const { data } = ctx
  if (off + 8 > end) return stop(ctx, 'IGMP', 'truncated header', off)
  const type = data[off]
  // A query's version follows from its length (RFC 3376 7.1); reports carry it in the type.
  const version = type === 0x11 ? (ctx.l4Length >= 12 ? 3 : data[off + 1] === 0 ? 1 : 2)
    : type === 0x12 ? 1 : type === 0x22 ? 3 : 2
  const igmp = addLayer(ctx, 'IGMP', {
    Version: version, Type: type, Type_Name: igmpTypes.name(type) ?? null, Max_Response_Time: data[off + 1],
    Checksum: data.readUInt16BE(off + 2), Checksum_Valid: l4ChecksumValid(ctx, off, end, ctx.l4Length, 2, false),
  })
  if (type === 0x22) igmp.Number_Of_Records = data.readUInt16BE(off + 6)
  else igmp.Group_Address = ipv4String(data, off + 4)
}

/** UDP (RFC 768): ports, length and checksum (zero over IPv4 = not computed). */
import { addLayer, stop, type LayerObject, type PacketContext } from './context.js'
import { l4ChecksumValid } from './l4-checksum.js'
import { IPPROTO_UDP } from '../constants/ip-protocols.js'

export function decodeUdp(ctx: PacketContext, off: number, end: number): void {
  const { data } = ctx
  if (off + 8 > end) return stop(ctx, 'UDP', 'truncated header', off)
  const len = data.readUInt16BE(off + 4)
  const sum = data.readUInt16BE(off + 6)
  const udp: LayerObject = addLayer(ctx, 'UDP', {
    Source_Port: data.readUInt16BE(off), Destination_Port: data.readUInt16BE(off + 2), Length: len,
    Checksum: sum, Checksum_Valid: null,
  })
  if (len < 8 || len > ctx.l4Length) return stop(ctx, 'UDP', `bad length ${len}`, off)
  udp.Payload_Length = Math.min(end, off + len) - off - 8
  if (sum === 0) {
    // Not computed over IPv4 (RFC 768); never allowed over IPv6 (RFC 8200 8.1).
    udp.Checksum_Valid = ctx.ipVersion === 6 ? false : null
    return
  }
  udp.Checksum_Valid = l4ChecksumValid(ctx, off, end, len, IPPROTO_UDP, true)
}

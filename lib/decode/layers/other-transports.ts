/** SCTP (RFC 9260), DCCP (RFC 4340) and UDP-Lite (RFC 3828): ports, type and checksum where it is the Internet checksum. */
import { addLayer, stop, type PacketContext } from './context.js'
import { l4ChecksumValid } from './l4-checksum.js'
import { IPPROTO_DCCP, IPPROTO_UDPLITE } from '../constants/ip-protocols.js'

const DCCP_TYPES = ['Request', 'Response', 'Data', 'Ack', 'DataAck', 'CloseReq', 'Close', 'Reset', 'Sync', 'SyncAck', 'Listen']

export function decodeSctp(ctx: PacketContext, off: number, end: number): void {
  const { data } = ctx
  if (off + 12 > end) return stop(ctx, 'SCTP', 'truncated header', off)
  // The checksum is a CRC32c (RFC 9260 appendix B): reported, not verified.
  const sctp = addLayer(ctx, 'SCTP', {
    Source_Port: data.readUInt16BE(off), Destination_Port: data.readUInt16BE(off + 2),
    Verification_Tag: data.readUInt32BE(off + 4), Checksum: data.readUInt32BE(off + 8), Checksum_Valid: null,
  })
  if (off + 16 <= end) sctp.First_Chunk_Type = data[off + 12]
}

export function decodeDccp(ctx: PacketContext, off: number, end: number): void {
  const { data } = ctx
  if (off + 12 > end) return stop(ctx, 'DCCP', 'truncated header', off)
  const doff = data[off + 4] * 4
  const cscov = data[off + 5] & 0x0f
  const type = (data[off + 8] >> 1) & 0x0f
  const dccp = addLayer(ctx, 'DCCP', {
    Source_Port: data.readUInt16BE(off), Destination_Port: data.readUInt16BE(off + 2), Data_Offset: doff,
    Checksum_Coverage: cscov, Checksum: data.readUInt16BE(off + 6), Checksum_Valid: null,
    Type: type, Type_Name: DCCP_TYPES[type] ?? null, Extended_Sequence: (data[off + 8] & 1) === 1,
  })
  if (doff < 12 || doff > ctx.l4Length) return stop(ctx, 'DCCP', `bad data offset ${doff}`, off)
  const covered = cscov === 0 ? ctx.l4Length : Math.min(ctx.l4Length, doff + (cscov - 1) * 4)
  dccp.Checksum_Valid = l4ChecksumValid(ctx, off, end, ctx.l4Length, IPPROTO_DCCP, true, covered)
}

export function decodeUdpLite(ctx: PacketContext, off: number, end: number): void {
  const { data } = ctx
  if (off + 8 > end) return stop(ctx, 'UDPLite', 'truncated header', off)
  const cov = data.readUInt16BE(off + 4)
  const udp = addLayer(ctx, 'UDPLite', {
    Source_Port: data.readUInt16BE(off), Destination_Port: data.readUInt16BE(off + 2), Checksum_Coverage: cov,
    Checksum: data.readUInt16BE(off + 6), Checksum_Valid: null,
  })
  if ((cov > 0 && cov < 8) || cov > ctx.l4Length) return stop(ctx, 'UDPLite', `bad checksum coverage ${cov}`, off)
  udp.Checksum_Valid = l4ChecksumValid(ctx, off, end, ctx.l4Length, IPPROTO_UDPLITE, true, cov === 0 ? ctx.l4Length : cov)
}

/** Headers between the link and IP: MACsec (IEEE 802.1AE), MPLS label stacks (RFC 3032) and PPPoE sessions (RFC 2516). */
import { addLayer, stop, type FieldValue, type PacketContext } from './context.js'
import { hexString } from './format.js'
import { dispatchEtherType } from './dispatch.js'
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from '../constants/ethertypes.js'
import {
  MACSEC_PROTECTED, MACSEC_READABLE, MACSEC_TRUNCATED_TAG, macsecData, MAX_MPLS_LABELS, PPP_IPV4, PPP_IPV6,
} from '../summary-shims.js'

export function decodeMacsec(ctx: PacketContext, off: number, end: number): void {
  const { data } = ctx
  if (off + 6 > end) return stop(ctx, 'MACsec', 'truncated SecTAG', off)
  const tci = data[off]
  const sc = (tci & 0x20) !== 0
  addLayer(ctx, 'MACsec', {
    Association_Number: tci & 3, Encrypted: (tci & 0x08) !== 0, Changed: (tci & 0x04) !== 0, End_Station: (tci & 0x40) !== 0,
    Short_Length: data[off + 1] & 0x3f, Packet_Number: data.readUInt32BE(off + 2),
    SCI: sc && off + 14 <= end ? hexString(data, off + 6, off + 14) : null,
  })
  const bounds = { start: 0, end: 0 }
  const r = macsecData(data, off, end, bounds)
  if (r === MACSEC_PROTECTED) return // encrypted or modified: nothing more to read, and not an error
  if (r !== MACSEC_READABLE) return stop(ctx, 'MACsec', r === MACSEC_TRUNCATED_TAG ? 'truncated SecTAG' : 'truncated secure data', off)
  dispatchEtherType(ctx, data.readUInt16BE(bounds.start), bounds.start + 2, bounds.end)
}

export function decodeMpls(ctx: PacketContext, off: number, end: number): void {
  const { data } = ctx
  const labels: FieldValue[] = []
  addLayer(ctx, 'MPLS', { Labels: labels })
  for (let p = off; ; p += 4) {
    if (labels.length >= MAX_MPLS_LABELS) return stop(ctx, 'MPLS', 'too many labels', p)
    if (p + 4 > end) return stop(ctx, 'MPLS', 'truncated label', p)
    const w = data.readUInt32BE(p)
    const bottom = (w & 0x100) !== 0
    labels.push({ Label: w >>> 12, Traffic_Class: (w >>> 9) & 7, Bottom_Of_Stack: bottom, TTL: w & 0xff })
    if (!bottom) continue
    // The payload type is not signalled: IP is recognised by its version nibble, like routers do.
    const next = p + 4
    if (next >= end) return
    const v = data[next] >> 4
    if (v === 4) return dispatchEtherType(ctx, ETHERTYPE_IPV4, next, end)
    if (v === 6) return dispatchEtherType(ctx, ETHERTYPE_IPV6, next, end)
    return
  }
}

export function decodePppoeSession(ctx: PacketContext, off: number, end: number): void {
  const { data } = ctx
  if (off + 8 > end) return stop(ctx, 'PPPoE', 'truncated header', off)
  const proto = data.readUInt16BE(off + 6)
  addLayer(ctx, 'PPPoE', {
    Version: data[off] >> 4, Type: data[off] & 0x0f, Code: data[off + 1], Session_ID: data.readUInt16BE(off + 2),
    Length: data.readUInt16BE(off + 4), PPP_Protocol: proto,
  })
  // The PPPoE length covers the PPP protocol field and payload: it bounds the packet (Ethernet padding).
  const pppEnd = Math.min(end, off + 6 + data.readUInt16BE(off + 4))
  if (proto === PPP_IPV4) return dispatchEtherType(ctx, ETHERTYPE_IPV4, off + 8, pppEnd)
  if (proto === PPP_IPV6) return dispatchEtherType(ctx, ETHERTYPE_IPV6, off + 8, pppEnd)
}

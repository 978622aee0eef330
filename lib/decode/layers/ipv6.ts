/** IPv6 (RFC 8200) and its extension headers: hop-by-hop, routing, fragment, destination options, AH and friends. */
import { addLayer, stop, type FieldValue, type LayerObject, type PacketContext } from './context.js'
import { hexString, ipv6String } from './format.js'
import { dispatchIpProtocol } from './dispatch.js'
import * as P from '../constants/ip-protocols.js'
import { jumboPayloadLength, MAX_IPV6_EXT_HEADERS } from '../summary-ip.js'

const EXT_NAMES: Record<number, string> = {
  [P.IPPROTO_HOPOPTS]: 'Hop_by_Hop_Options', [P.IPPROTO_ROUTING]: 'Routing', [P.IPPROTO_FRAGMENT]: 'Fragment',
  [P.IPPROTO_DSTOPTS]: 'Destination_Options', [P.IPPROTO_AH]: 'Authentication_Header', [P.IPPROTO_MOBILITY]: 'Mobility',
  [P.IPPROTO_HIP]: 'HIP', [P.IPPROTO_SHIM6]: 'Shim6',
}

export function decodeIpv6(ctx: PacketContext, off: number, end: number): void {
  const { data } = ctx
  if (off + 40 > end) return stop(ctx, 'IPv6', 'truncated header', off)
  const version = data[off] >> 4
  if (version !== 6) return stop(ctx, 'IPv6', `bad version ${version}`, off)
  const word = data.readUInt32BE(off)
  const plen = data.readUInt16BE(off + 4)
  let nh = data[off + 6]
  const ip: LayerObject = addLayer(ctx, 'IPv6', {
    Version: 6, Traffic_Class: (word >>> 20) & 0xff, Flow_Label: word & 0xfffff, Payload_Length: plen,
    Next_Header: nh, Hop_Limit: data[off + 7],
    Source_Address: ipv6String(data, off + 8), Destination_Address: ipv6String(data, off + 24),
  })
  // A jumbogram's length is in its hop-by-hop Jumbo Payload option (RFC 2675).
  const jumboCandidate = plen === 0 && nh === P.IPPROTO_HOPOPTS
  const jumbo = jumboCandidate ? jumboPayloadLength(data, off + 40, end) : -1
  if (jumbo >= 0) ip.Jumbo_Payload_Length = jumbo
  const ipEnd = jumboCandidate ? (jumbo >= 0 ? off + 40 + jumbo : end) : off + 40 + plen
  const e = Math.min(end, ipEnd)
  ctx.ipVersion = 6; ctx.srcOff = off + 8; ctx.dstOff = off + 24
  ctx.partial = jumboCandidate && jumbo < 0
  ctx.complete = !ctx.partial && ipEnd <= end
  const exts: FieldValue[] = []
  let p = off + 40
  let fragmented = false
  for (let n = 0; P.isIpv6ExtensionHeader(nh); n++) {
    const name = EXT_NAMES[nh]
    if (n >= MAX_IPV6_EXT_HEADERS) { finish(ip, exts, nh); return stop(ctx, 'IPv6', 'too many extension headers', p) }
    if (p + 8 > e) { finish(ip, exts, nh); return stop(ctx, 'IPv6', `truncated ${name} header`, p) }
    const hlen = nh === P.IPPROTO_AH ? (data[p + 1] + 2) * 4 : nh === P.IPPROTO_FRAGMENT ? 8 : (data[p + 1] + 1) * 8
    if (p + hlen > e) { finish(ip, exts, nh); return stop(ctx, 'IPv6', `${name} header runs past the end`, p) }
    const ext: LayerObject = { Type: name, Next_Header: data[p], Length: hlen }
    if (nh === P.IPPROTO_ROUTING) routing(ctx, ext, p, hlen)
    else if (nh === P.IPPROTO_FRAGMENT) {
      const fo = data.readUInt16BE(p + 2)
      ext.Fragment_Offset = fo & 0xfff8
      ext.More_Fragments = (fo & 1) === 1
      ext.Identification = data.readUInt32BE(p + 4)
      if (fo & 1) { ctx.partial = true; ctx.complete = false }
      if ((fo & 0xfff8) !== 0) fragmented = true
    } else if (nh === P.IPPROTO_AH) {
      ext.SPI = data.readUInt32BE(p + 4)
      ext.Sequence = hlen >= 12 ? data.readUInt32BE(p + 8) : null
    } else if (nh === P.IPPROTO_HOPOPTS || nh === P.IPPROTO_DSTOPTS) ext.Options = tlvOptions(data, p + 2, p + hlen)
    exts.push(ext)
    nh = data[p]
    p += hlen
    if (fragmented) break
  }
  finish(ip, exts, nh)
  if (fragmented) { ip.Fragment = true; return }
  ctx.l4Length = ipEnd - p
  dispatchIpProtocol(ctx, nh, p, e)
}

function finish(ip: LayerObject, exts: FieldValue[], nh: number): void {
  if (exts.length) ip.Extension_Headers = exts
  ip.Protocol = nh
  ip.Protocol_Name = P.ipProtocols.name(nh) ?? null
}

/** Routing header; with segments left, the final destination is what the transport checksum covers. */
function routing(ctx: PacketContext, ext: LayerObject, p: number, hlen: number): void {
  const { data } = ctx
  const type = data[p + 2], left = data[p + 3]
  ext.Routing_Type = type
  ext.Segments_Left = left
  if ((type === 0 || type === 2 || type === 4) && hlen >= 24) {
    const addrs: FieldValue[] = []
    for (let a = p + 8; a + 16 <= p + hlen; a += 16) addrs.push(ipv6String(data, a))
    ext.Addresses = addrs
    if (left > 0) ctx.dstOff = type === 4 ? p + 8 : p + hlen - 16
  }
}

/** Hop-by-hop / destination options (RFC 8200 4.2): Pad1 is one byte, everything else is TLV. */
function tlvOptions(data: Buffer, off: number, end: number): FieldValue[] {
  const list: FieldValue[] = []
  for (let p = off; p < end;) {
    const type = data[p]
    if (type === 0) { p++; continue }
    if (p + 2 > end || p + 2 + data[p + 1] > end) { list.push({ Type: type, Malformed: true }); break }
    const len = data[p + 1]
    if (type !== 1) list.push({ Type: type, Length: len, Data: hexString(data, p + 2, p + 2 + len) })
    p += 2 + len
  }
  return list
}

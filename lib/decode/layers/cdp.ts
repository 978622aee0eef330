/** Cisco Discovery Protocol (SNAP OUI 00000c, PID 0x2000): header, checksum and the common TLVs. */
import { addLayer, stop, type FieldValue, type LayerObject, type PacketContext } from './context.js'
import { hexString, ipv4String, ipv6String, textString } from './format.js'
import { onesSum, sumIsValid } from '../checksum.js'

const TEXT_TLVS: Record<number, string> = {
  0x0001: 'Device_ID', 0x0003: 'Port_ID', 0x0005: 'Software_Version', 0x0006: 'Platform',
  0x0009: 'VTP_Management_Domain', 0x0014: 'System_Name',
}
const ADDRESS_TLVS: Record<number, string> = { 0x0002: 'Addresses', 0x0016: 'Management_Addresses' }
const CAPABILITIES = ['Router', 'Transparent_Bridge', 'Source_Route_Bridge', 'Switch', 'Host', 'IGMP', 'Repeater', 'VoIP_Phone', 'Remotely_Managed']
/** The 802.2 protocol id of IPv6 in a CDP address entry. */
const IPV6_PROTO = 'aaaa0300000086dd'

export function decodeCdp(ctx: PacketContext, off: number, end: number): void {
  const { data } = ctx
  if (off + 4 > end) return stop(ctx, 'CDP', 'truncated header', off)
  const cdp: LayerObject = addLayer(ctx, 'CDP', {
    Version: data[off], TTL: data[off + 1], Checksum: data.readUInt16BE(off + 2), Checksum_Valid: cdpChecksumValid(data, off, end),
  })
  const other: number[] = []
  let p = off + 4
  while (p + 4 <= end) {
    const type = data.readUInt16BE(p)
    const len = data.readUInt16BE(p + 2)
    if (len < 4) return stop(ctx, 'CDP', `bad TLV length ${len}`, p)
    if (p + len > end) return stop(ctx, 'CDP', 'truncated TLV', p)
    const v = p + 4, vend = p + len
    if (TEXT_TLVS[type]) cdp[TEXT_TLVS[type]] = textString(data, v, vend)
    else if (ADDRESS_TLVS[type]) cdp[ADDRESS_TLVS[type]] = addresses(data, v, vend)
    else if (type === 0x0004 && len >= 8) {
      const caps = data.readUInt32BE(v)
      cdp.Capabilities = CAPABILITIES.filter((_, i) => (caps & (1 << i)) !== 0)
    } else if (type === 0x000a && len >= 6) cdp.Native_VLAN = data.readUInt16BE(v)
    else if (type === 0x000b && len >= 5) cdp.Duplex = data[v] === 1 ? 'Full' : 'Half'
    else if (type === 0x0011 && len >= 8) cdp.MTU = data.readUInt32BE(v)
    else other.push(type)
    p += len
  }
  if (other.length) cdp.Other_TLV_Types = other
  if (p !== end) stop(ctx, 'CDP', 'trailing bytes after the last TLV', p)
}

function addresses(data: Buffer, off: number, end: number): FieldValue[] {
  const out: FieldValue[] = []
  if (off + 4 > end) return out
  const n = data.readUInt32BE(off)
  let p = off + 4
  for (let i = 0; i < n && p + 2 <= end; i++) {
    const plen = data[p + 1]
    if (p + 2 + plen + 2 > end) break
    const proto = hexString(data, p + 2, p + 2 + plen)
    const alen = data.readUInt16BE(p + 2 + plen)
    const a = p + 4 + plen
    if (a + alen > end) break
    // NLPID 0xcc is IPv4; the 802.2 SNAP id for EtherType 86dd is IPv6.
    if (proto === 'cc' && alen === 4) out.push(ipv4String(data, a))
    else if (proto === IPV6_PROTO && alen === 16) out.push(ipv6String(data, a))
    else out.push(hexString(data, a, a + alen))
    p = a + alen
  }
  return out
}

/**
 * The Internet checksum over the whole CDP message. Cisco's implementation handles an odd final byte
 * as a sign-extended value in the low half of a word; both that and the RFC 1071 rule are accepted.
 */
function cdpChecksumValid(data: Buffer, off: number, end: number): boolean {
  if (sumIsValid(onesSum(data, off, end, 0))) return true
  if (((end - off) & 1) === 0) return false
  const last = data[end - 1]
  const base = onesSum(data, off, end - 1, 0)
  return sumIsValid(base + (last & 0x80 ? 0xff00 | last : last))
}

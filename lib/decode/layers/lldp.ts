/** IEEE 802.1AB Link Layer Discovery Protocol (EtherType 0x88cc): the mandatory and basic TLVs. */
import { addLayer, stop, type FieldValue, type LayerObject, type PacketContext } from './context.js'
import { hexString, ipv4String, ipv6String, macString, textString } from './format.js'

const CHASSIS_SUBTYPES = ['Reserved', 'Chassis_Component', 'Interface_Alias', 'Port_Component', 'MAC_Address', 'Network_Address', 'Interface_Name', 'Locally_Assigned']
const PORT_SUBTYPES = ['Reserved', 'Interface_Alias', 'Port_Component', 'MAC_Address', 'Network_Address', 'Interface_Name', 'Agent_Circuit_ID', 'Locally_Assigned']
const TEXT_TLVS: Record<number, string> = { 4: 'Port_Description', 5: 'System_Name', 6: 'System_Description' }
const CAPABILITIES = ['Other', 'Repeater', 'Bridge', 'WLAN_Access_Point', 'Router', 'Telephone', 'DOCSIS_Cable_Device', 'Station_Only', 'C_VLAN', 'S_VLAN', 'Two_Port_MAC_Relay']

/** IANA address family 1 = IPv4, 2 = IPv6; anything else as hex. */
function networkAddress(data: Buffer, off: number, end: number): string {
  if (data[off] === 1 && end - off === 5) return ipv4String(data, off + 1)
  if (data[off] === 2 && end - off === 17) return ipv6String(data, off + 1)
  return hexString(data, off, end)
}

/** An ID TLV value by subtype: MAC and network addresses in their usual text form, names as text. */
function idValue(data: Buffer, off: number, end: number, macSubtype: number, netSubtype: number): string {
  const sub = data[off]
  if (sub === macSubtype && end - off === 7) return macString(data, off + 1)
  if (sub === netSubtype && end - off > 1) return networkAddress(data, off + 1, end)
  return textString(data, off + 1, end)
}

function capabilityNames(bits: number): FieldValue[] {
  return CAPABILITIES.filter((_, i) => (bits & (1 << i)) !== 0)
}

export function decodeLldp(ctx: PacketContext, off: number, end: number): void {
  const { data } = ctx
  const lldp: LayerObject = addLayer(ctx, 'LLDP', {})
  const orgSpecific: FieldValue[] = []
  let p = off
  for (;;) {
    if (p + 2 > end) return stop(ctx, 'LLDP', 'missing End Of LLDPDU TLV', p)
    const hdr = data.readUInt16BE(p)
    const type = hdr >> 9, len = hdr & 0x1ff
    const v = p + 2, vend = v + len
    if (vend > end) return stop(ctx, 'LLDP', 'truncated TLV', p)
    if (type === 0) break
    if (type === 1 && len >= 2) {
      lldp.Chassis_ID_Subtype = CHASSIS_SUBTYPES[data[v]] ?? data[v]
      lldp.Chassis_ID = idValue(data, v, vend, 4, 5)
    } else if (type === 2 && len >= 2) {
      lldp.Port_ID_Subtype = PORT_SUBTYPES[data[v]] ?? data[v]
      lldp.Port_ID = idValue(data, v, vend, 3, 4)
    } else if (type === 3 && len >= 2) lldp.TTL = data.readUInt16BE(v)
    else if (TEXT_TLVS[type]) lldp[TEXT_TLVS[type]] = textString(data, v, vend)
    else if (type === 7 && len >= 4) {
      lldp.System_Capabilities = capabilityNames(data.readUInt16BE(v))
      lldp.Enabled_Capabilities = capabilityNames(data.readUInt16BE(v + 2))
    } else if (type === 8 && len >= 2) {
      const alen = data[v]
      if (alen >= 1 && v + 1 + alen <= vend) {
        const list = (lldp.Management_Addresses as FieldValue[] | undefined) ?? []
        list.push(networkAddress(data, v + 1, v + 1 + alen))
        lldp.Management_Addresses = list
      }
    } else if (type === 127 && len >= 4) {
      orgSpecific.push({ OUI: hexString(data, v, v + 3), Subtype: data[v + 3], Length: len })
    }
    p = vend
  }
  if (orgSpecific.length) lldp.Organizationally_Specific = orgSpecific
}

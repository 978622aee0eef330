/** ARP and RARP (RFC 826, 903): Ethernet/IPv4 addresses in text, other hardware/protocol types in hex. */
import { addLayer, stop, type PacketContext } from './context.js'
import { hexString, ipv4String, macString } from './format.js'

const OPCODES: Record<number, string> = { 1: 'Request', 2: 'Reply', 3: 'RARP_Request', 4: 'RARP_Reply', 8: 'InARP_Request', 9: 'InARP_Reply' }

export function decodeArp(ctx: PacketContext, off: number, end: number): void {
  const { data } = ctx
  if (off + 8 > end) return stop(ctx, 'ARP', 'truncated header', off)
  const hlen = data[off + 4], plen = data[off + 5]
  const ptype = data.readUInt16BE(off + 2)
  const op = data.readUInt16BE(off + 6)
  const arp = addLayer(ctx, 'ARP', {
    Hardware_Type: data.readUInt16BE(off), Protocol_Type: ptype, Hardware_Size: hlen, Protocol_Size: plen,
    Opcode: op, Opcode_Name: OPCODES[op] ?? null,
  })
  const body = off + 8
  if (body + 2 * (hlen + plen) > end) return stop(ctx, 'ARP', 'truncated addresses', body)
  const hw = (o: number): string => (hlen === 6 ? macString(data, o) : hexString(data, o, o + hlen))
  const pr = (o: number): string => (plen === 4 && ptype === 0x0800 ? ipv4String(data, o) : hexString(data, o, o + plen))
  arp.Sender_Hardware_Address = hw(body)
  arp.Sender_Protocol_Address = pr(body + hlen)
  arp.Target_Hardware_Address = hw(body + hlen + plen)
  arp.Target_Protocol_Address = pr(body + 2 * hlen + plen)
}

/** IEEE 802.2 LLC and its SNAP extension, leading to STP, CDP or an EtherType-identified payload. */
import { addLayer, stop, type PacketContext } from './context.js'
import { hexString } from './format.js'
import { dispatchEtherType } from './dispatch.js'
import { decodeStp } from './stp.js'
import { decodeCdp } from './cdp.js'

/** LLC SAP values with a decoder or a well-known name. */
export const SAP_STP = 0x42
export const SAP_SNAP = 0xaa
const SAP_NAMES: Record<number, string> = {
  0x00: 'Null', 0x04: 'SNA', 0x06: 'IP', 0x42: 'STP', 0x98: 'ARP', 0xaa: 'SNAP', 0xe0: 'IPX', 0xf0: 'NetBIOS', 0xfe: 'OSI',
}
const OUI_CISCO = 0x00000c
const PID_CDP = 0x2000
const PID_PVST = 0x010b

export function decodeLlc(ctx: PacketContext, off: number, end: number): void {
  const { data } = ctx
  if (off + 3 > end) return stop(ctx, 'LLC', 'truncated header', off)
  const dsap = data[off], ssap = data[off + 1]
  // U-format PDUs (low two bits 11) have a one-byte control field; I and S formats have two.
  const u = (data[off + 2] & 3) === 3
  if (!u && off + 4 > end) return stop(ctx, 'LLC', 'truncated control field', off)
  const control = u ? data[off + 2] : data.readUInt16BE(off + 2)
  addLayer(ctx, 'LLC', {
    DSAP: dsap, DSAP_Name: SAP_NAMES[dsap & 0xfe] ?? null, SSAP: ssap & 0xfe,
    Command_Response: (ssap & 1) === 1 ? 'Response' : 'Command', Control: control,
  })
  const next = off + (u ? 3 : 4)
  if (dsap === SAP_SNAP && ssap === SAP_SNAP) return snap(ctx, next, end)
  if (dsap === SAP_STP && ssap === SAP_STP) return decodeStp(ctx, next, end)
}

function snap(ctx: PacketContext, off: number, end: number): void {
  const { data } = ctx
  if (off + 5 > end) return stop(ctx, 'SNAP', 'truncated header', off)
  const oui = (data[off] << 16) | (data[off + 1] << 8) | data[off + 2]
  const pid = data.readUInt16BE(off + 3)
  addLayer(ctx, 'SNAP', { OUI: hexString(data, off, off + 3), Protocol_ID: pid })
  const next = off + 5
  if (oui === 0) return dispatchEtherType(ctx, pid, next, end)
  if (oui === OUI_CISCO && pid === PID_CDP) return decodeCdp(ctx, next, end)
  if (oui === OUI_CISCO && pid === PID_PVST) return decodeStp(ctx, next, end)
}

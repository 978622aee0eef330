/** IEEE 802.1D/802.1w/802.1s spanning tree BPDUs (configuration, RST/MST and topology change). */
import { addLayer, stop, type LayerObject, type PacketContext } from './context.js'
import { macString } from './format.js'

const BPDU_TYPES: Record<number, string> = { 0x00: 'Configuration', 0x02: 'RST', 0x80: 'Topology_Change_Notification' }

/** Bridge identifiers as "priority.mac" like tcpdump prints them (8000.00:11:22:33:44:55). */
function bridgeId(data: Buffer, off: number): string {
  return `${data.readUInt16BE(off).toString(16).padStart(4, '0')}.${macString(data, off + 2)}`
}

export function decodeStp(ctx: PacketContext, off: number, end: number): void {
  const { data } = ctx
  if (off + 4 > end) return stop(ctx, 'STP', 'truncated header', off)
  const type = data[off + 3]
  const stp: LayerObject = addLayer(ctx, 'STP', {
    Protocol_ID: data.readUInt16BE(off), Version: data[off + 2], BPDU_Type: type, BPDU_Type_Name: BPDU_TYPES[type] ?? null,
  })
  if (type === 0x80) return
  if (off + 35 > end) return stop(ctx, 'STP', 'truncated BPDU', off)
  const flags = data[off + 4]
  Object.assign(stp, {
    Flags: flags,
    Topology_Change: (flags & 0x01) !== 0,
    Topology_Change_Ack: (flags & 0x80) !== 0,
    Root_ID: bridgeId(data, off + 5),
    Root_Priority: data.readUInt16BE(off + 5),
    Root_Address: macString(data, off + 7),
    Root_Path_Cost: data.readUInt32BE(off + 13),
    Bridge_ID: bridgeId(data, off + 17),
    Bridge_Priority: data.readUInt16BE(off + 17),
    Bridge_Address: macString(data, off + 19),
    Port_ID: data.readUInt16BE(off + 25),
    // Timers are in 1/256 s units on the wire.
    Message_Age: data.readUInt16BE(off + 27) / 256,
    Max_Age: data.readUInt16BE(off + 29) / 256,
    Hello_Time: data.readUInt16BE(off + 31) / 256,
    Forward_Delay: data.readUInt16BE(off + 33) / 256,
  })
  if (type === 0x02) {
    // RSTP/MSTP: port role and state live in the flags byte.
    stp.Port_Role = ['Unknown', 'Alternate_Backup', 'Root', 'Designated'][(flags >> 2) & 3]
    stp.Proposal = (flags & 0x02) !== 0
    stp.Learning = (flags & 0x10) !== 0
    stp.Forwarding = (flags & 0x20) !== 0
    stp.Agreement = (flags & 0x40) !== 0
    if (off + 36 <= end) stp.Version_1_Length = data[off + 35]
    if (data[off + 2] >= 3 && off + 38 <= end) stp.Version_3_Length = data.readUInt16BE(off + 36)
  }
}

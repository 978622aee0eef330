import type { AfPacketCapture, IfaceCaptureSettings } from '../capture/afpacket.js'
import { openIfaceCapture } from '../capture/iface.js'
import { FRAME_AS_IS, writeFrame } from '../capture/tpacket.js'
import { viewOf } from '../util/byte-view.js'
import { dropPrivileges } from '../util/privileges.js'
import { MAX_CAPLEN } from '../wire/batch.js'

/** Opens an iface: source for pcap-zmq-track and drops to `user` once its rings are set up. */
export async function openTrackCapture(settings: IfaceCaptureSettings, user: string | undefined, log: (m: string) => void): Promise<AfPacketCapture> {
  const cap = await openIfaceCapture(settings, [], log, false)
  if (user !== undefined) {
    try {
      dropPrivileges(user)
    } catch (err) {
      cap.close()
      throw err
    }
  }
  return cap
}

/**
 * Feeds every captured frame to `onPacket` until the capture is stopped. A frame the kernel
 * stored whole is passed as a view of the ring itself; one that gets its VLAN tag or SLL2 header
 * back is assembled in a scratch buffer. Either is only valid during the call (the block goes
 * back to the kernel after its walk), which the tracker honours: it copies what it keeps.
 */
export async function readIfaceInput(
  cap: AfPacketCapture,
  onPacket: (linktype: number, data: Buffer, sec: number, nsec: number, origLen: number) => void,
  afterRound: () => Promise<void>,
  log: (m: string) => void,
): Promise<void> {
  const scratch = Buffer.allocUnsafe(MAX_CAPLEN)
  const scratchView = viewOf(scratch)
  const linktypes = cap.interfaces.map((i) => i.linktype)
  await cap.run((ring, f, i) => {
    const data = f.insert === FRAME_AS_IS ? ring.subarray(f.start, f.start + f.caplen) : scratch.subarray(0, writeFrame(ring, f, scratch, 0, scratchView))
    onPacket(linktypes[i]!, data, f.tsSec, f.tsNsec, f.origLen)
  }, afterRound, log)
}

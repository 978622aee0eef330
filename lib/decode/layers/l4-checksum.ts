/** Transport checksum status for the decoded tree: true/false, or null when it cannot be checked. */
import type { PacketContext } from './context.js'
import { onesSum, pseudoSumV4, pseudoSumV6, sumIsValid } from '../checksum.js'

/**
 * Checks [off, off + covered) with the IP pseudo-header (when `pseudo`) stating `length`; null when
 * not all of the message was captured. Only DCCP and UDP-Lite cover less than the whole message.
 */
export function l4ChecksumValid(ctx: PacketContext, off: number, end: number, length: number, proto: number, pseudo: boolean, covered = length): boolean | null {
  // UDP passes its own length: checkable whenever the datagram is captured, even if IP claims more.
  const whole = proto === 17 ? !ctx.partial : ctx.complete
  if (!whole || off + length > end) return null
  let acc = 0
  if (pseudo) {
    acc = ctx.ipVersion === 4
      ? pseudoSumV4(ctx.data, ctx.srcOff, ctx.dstOff, proto, length)
      : pseudoSumV6(ctx.data, ctx.srcOff, ctx.dstOff, proto, length)
  }
  return sumIsValid(onesSum(ctx.data, off, off + covered, acc))
}

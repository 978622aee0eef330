/** Transport checksum status for the decoded tree: true/false, or null when it cannot be checked. */
import type { PacketContext } from './context.js'
import { onesSum, pseudoSumV4, pseudoSumV6, sumIsValid } from '../checksum.js'

/** Checks [off, off + length) (with the IP pseudo-header when `pseudo`); null when not all of it was captured. */
export function l4ChecksumValid(ctx: PacketContext, off: number, end: number, length: number, proto: number, pseudo: boolean): boolean | null {
  if (!ctx.complete || off + length > end) return null
  let acc = 0
  if (pseudo) {
    acc = ctx.ipVersion === 4
      ? pseudoSumV4(ctx.data, ctx.srcOff, ctx.dstOff, proto, length)
      : pseudoSumV6(ctx.data, ctx.srcOff, ctx.dstOff, proto, length)
  }
  return sumIsValid(onesSum(ctx.data, off, off + length, acc))
}

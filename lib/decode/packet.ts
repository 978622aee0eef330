/**
 * decodePacket: the full, allocating decode of one frame into protocol objects for `--packets`
 * and attribute filters. Field names are documented in docs/packet-fields.md.
 */
import { createContext, type DecodedPacket } from './layers/context.js'
import { decodeLink } from './layers/link.js'
import { messageOf } from '../util/errors.js'

export type { DecodedPacket, LayerObject, FieldValue } from './layers/context.js'

/** Never throws: a decoder fault on hostile input ends in `error` with what was decoded so far. */
export function decodePacket(linktype: number, data: Buffer): DecodedPacket {
  const ctx = createContext(data)
  try {
    decodeLink(ctx, linktype)
  } catch (err) {
    ctx.pkt.error = `decode: internal error: ${messageOf(err)}`
  }
  return ctx.pkt
}

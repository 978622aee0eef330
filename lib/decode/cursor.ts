/**
 * Where the summary decoder stands inside one packet. One instance is reused for every packet so
 * the hot path allocates nothing; each layer reads its bounds from here and leaves the next layer's.
 */
export interface DecodeCursor {
  /** Start of the next layer's header. */
  offset: number
  /** End of the current layer's data inside the buffer (already capped to the captured length). */
  end: number
  /** What the next layer is: an EtherType on the link layer, an IP protocol number after IP. */
  type: number
  /** Offsets of the IP source and destination address (for the pseudo-header), -1 without IP. */
  srcOff: number
  dstOff: number
  /** Upper-layer length the IP header announces (pseudo-header length), whatever was captured. */
  l4Length: number
  /** True when the whole upper-layer message is in the buffer and not fragmented: checksums can be checked. */
  complete: boolean
  /** True when the IP packet is a first fragment or an offload super-packet: never checkable. */
  partial: boolean
  /** Checksums verified good, bad and skipped as not verifiable, for this packet. */
  ckGood: number
  ckBad: number
  ckSkipped: number
}

export function createCursor(): DecodeCursor {
  return { offset: 0, end: 0, type: -1, srcOff: -1, dstOff: -1, l4Length: 0, complete: false, partial: false, ckGood: 0, ckBad: 0, ckSkipped: 0 }
}

export function resetCursor(c: DecodeCursor, end: number): void {
  c.offset = 0; c.end = end; c.type = -1; c.srcOff = -1; c.dstOff = -1; c.l4Length = 0; c.complete = false; c.partial = false
  c.ckGood = 0; c.ckBad = 0; c.ckSkipped = 0
}

/** Records one checksum outcome: true good, false bad. */
export function countChecksum(c: DecodeCursor, good: boolean): void {
  if (good) c.ckGood++
  else c.ckBad++
}

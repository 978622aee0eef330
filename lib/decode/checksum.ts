/**
 * The Internet checksum (RFC 1071): one's-complement sum of 16-bit big-endian words. Every checksum
 * check in the decoders goes through these helpers. Sums are kept unfolded in a JS number (safe far
 * beyond any packet size) and folded once at the end.
 */

/** Adds the bytes [start, end) of `buf` as big-endian 16-bit words to `acc`; an odd last byte is padded with zero. */
export function onesSum(buf: Uint8Array, start: number, end: number, acc: number): number {
  let i = start
  const even = end - ((end - start) & 1)
  // Two words per step: fewer loop iterations on the hot path.
  for (; i + 3 < even; i += 4) acc += ((buf[i] << 8) | buf[i + 1]) + ((buf[i + 2] << 8) | buf[i + 3])
  for (; i < even; i += 2) acc += (buf[i] << 8) | buf[i + 1]
  if (i < end) acc += buf[i] << 8
  return acc
}

/** Folds a running sum into 16 bits (end-around carry). */
export function foldSum(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 0x10000)
  return acc
}

/** True when a region summed *including* its checksum field folds to 0xffff (the receiver's check). */
export function sumIsValid(acc: number): boolean {
  return foldSum(acc) === 0xffff
}

/** The checksum to write into a zeroed checksum field: complement of the folded sum. */
export function checksumOf(acc: number): number {
  return (~foldSum(acc)) & 0xffff
}

/** TCP/UDP/ICMPv6 pseudo-header sum for IPv4: addresses at srcOff/dstOff, protocol and upper-layer length. */
export function pseudoSumV4(buf: Uint8Array, srcOff: number, dstOff: number, proto: number, length: number): number {
  return onesSum(buf, srcOff, srcOff + 4, onesSum(buf, dstOff, dstOff + 4, proto + length))
}

/** RFC 8200 section 8.1 pseudo-header sum for IPv6 (32-bit length, next header). */
export function pseudoSumV6(buf: Uint8Array, srcOff: number, dstOff: number, proto: number, length: number): number {
  return onesSum(buf, srcOff, srcOff + 16, onesSum(buf, dstOff, dstOff + 16, proto + (length >>> 16) + (length & 0xffff)))
}

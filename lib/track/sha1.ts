/**
 * SHA-1 (FIPS 180-4, section 6.1) of a short message, for Community ID: its input is at most
 * 40 bytes, so the padded message is a single 64-byte block and the whole digest runs on
 * preallocated words, with none of node:crypto's per-call Hash objects.
 */
const W = new Int32Array(80)
const MAX_SINGLE_BLOCK = 55
// Initial hash value and the last two round constants, as signed 32-bit integers.
const H0 = 0x67452301
const H1 = 0xefcdab89 | 0
const H2 = 0x98badcfe | 0
const H3 = 0x10325476
const H4 = 0xc3d2e1f0 | 0
const K3 = 0x8f1bbcdc | 0
const K4 = 0xca62c1d6 | 0

/** Writes SHA-1(msg[0, len)) (20 bytes) into `out` at `at`. `len` must be at most 55. */
export function sha1Short(msg: Uint8Array, len: number, out: Uint8Array, at: number): void {
  if (len > MAX_SINGLE_BLOCK) throw new RangeError(`sha1Short takes at most ${MAX_SINGLE_BLOCK} bytes, got ${len}`)
  const w = W
  // Big-endian words of the message, then the 0x80 terminator, zeros and the bit length.
  for (let i = 0; i < 16; i++) w[i] = 0
  for (let p = 0; p < len; p++) w[p >> 2] |= msg[p] << (24 - 8 * (p & 3))
  w[len >> 2] |= 0x80 << (24 - 8 * (len & 3))
  w[15] = len * 8
  for (let i = 16; i < 80; i++) {
    const x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]
    w[i] = (x << 1) | (x >>> 31)
  }
  let a = H0
  let b = H1
  let c = H2
  let d = H3
  let e = H4
  let t = 0
  // The four 20-round stages as separate loops: no per-round branch on the stage.
  for (let i = 0; i < 20; i++) {
    t = (((a << 5) | (a >>> 27)) + ((b & c) | (~b & d)) + e + 0x5a827999 + w[i]) | 0
    e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t
  }
  for (let i = 20; i < 40; i++) {
    t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + 0x6ed9eba1 + w[i]) | 0
    e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t
  }
  for (let i = 40; i < 60; i++) {
    t = (((a << 5) | (a >>> 27)) + ((b & c) | (b & d) | (c & d)) + e + K3 + w[i]) | 0
    e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t
  }
  for (let i = 60; i < 80; i++) {
    t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + K4 + w[i]) | 0
    e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t
  }
  writeWord(out, at, (H0 + a) | 0)
  writeWord(out, at + 4, (H1 + b) | 0)
  writeWord(out, at + 8, (H2 + c) | 0)
  writeWord(out, at + 12, (H3 + d) | 0)
  writeWord(out, at + 16, (H4 + e) | 0)
}

function writeWord(out: Uint8Array, at: number, v: number): void {
  out[at] = v >>> 24
  out[at + 1] = (v >>> 16) & 0xff
  out[at + 2] = (v >>> 8) & 0xff
  out[at + 3] = v & 0xff
}

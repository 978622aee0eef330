import { ipv6GroupsText } from '../decode/layers/format.js'
/**
 * Text forms of addresses kept as big-endian 32-bit words (the flow key's layout): dotted quad
 * for IPv4, RFC 5952 (lowercase, longest zero run compressed) for IPv6.
 */
const OCTET: string[] = []
for (let i = 0; i < 256; i++) OCTET.push(String(i))

export function ipv4Text(w: number): string {
  return OCTET[w >>> 24] + '.' + OCTET[(w >>> 16) & 0xff] + '.' + OCTET[(w >>> 8) & 0xff] + '.' + OCTET[w & 0xff]
}

export function ipv6Text(words: Uint32Array, o: number): string {
  const g: number[] = []
  for (let i = 0; i < 4; i++) g.push(words[o + i] >>> 16, words[o + i] & 0xffff)
  return ipv6GroupsText(g, () => ipv4Text(words[o + 3]))
}

/** Copy words back to bytes (for hashing). */
export function wordsToBytes(words: Uint32Array, o: number, n: number, out: Uint8Array, at: number): void {
  for (let i = 0; i < n; i++) {
    const w = words[o + i]
    out[at + 4 * i] = w >>> 24
    out[at + 4 * i + 1] = (w >>> 16) & 0xff
    out[at + 4 * i + 2] = (w >>> 8) & 0xff
    out[at + 4 * i + 3] = w & 0xff
  }
}

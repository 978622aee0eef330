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
  for (let i = 0; i < 4; i++) {
    g.push(words[o + i] >>> 16, words[o + i] & 0xffff)
  }
  // Longest run of two or more zero groups, first one on ties.
  let bestStart = -1
  let bestLen = 1
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && g[j] === 0) j++
    if (j - i > bestLen) { bestStart = i; bestLen = j - i }
    i = j
  }
  // IPv4-mapped addresses read better with a dotted tail, as inet_ntop writes them.
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${ipv4Text(words[o + 3])}`
  }
  const hex = (a: number, b: number) => g.slice(a, b).map((x) => x.toString(16)).join(':')
  if (bestStart < 0) return hex(0, 8)
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`
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

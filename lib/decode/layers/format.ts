/** Text forms of addresses and identifiers for the decoded-packet tree (allocating; not for the hot path). */

const HEX: string[] = []
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'))

/** "aa:bb:cc:dd:ee:ff" (any length, colon-separated hex bytes). */
export function macString(buf: Buffer, off: number, len = 6): string {
  let s = ''
  for (let i = 0; i < len; i++) s += (i ? ':' : '') + HEX[buf[off + i]]
  return s
}

export function ipv4String(buf: Buffer, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`
}

/** RFC 5952 text form: lower case, longest run (>= 2) of zero groups as "::", IPv4-mapped as ::ffff:a.b.c.d. */
export function ipv6String(buf: Buffer, off: number): string {
  const g: number[] = []
  for (let i = 0; i < 8; i++) g.push((buf[off + 2 * i] << 8) | buf[off + 2 * i + 1])
  return ipv6GroupsText(g, () => ipv4String(buf, off + 12))
}

/** RFC 5952 text of eight 16-bit groups; `v4Tail` gives the dotted tail of an IPv4-mapped address. */
export function ipv6GroupsText(g: number[], v4Tail: () => string): string {
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${v4Tail()}`
  }
  let bestStart = -1, bestLen = 1
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && g[j] === 0) j++
    if (j - i > bestLen) { bestStart = i; bestLen = j - i }
    i = j
  }
  if (bestStart < 0) return g.map((x) => x.toString(16)).join(':')
  const head = g.slice(0, bestStart).map((x) => x.toString(16)).join(':')
  const tail = g.slice(bestStart + bestLen).map((x) => x.toString(16)).join(':')
  return `${head}::${tail}`
}

export function hexString(buf: Buffer, off: number, end: number): string {
  let s = ''
  for (let i = off; i < end; i++) s += HEX[buf[i]]
  return s
}

/** Printable text of a TLV string value: stops at NUL, replaces control bytes. */
export function textString(buf: Buffer, off: number, end: number): string {
  let e = off
  while (e < end && buf[e] !== 0) e++
  return buf.toString('utf8', off, e).replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, '.')
}

const METHODS = ['GET ', 'POST ', 'HEAD ', 'PUT ', 'DELETE ', 'OPTIONS ', 'PATCH ', 'CONNECT ', 'TRACE ']
/** Stop looking for the header after this many bytes of request head. */
const MAX_HEAD = 8192

/**
 * RFC 9112 Host header of an HTTP/1.x request at the start of a TCP payload (value as sent,
 * whitespace trimmed, port kept). Bounds-checked, never throws; null when the bytes do not start
 * with a request line or no Host header appears before the end of the head or of this segment.
 */
export function httpRequestHost(buf: Uint8Array, start: number, end: number): string | null {
  if (end > buf.length) end = buf.length
  if (end > start + MAX_HEAD) end = start + MAX_HEAD
  if (end - start < 16) return null
  let method = false
  for (const m of METHODS) {
    let ok = true
    for (let i = 0; i < m.length && ok; i++) ok = buf[start + i] === m.charCodeAt(i)
    if (ok) { method = true; break }
  }
  if (!method) return null
  // Walk header lines: each starts after "\n"; an empty line ends the head.
  let p = start
  while (p < end && buf[p] !== 0x0a) p++
  p++
  while (p < end) {
    if (buf[p] === 0x0d || buf[p] === 0x0a) return null
    let e = p
    while (e < end && buf[e] !== 0x0a) e++
    if (e - p > 5 && (buf[p] | 0x20) === 0x68 && (buf[p + 1] | 0x20) === 0x6f && (buf[p + 2] | 0x20) === 0x73 &&
        (buf[p + 3] | 0x20) === 0x74 && buf[p + 4] === 0x3a) {
      if (e >= end) return null // header line cut by the segment end
      const v = Buffer.from(buf.buffer, buf.byteOffset + p + 5, e - p - 5).toString('latin1').trim()
      return v.length > 0 ? v : null
    }
    p = e + 1
  }
  return null
}

/**
 * RFC 1035 question name of a DNS message (query or answer): header, then QNAME labels.
 * Bounds-checked, never throws; null when the bytes are not a DNS message with a question.
 * Over TCP (RFC 1035 section 4.2.2) the message follows a 2-byte length prefix.
 */
export function dnsQuestionName(buf: Uint8Array, start: number, end: number): string | null {
  if (end > buf.length) end = buf.length
  if (start < 0 || end - start < 12 + 5) return null
  const qdcount = (buf[start + 4] << 8) | buf[start + 5]
  const opcode = (buf[start + 2] >>> 3) & 0x0f
  if (qdcount === 0 || opcode > 6) return null
  let p = start + 12
  let name = ''
  let jumps = 0
  let total = 0
  for (;;) {
    if (p >= end) return null
    const len = buf[p]
    if (len === 0) break
    if ((len & 0xc0) === 0xc0) {
      // Compression pointer (rare in a question, legal): follow, but never loop.
      if (p + 1 >= end || ++jumps > 16) return null
      const target = start + (((len & 0x3f) << 8) | buf[p + 1])
      if (target >= p) return null
      p = target
      continue
    }
    if ((len & 0xc0) !== 0) return null
    if (p + 1 + len > end) return null
    total += len + 1
    if (total > 255) return null
    if (name.length > 0) name += '.'
    name += Buffer.from(buf.buffer, buf.byteOffset + p + 1, len).toString('utf8')
    p += 1 + len
  }
  // QTYPE and QCLASS must follow the name when it was read without jumping.
  if (jumps === 0 && p + 5 > end) return null
  return name
}

export function dnsQuestionNameTcp(buf: Uint8Array, start: number, end: number): string | null {
  if (end > buf.length) end = buf.length
  if (end - start < 2) return null
  const len = (buf[start] << 8) | buf[start + 1]
  const msgEnd = Math.min(end, start + 2 + len)
  return dnsQuestionName(buf, start + 2, msgEnd)
}

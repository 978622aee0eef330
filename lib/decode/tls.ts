/**
 * RFC 8446/6066 server_name from a TLS ClientHello at the start of a TCP payload: record header
 * (type 22, version 3.x), handshake type 1, then past random, session id, cipher suites and
 * compression methods to the extensions. Bounds-checked at every step, never throws; null when
 * the bytes are not a ClientHello or it carries no host name (or it lies beyond this segment).
 */
export function tlsClientHelloSni(buf: Uint8Array, start: number, end: number): string | null {
  if (end > buf.length) end = buf.length
  let p = start
  if (end - p < 5 + 4 + 2 + 32 + 1) return null
  if (buf[p] !== 22 || buf[p + 1] !== 3 || buf[p + 2] > 4) return null
  const recEnd = Math.min(end, p + 5 + ((buf[p + 3] << 8) | buf[p + 4]))
  p += 5
  if (buf[p] !== 1) return null
  const hsEnd = Math.min(recEnd, p + 4 + ((buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]))
  p += 4 + 2 + 32
  if (p + 1 > hsEnd) return null
  p += 1 + buf[p] // session id
  if (p + 2 > hsEnd) return null
  p += 2 + ((buf[p] << 8) | buf[p + 1]) // cipher suites
  if (p + 1 > hsEnd) return null
  p += 1 + buf[p] // compression methods
  if (p + 2 > hsEnd) return null
  const extEnd = Math.min(hsEnd, p + 2 + ((buf[p] << 8) | buf[p + 1]))
  p += 2
  while (p + 4 <= extEnd) {
    const type = (buf[p] << 8) | buf[p + 1]
    const len = (buf[p + 2] << 8) | buf[p + 3]
    p += 4
    if (p + len > extEnd) return null
    if (type === 0) return serverName(buf, p, p + len)
    p += len
  }
  return null
}

function serverName(buf: Uint8Array, p: number, end: number): string | null {
  if (p + 2 > end) return null
  const listEnd = Math.min(end, p + 2 + ((buf[p] << 8) | buf[p + 1]))
  p += 2
  while (p + 3 <= listEnd) {
    const type = buf[p]
    const len = (buf[p + 1] << 8) | buf[p + 2]
    p += 3
    if (p + len > listEnd) return null
    if (type === 0 && len > 0) return Buffer.from(buf.buffer, buf.byteOffset + p, len).toString('latin1')
    p += len
  }
  return null
}

/**
 * Peer-supplied text (host names, sensor ids, sources from batch headers) made safe for a log
 * line, a counter line or a pcapng interface name: a sender controls those bytes, and a newline
 * or an escape sequence in them would forge log lines or drive the reader's terminal.
 *
 * Escaped: C0 controls, DEL and ESC as `\xNN` (so no ANSI sequence survives, whatever follows the
 * ESC), C1 controls (U+0080-U+009F, which some terminals take as CSI/OSC) and the Unicode line
 * separators and bidirectional overrides (U+2028/9, U+200E/F, U+202A-E, U+2066-9, which reorder
 * or split what a reader sees) as `\uNNNN`, invalid UTF-8 bytes as `\xNN`, lone surrogates as
 * `\uNNNN`, and the backslash itself as `\\`, so an escape in the output always means one in the
 * input. The result is cut to `maxChars` characters with a marker saying how much was left out.
 */
export const SANITIZE_MAX_CHARS = 256

const hex2 = (n: number) => n.toString(16).padStart(2, '0')
const hex4 = (n: number) => n.toString(16).padStart(4, '0')

function needsEscape(cp: number): boolean {
  return cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp === 0x200e || cp === 0x200f ||
    cp === 0x2028 || cp === 0x2029 || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
    (cp >= 0xd800 && cp <= 0xdfff)
}

function escapeCodePoint(cp: number): string {
  if (cp === 0x5c) return '\\\\'
  if (!needsEscape(cp)) return String.fromCodePoint(cp)
  return cp < 0x80 ? `\\x${hex2(cp)}` : `\\u${hex4(cp)}`
}

/** Length of the valid UTF-8 sequence at b[i] (1-4), or 0 when the byte there starts none. */
function utf8SequenceLength(b: Uint8Array, i: number): number {
  const c = b[i]!
  if (c < 0x80) return 1
  const cont = (k: number) => i + k < b.length && (b[i + k]! & 0xc0) === 0x80
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0
    const c1 = b[i + 1]!
    if (c === 0xe0 && c1 < 0xa0) return 0 // overlong
    if (c === 0xed && c1 >= 0xa0) return 0 // UTF-16 surrogate
    return 3
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0
    const c1 = b[i + 1]!
    if (c === 0xf0 && c1 < 0x90) return 0 // overlong
    if (c === 0xf4 && c1 >= 0x90) return 0 // past U+10FFFF
    return 4
  }
  return 0
}

function decodeAt(b: Uint8Array, i: number, n: number): number {
  const c = b[i]!
  if (n === 1) return c
  if (n === 2) return ((c & 0x1f) << 6) | (b[i + 1]! & 0x3f)
  if (n === 3) return ((c & 0x0f) << 12) | ((b[i + 1]! & 0x3f) << 6) | (b[i + 2]! & 0x3f)
  return ((c & 0x07) << 18) | ((b[i + 1]! & 0x3f) << 12) | ((b[i + 2]! & 0x3f) << 6) | (b[i + 3]! & 0x3f)
}

/**
 * Peer text (a string, or raw bytes that should be UTF-8) as one safe line fragment of at most
 * `maxChars` characters (UTF-16 units), cut marker included.
 */
export function sanitize(input: string | Uint8Array, maxChars = SANITIZE_MAX_CHARS): string {
  const text = typeof input === 'string'
  const total = input.length
  let out = ''
  // Output length and input offset after each piece, to cut between pieces, never inside an escape.
  const outAt: number[] = [0]
  const inAt: number[] = [0]
  let i = 0
  while (i < total) {
    let piece: string
    let step: number
    if (text) {
      const cp = input.codePointAt(i)!
      piece = escapeCodePoint(cp)
      step = cp > 0xffff ? 2 : 1
    } else {
      const n = utf8SequenceLength(input, i)
      piece = n === 0 ? `\\x${hex2(input[i]!)}` : escapeCodePoint(decodeAt(input, i, n))
      step = n === 0 ? 1 : n
    }
    if (out.length + piece.length > maxChars) {
      let k = outAt.length - 1
      let marker = ''
      for (; k > 0; k--) {
        marker = `...(${total - inAt[k]!} more ${text ? 'chars' : 'bytes'})`
        if (outAt[k]! + marker.length <= maxChars) break
      }
      if (k === 0) marker = `...(${total} more ${text ? 'chars' : 'bytes'})`
      return (out.slice(0, outAt[k]) + marker).slice(0, maxChars)
    }
    out += piece
    i += step
    outAt.push(out.length)
    inAt.push(i)
  }
  return out
}

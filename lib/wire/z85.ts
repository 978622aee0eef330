import { codedError } from '../util/errors.js'

/** Z85 (ZeroMQ RFC 32): the text form of CURVE keys in certificates and socket options. */
const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#'
const DECODE = new Int16Array(128).fill(-1)
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i

export function z85Encode(data: Buffer): string {
  if (data.length % 4 !== 0) throw codedError(`Z85 needs a multiple of 4 bytes, got ${data.length}`, 'EZ85')
  let out = ''
  for (let i = 0; i < data.length; i += 4) {
    let v = data.readUInt32BE(i)
    const chunk = new Array<string>(5)
    for (let k = 4; k >= 0; k--) {
      chunk[k] = ALPHABET[v % 85]!
      v = Math.floor(v / 85)
    }
    out += chunk.join('')
  }
  return out
}

/** Throws EZ85 on a length that is not a multiple of 5, a character outside the alphabet or an overflow. */
export function z85Decode(text: string): Buffer {
  if (text.length % 5 !== 0) throw codedError(`Z85 text must be a multiple of 5 characters, got ${text.length}`, 'EZ85')
  const out = Buffer.alloc((text.length / 5) * 4)
  for (let i = 0, o = 0; i < text.length; i += 5, o += 4) {
    let v = 0
    for (let k = 0; k < 5; k++) {
      const c = text.charCodeAt(i + k)
      const d = c < 128 ? DECODE[c]! : -1
      if (d < 0) throw codedError(`Z85 text has a character outside its alphabet at ${i + k}`, 'EZ85')
      v = v * 85 + d
    }
    if (v > 0xffffffff) throw codedError('Z85 group overflows 32 bits', 'EZ85')
    out.writeUInt32BE(v, o)
  }
  return out
}

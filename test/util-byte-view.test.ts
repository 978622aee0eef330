import test from 'ava'
import { copyBytes, viewOf } from '../lib/util/byte-view.js'

const pattern = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff))

test('copyBytes copies every length (words, tail bytes, memcpy) at any alignment, and returns the end', (t) => {
  const src = pattern(700, 7)
  const sv = viewOf(src)
  for (const n of [0, 1, 3, 4, 5, 63, 64, 65, 255, 256, 257, 600]) {
    for (const [o, start] of [[0, 0], [1, 2], [3, 5], [6, 1]] as const) {
      const dst = Buffer.alloc(800, 0xee)
      const end = copyBytes(dst, viewOf(dst), o, src, sv, start, start + n)
      t.is(end, o + n)
      t.deepEqual(dst.subarray(o, o + n), src.subarray(start, start + n), `n=${n} o=${o} start=${start}`)
      t.is(dst[o + n], 0xee, 'nothing past the end is written')
      if (o > 0) t.is(dst[o - 1], 0xee, 'nothing before the start is written')
    }
  }
})

test('copyBytes moves forward within one buffer when the target is at least 4 bytes below the source', (t) => {
  for (const n of [1, 7, 60, 200]) {
    for (const gap of [4, 5, 8]) {
      const b = pattern(400, 3)
      const want = Buffer.from(b.subarray(100, 100 + n))
      const v = viewOf(b)
      copyBytes(b, v, 100 - gap, b, v, 100, 100 + n)
      t.deepEqual(b.subarray(100 - gap, 100 - gap + n), want, `n=${n} gap=${gap}`)
    }
  }
})

test('viewOf covers exactly the Buffer it is given, pooled slices included', (t) => {
  const big = Buffer.from('0123456789abcdef')
  const slice = big.subarray(4, 8)
  const v = viewOf(slice)
  t.is(v.byteLength, 4)
  t.is(v.getUint8(0), '4'.charCodeAt(0))
  t.throws(() => v.getUint8(4), { instanceOf: RangeError })
})

import type { ExecutionContext } from 'ava'

/**
 * The one truncation check every codec gets: decoding every prefix of a valid encoding must either
 * succeed or fail with a coded error, never with an untyped exception (RangeError and friends).
 */
export function assertTruncationsFailCleanly(t: ExecutionContext, encoded: Buffer, decode: (b: Buffer) => unknown, codePrefix: string): void {
  for (let n = 0; n < encoded.length; n++) {
    try {
      decode(encoded.subarray(0, n))
    } catch (err) {
      const code = (err as { code?: unknown }).code
      if (typeof code !== 'string' || !code.startsWith(codePrefix)) {
        t.fail(`prefix of ${n} bytes threw ${String(err)} (code ${String(code)})`)
        return
      }
    }
  }
  t.pass()
}

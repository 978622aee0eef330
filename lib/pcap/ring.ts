/**
 * The last N bytes of encoded packet records (--buffer-window), oldest dropped first; served as a
 * whole capture by the buffer interface.
 */
export interface Ring {
  push(chunk: Buffer): void
  /** Preamble + every chunk held, as one capture. */
  dump(preamble: Buffer): Buffer
  readonly bytes: number
}

export function createRing(limit: number): Ring {
  const chunks: Buffer[] = []
  let head = 0
  let bytes = 0
  return {
    get bytes() { return bytes },
    push(chunk) {
      if (limit <= 0 || chunk.length === 0) return
      chunks.push(chunk)
      bytes += chunk.length
      while (bytes > limit && head < chunks.length - 1) {
        bytes -= chunks[head]!.length
        chunks[head] = undefined as unknown as Buffer
        head += 1
      }
      // Compact occasionally so the array does not grow without bound.
      if (head > 1024 && head * 2 > chunks.length) {
        chunks.splice(0, head)
        head = 0
      }
    },
    dump(preamble) {
      return Buffer.concat([preamble, ...chunks.slice(head)])
    },
  }
}

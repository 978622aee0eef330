import { MAX_PREAMBLE_BYTES } from './encoder.js'

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

/** Largest --buffer-window, MiB (lib/cli/recv-options.ts enforces it). */
export const MAX_BUFFER_WINDOW_MIB = 1024

/**
 * ZMQ_MAXMSGSIZE for buffer dumps (pcap-zmq-query): a dump is a preamble and at most
 * --buffer-window bytes of whole chunks (the ring never holds more, see createRing).
 */
export const MAX_DUMP_MESSAGE = MAX_PREAMBLE_BYTES + MAX_BUFFER_WINDOW_MIB * 1024 * 1024

/**
 * Whole chunks only, and never more than `limit` bytes of them: a dump is then at most the
 * preamble and `limit`, which is what the buffer interface's memory bounds rest on. A chunk
 * larger than the whole window (one huge batch with a small window) is not kept.
 */
export function createRing(limit: number): Ring {
  const chunks: Buffer[] = []
  let head = 0
  let bytes = 0
  return {
    get bytes() { return bytes },
    push(chunk) {
      if (limit <= 0 || chunk.length === 0 || chunk.length > limit) return
      chunks.push(chunk)
      bytes += chunk.length
      while (bytes > limit) {
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

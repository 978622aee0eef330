/**
 * Rate control of the original pcap-zmq-send: the input rate is measured over windows of
 * `window` bytes; above the low watermark batches are squashed and zlib-compressed, above the
 * high watermark packets are dropped. Unlike the original, which dropped everything while over
 * the high watermark, the excess alone is dropped: up to `hwm` bytes/s still go out, compressed.
 */
export type ShaperMode = 'send' | 'compress' | 'drop'

export interface ShaperOptions {
  /** Bytes/s; 0 disables the watermark. */
  lwm: number
  hwm: number
  /** Bytes between rate recomputations. */
  window: number
}

export interface Shaper {
  /** Accounts one packet of `bytes`; true when it may be sent, false when it is dropped. */
  admit(bytes: number): boolean
  /** Whether batches are compressed now. */
  readonly compress: boolean
  readonly mode: ShaperMode
  /** Last measured input rate, bytes/s. */
  readonly rate: number
}

/** Original defaults: --lwm 1 MiB/s, --hwm 5 MiB/s, --wm-interval max(2 * hwm, 4 * lwm) MiB. */
export function defaultWindow(lwm: number, hwm: number): number {
  return Math.max(2 * hwm, 4 * lwm)
}

export function createShaper(opts: ShaperOptions, nowMs: () => number = () => performance.now()): Shaper {
  let mode: ShaperMode = 'send'
  let rate = 0
  let windowBytes = 0
  let windowStart = nowMs()
  // Budget of bytes that may still go out in drop mode during this window.
  let budget = 0
  const enabled = opts.lwm > 0 || opts.hwm > 0

  function recompute(now: number): void {
    const elapsed = Math.max(now - windowStart, 1) / 1000
    rate = windowBytes / elapsed
    if (opts.hwm > 0 && rate > opts.hwm) {
      mode = 'drop'
      budget = opts.hwm * elapsed
    } else if (opts.lwm > 0 && rate > opts.lwm) {
      mode = 'compress'
    } else {
      mode = 'send'
    }
    windowBytes = 0
    windowStart = now
  }

  return {
    get compress() { return mode !== 'send' },
    get mode() { return mode },
    get rate() { return rate },
    admit(bytes: number): boolean {
      if (!enabled) return true
      windowBytes += bytes
      if (windowBytes > opts.window) recompute(nowMs())
      if (mode !== 'drop') return true
      if (budget >= bytes) {
        budget -= bytes
        return true
      }
      return false
    },
  }
}

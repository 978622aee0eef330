/**
 * Fixed-width reads and writes on per-packet paths go through a DataView over the Buffer's bytes.
 * In Node 20 a DataView get/set compiles to a plain load or store, while Buffer#readUInt32BE and
 * friends cost about ten times as much per call, and byte-by-byte loops about three times
 * (measured in scripts/bench/send-path.ts). Views are made once per buffer (a ring, a batch, a
 * receive buffer), never per packet.
 */
export function viewOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength)
}

/** Below this, copying by words through the views beats Buffer#copy's per-call cost. */
const SHORT_COPY = 256

/**
 * Copies src[start,end) to dst at o and returns the end offset; `dv` and `sv` are views of dst and
 * src. Short runs by 32-bit words, long ones by memcpy. Safe in place when the target is at least 4
 * bytes below the source (each word is read before it is written), as a forward move is.
 */
export function copyBytes(dst: Buffer, dv: DataView, o: number, src: Buffer, sv: DataView, start: number, end: number): number {
  const n = end - start
  if (n >= SHORT_COPY) return o + src.copy(dst, o, start, end)
  let k = 0
  for (; k + 4 <= n; k += 4) dv.setUint32(o + k, sv.getUint32(start + k))
  for (; k < n; k++) dv.setUint8(o + k, sv.getUint8(start + k))
  return o + n
}

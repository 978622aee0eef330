/**
 * Splits a 64-bit tick count (pcapng EPB timestamp high/low words) into whole seconds and
 * nanoseconds without BigInt, so the per-packet path allocates nothing. `unitsPerSec` <= 1e9.
 * Long division in base 2^16 keeps every intermediate below 2^53.
 */
export function splitTicks(high: number, low: number, unitsPerSec: number, out: { sec: number; nsec: number }): void {
  const qh = Math.floor(high / unitsPerSec)
  let r = high - qh * unitsPerSec
  const n1 = r * 65536 + (low >>> 16)
  const q1 = Math.floor(n1 / unitsPerSec)
  r = n1 - q1 * unitsPerSec
  const n2 = r * 65536 + (low & 0xffff)
  const q2 = Math.floor(n2 / unitsPerSec)
  r = n2 - q2 * unitsPerSec
  out.sec = qh * 4294967296 + q1 * 65536 + q2
  out.nsec = unitsPerSec === 1e9 ? r : Math.round((r * 1e9) / unitsPerSec)
}

/** Inverse of splitTicks for writing: ticks = sec * units + nsec scaled, as high/low words. */
export function joinTicks(sec: number, nsec: number, unitsPerSec: number, out: { high: number; low: number }): void {
  // sec * units can exceed 2^53 for nanoseconds; multiply in two 16-bit halves of `sec`.
  const frac = unitsPerSec === 1e9 ? nsec : Math.floor((nsec * unitsPerSec) / 1e9)
  const secHi = Math.floor(sec / 65536)
  const secLo = sec - secHi * 65536
  const a = secHi * unitsPerSec // < 2^48 for sec < 2^48
  const b = secLo * unitsPerSec + frac // < 2^46
  // total = a * 65536 + b
  const aHi = Math.floor(a / 65536)
  const aLo = a - aHi * 65536
  const low32 = aLo * 65536 + b // may exceed 2^32: carry into high
  const carry = Math.floor(low32 / 4294967296)
  out.low = low32 - carry * 4294967296
  out.high = aHi + carry
}

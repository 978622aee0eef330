/**
 * Event values checked and coerced before they go to a store, so a server never rejects a row or
 * a point for its content (which would keep the batch in the spool for ever): a value of the wrong
 * type, out of range or unparseable becomes null, and strings are made valid Unicode and bounded.
 */

/** Longest string kept per value (UTF-16 units): InfluxDB 1.x refuses string fields over 64 KB. */
export const MAX_TEXT = 16384

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g')
/** The cheap first look (the lookbehind above is slow to run on every string). */
const ANY_SURROGATE = /[\ud800-\udfff]/

/** A string as valid Unicode (lone surrogates, which ClickHouse's JSON reader refuses, as U+FFFD), cut to MAX_TEXT. */
export function text(v: unknown): string | null {
  if (typeof v !== 'string') return null
  let s = v.length > MAX_TEXT ? v.slice(0, MAX_TEXT) : v
  if (ANY_SURROGATE.test(s) && LONE_SURROGATE.test(s)) s = s.replace(LONE_SURROGATES, '\ufffd')
  return s
}

/** An integer in [min, max] (both within 2^53), else null. */
export function int(v: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): number | null {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max ? v : null
}

export function float(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null
}

const TIME_RE = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z?$/

/**
 * PokieStream's timestamp text (UTC "%Y-%m-%dT%H:%M:%S.%f", also with a Z or more digits) as
 * microseconds since the epoch, or null when it is not one (or before 1970).
 */
export function microseconds(v: unknown): number | null {
  if (typeof v !== 'string') return null
  const m = TIME_RE.exec(v)
  if (!m) return null
  const ms = Date.parse(`${m[1]}T${m[2]}Z`)
  if (!Number.isFinite(ms) || ms < 0) return null
  return ms * 1000 + Number((m[3] ?? '').slice(0, 6).padEnd(6, '0'))
}

/** payload as JSON text (null stays null). */
export function json(v: unknown): string | null {
  if (v === null || v === undefined) return null
  try {
    return text(JSON.stringify(v) ?? null)
  } catch {
    return null
  }
}

import { sessionEvents } from './plugin-proc.js'

/** Text no store may choke on: quotes, separators of line protocol and CSV, newlines, backslashes, NUL, controls, non-BMP and a lone surrogate. */
export const NASTY = 'a"b\'c,d=e f\\g\nh\r\ti\u0000j\u001b[31mk\\\\ \u2028l\ud83d\ude00m\\'
export const LONE = 'x\ud800y'

/**
 * Events with hostile values in every text field, numbers far out of range or of the wrong type,
 * then ordinary ones: all must be stored, the nasty text as it was (a lone surrogate as U+FFFD),
 * the impossible numbers as nothing, and the ordinary events must not be held up by them.
 */
export function hostileEvents(): Record<string, unknown>[] {
  const base = sessionEvents(8, 8)
  const odd: Record<string, unknown>[] = [
    { history: NASTY, tcp_state: LONE, reason: '"', community_id: '\\', sensor: NASTY, payload: { dns: NASTY, n: 1e308 } },
    { orig_packets: 1e30, orig_bytes: -5, reply_packets: 1.5, reply_bytes: '12', duration: 'soon', protocol_num: 999 },
    { orig_packets: Number.MAX_SAFE_INTEGER, duration: 1e300, sensor: '', protocol_name: 'T C,P=\\', state: 'EST\nABLISHED' },
    { timestamp: 'not a time', first_seen: 'x', last_seen: 42, history: 'x'.repeat(100_000) },
  ]
  return base.map((e, i) => ({ ...e, ...(odd[i] ?? {}) }))
}

import { createHash } from 'node:crypto'
import type { SessionEvent } from '../event.js'
import { float, int, json, microseconds, text } from './coerce.js'

/**
 * InfluxDB line protocol for session events: `measurement,tags fields time`.
 *
 * Tags are the low-cardinality columns a query groups by: protocol_name, sensor, state (sorted by
 * key, as InfluxDB stores them). session_id is a string field, not a tag: every session would
 * otherwise be a series of its own, and a busy sensor passes InfluxDB 1.x's default
 * max-series-per-database (1,000,000) within a day, after which every write is refused.
 *
 * A point is identified by measurement + tag set + time, and a second point with the same three
 * replaces the first. So the time carries the identity: the event's own microsecond times 1000,
 * plus a nanosecond slot (0-999) that PointTimes derives from the event's content. A redelivered
 * event (the spool retries whole batches) gets the same time and overwrites itself; two different
 * events stamped in the same microsecond with the same tags get different slots.
 */

/**
 * Tag values: `,` `=` and space escaped with a backslash. A backslash of the value's own cannot be
 * written safely (InfluxDB 1.6 refuses a tag value ending in one), nor can control and format
 * characters: they become `_`. Tags are short names (sensor, protocol, state), cut to 256.
 */
const PLAIN_TAG = /^[A-Za-z0-9_.:/+-]*$/

function tagValue(v: unknown): string | null {
  const s = text(v)
  if (s === null || s === '') return null
  if (s.length <= 256 && PLAIN_TAG.test(s)) return s
  return s.slice(0, 256).replace(/[\\\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, '_').replace(/[,= ]/g, (c) => `\\${c}`)
}

/** String field values: only `"` and `\` are special inside the quotes (newlines and NUL are stored as they are). */
const str = (s: string) => (s.includes('"') || s.includes('\\') ? `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"` : `"${s}"`)

const STRING_FIELDS = ['src_ip', 'dst_ip', 'timestamp', 'first_seen', 'last_seen', 'tcp_state', 'history', 'reason', 'community_id'] as const
const COUNT_FIELDS = ['orig_packets', 'orig_bytes', 'reply_packets', 'reply_bytes'] as const

/** The field set; session_id is always there (the runner admits no event without it), so a point never has no field. */
function fields(e: SessionEvent): string {
  const out = [`session_id=${str(text(e.session_id) ?? '')}`]
  for (const k of STRING_FIELDS) {
    const v = text(e[k])
    if (v !== null) out.push(`${k}=${str(v)}`)
  }
  const port = (k: 'src_port' | 'dst_port') => {
    const v = int(e[k], 0, 65535)
    if (v !== null) out.push(`${k}=${v}i`)
  }
  port('src_port')
  port('dst_port')
  const proto = int(e.protocol_num, 0, 255)
  if (proto !== null) out.push(`protocol_num=${proto}i`)
  for (const k of COUNT_FIELDS) {
    const v = int(e[k])
    if (v !== null) out.push(`${k}=${v}i`)
  }
  const d = float(e.duration)
  if (d !== null) out.push(`duration=${d}`)
  const p = json(e.payload)
  if (p !== null) out.push(`payload=${str(p)}`)
  return out.join(',')
}

/** Where an event's time comes from when its timestamp is not one: last_seen, first_seen, else the epoch. */
function eventMicros(e: SessionEvent): number {
  return microseconds(e.timestamp) ?? microseconds(e.last_seen) ?? microseconds(e.first_seen) ?? 0
}

/**
 * Nanosecond slots per microsecond and tag set. The home slot is a hash of the event; a slot
 * already taken by a different event (remembered for the last `maxGroups` microsecond groups)
 * sends it to the next free one, while the same event finds its own slot again. The slots follow
 * from the events and their order alone, so a new process given the same events in the same
 * order (the spool replays in order) assigns the same times. What it cannot know after a restart
 * is a group begun before the events it replays: an event moved off its home slot then, when the
 * first event of its group was delivered just before the crash and it just after, lands on that
 * first event's slot. That takes two events of one tag set in one microsecond hashing alike
 * (1 in 1000), split by the crash.
 */
export class PointTimes {
  private readonly groups = new Map<string, Map<number, string>>()

  constructor(private readonly maxGroups = 200_000) {}

  time(tags: string, us: number, digest: Buffer): string {
    const id = digest.toString('base64')
    const key = `${us} ${tags}`
    let slots = this.groups.get(key)
    if (!slots) {
      if (this.groups.size >= this.maxGroups) this.groups.delete(this.groups.keys().next().value as string)
      slots = new Map()
      this.groups.set(key, slots)
    }
    const home = digest.readUInt32BE(0) % 1000
    let slot = home
    for (let i = 0; i < 1000; i++) {
      const s = (home + i) % 1000
      const owner = slots.get(s)
      if (owner === undefined) { slots.set(s, id); slot = s; break }
      if (owner === id) { slot = s; break }
    }
    // us * 1000 + slot, as text: the product passes 2^53.
    return us === 0 ? String(slot) : `${us}${String(slot).padStart(3, '0')}`
  }
}

/** One event as one line (no newline can occur in it outside a quoted string). */
export function eventLine(measurement: string, e: SessionEvent, times: PointTimes): string {
  let tags = ''
  for (const [k, v] of [['protocol_name', e.protocol_name], ['sensor', e.sensor], ['state', e.state]] as const) {
    const t = tagValue(v)
    if (t !== null) tags += `,${k}=${t}`
  }
  // The whole event as the runner has it: a redelivery is byte for byte the same JSON.
  const digest = createHash('sha1').update(JSON.stringify(e)).digest()
  return `${measurement}${tags} ${fields(e)} ${times.time(tags, eventMicros(e), digest)}`
}

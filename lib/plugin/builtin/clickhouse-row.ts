import { createHash } from 'node:crypto'
import type { SessionEvent } from '../event.js'
import { float, int, json, microseconds, text } from './coerce.js'

/**
 * The table: [column, ClickHouse type], in the order rows are written. ClickHouse 18.16 has no
 * DateTime64, so the event's time is `timestamp` (DateTime, seconds, for partitions and readable
 * queries) beside `timestamp_us` (UInt64 microseconds, exact). Nullable columns hold values that
 * were missing or not of the expected type; the sorting key's columns are never null.
 */
export const CH_COLUMNS: [string, string][] = [
  ['session_id', 'String'], ['timestamp', 'DateTime'], ['timestamp_us', 'UInt64'], ['event_key', 'UInt64'],
  ['state', 'String'], ['src_ip', 'String'], ['dst_ip', 'String'], ['src_port', 'Nullable(UInt16)'],
  ['dst_port', 'Nullable(UInt16)'], ['protocol_num', 'Nullable(UInt8)'], ['protocol_name', 'String'],
  ['sensor', 'Nullable(String)'], ['orig_packets', 'Nullable(UInt64)'], ['orig_bytes', 'Nullable(UInt64)'],
  ['reply_packets', 'Nullable(UInt64)'], ['reply_bytes', 'Nullable(UInt64)'], ['first_seen_us', 'Nullable(UInt64)'],
  ['last_seen_us', 'Nullable(UInt64)'], ['duration', 'Nullable(Float64)'], ['tcp_state', 'Nullable(String)'],
  ['history', 'Nullable(String)'], ['reason', 'Nullable(String)'], ['community_id', 'Nullable(String)'],
  ['payload', 'Nullable(String)'],
]

/** Largest second a DateTime (UInt32) holds. */
const MAX_SECOND = 0xffffffff

/**
 * One event as one JSONEachRow line. `event_key` is 64 bits of a hash of the whole event as the
 * runner has it, so a redelivered event (byte for byte the same JSON) has the same sorting key
 * (session_id, timestamp_us, event_key) and ReplacingMergeTree keeps one of the copies.
 */
export function eventRow(e: SessionEvent): string {
  const digest = createHash('sha1').update(JSON.stringify(e)).digest()
  let us = microseconds(e.timestamp) ?? 0
  if (us / 1e6 > MAX_SECOND) us = 0
  const count = (v: unknown) => int(v)
  const row = {
    session_id: text(e.session_id) ?? '', timestamp: Math.floor(us / 1e6), timestamp_us: us,
    // UInt64 beyond 2^53 as a decimal string: ClickHouse reads quoted numbers, JSON numbers would lose bits.
    event_key: digest.readBigUInt64BE(0).toString(),
    state: text(e.state) ?? '', src_ip: text(e.src_ip) ?? '', dst_ip: text(e.dst_ip) ?? '',
    src_port: int(e.src_port, 0, 65535), dst_port: int(e.dst_port, 0, 65535), protocol_num: int(e.protocol_num, 0, 255),
    protocol_name: text(e.protocol_name) ?? '', sensor: text(e.sensor),
    orig_packets: count(e.orig_packets), orig_bytes: count(e.orig_bytes), reply_packets: count(e.reply_packets),
    reply_bytes: count(e.reply_bytes), first_seen_us: microseconds(e.first_seen), last_seen_us: microseconds(e.last_seen),
    duration: float(e.duration), tcp_state: text(e.tcp_state), history: text(e.history), reason: text(e.reason),
    community_id: text(e.community_id), payload: json(e.payload),
  }
  return JSON.stringify(row)
}

/**
 * Session events as pcap-zmq-track emits them (docs/contracts: PokieStream's ten fields first,
 * then the extras). The runner checks the ten fields' types once, at the door, so plugins never
 * see a malformed event.
 */
export interface SessionEvent {
  src_ip: string
  dst_ip: string
  src_port: number | null
  dst_port: number | null
  protocol_num: number
  protocol_name: string
  state: string
  timestamp: string
  session_id: string
  payload: Record<string, unknown> | null
  [extra: string]: unknown
}

/** PokieStream's packet-log fields, in its order (plain.py builds a namedtuple from exactly these). */
export const POKIESTREAM_FIELDS = [
  'src_ip', 'dst_ip', 'src_port', 'dst_port', 'protocol_num', 'protocol_name',
  'state', 'timestamp', 'session_id', 'payload',
] as const

const isPort = (v: unknown) => v === null || (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535)

/** True when `v` is an object carrying the ten fields with the contract's types. */
export function isSessionEvent(v: unknown): v is SessionEvent {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
  const e = v as Record<string, unknown>
  return typeof e.src_ip === 'string' && typeof e.dst_ip === 'string' &&
    isPort(e.src_port) && isPort(e.dst_port) &&
    typeof e.protocol_num === 'number' && Number.isInteger(e.protocol_num) &&
    typeof e.protocol_name === 'string' && typeof e.state === 'string' &&
    typeof e.timestamp === 'string' && typeof e.session_id === 'string' && e.session_id.length > 0 &&
    (e.payload === null || (typeof e.payload === 'object' && !Array.isArray(e.payload)))
}

/** Only PokieStream's ten fields, for plugins written against PokieStream's packet log. */
export function pokieStreamView(e: SessionEvent): SessionEvent {
  return {
    src_ip: e.src_ip, dst_ip: e.dst_ip, src_port: e.src_port, dst_port: e.dst_port,
    protocol_num: e.protocol_num, protocol_name: e.protocol_name, state: e.state,
    timestamp: e.timestamp, session_id: e.session_id, payload: e.payload,
  }
}

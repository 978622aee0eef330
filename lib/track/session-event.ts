import { communityIdHash, communityIdText, type FlowTuple } from './community-id.js'
import { ipv4Text, ipv6Text, wordsToBytes } from './ip-text.js'
import { protocolName } from './protocols.js'
import { F_CID, F_ORIG_B, HISTORY_LEN, KEY_WORDS, type SessionStore } from './session-store.js'
import { TCP_STATE_NAMES } from './tcp-states.js'
import { formatTimestamp } from './timestamp.js'
import { formatUuid, UUID_STORED } from './uuid7.js'

export { formatTimestamp }

export type EventState = 'NEW' | 'ESTABLISHED' | 'REPLIED' | 'CLOSE' | 'ABORT' | 'EXPIRED' | 'DESTROY'
/** `reused`: a new connection (a SYN) took the tuple of a closed one, whose DESTROY this is. */
export type EndReason = null | 'fin' | 'rst' | 'idle' | 'evicted' | 'eof' | 'reused'

/** One session event: PokieStream's ten fields first (same names and meaning), then ours. */
export interface SessionEvent {
  src_ip: string
  dst_ip: string
  src_port: number | null
  dst_port: number | null
  protocol_num: number
  protocol_name: string
  state: EventState
  timestamp: string
  session_id: string
  payload: null | { dns: string } | { sni: string } | { host: string }
  sensor: string | null
  orig_packets: number
  orig_bytes: number
  reply_packets: number
  reply_bytes: number
  first_seen: string
  last_seen: string
  duration: number
  tcp_state: string | null
  history: string
  reason: EndReason
  community_id: string
}

/** History letter codes 1..8 (originator, uppercase), 9..16 (responder), 17 the flip mark. */
export const HISTORY_LETTERS = ' SHADFRCQshadfrcq^'

const addrScratch = new Uint8Array(32)
/** Reused for every event's Community ID (originator's addresses copied into addrScratch). */
const tuple: FlowTuple = {
  ipVersion: 4, proto: 0, src: addrScratch, srcOffset: 0, dst: addrScratch, dstOffset: 16, srcPort: 0, dstPort: 0, icmpType: 0, icmpCode: 0,
}

export function buildEvent(
  s: SessionStore, row: number, state: EventState, atUs: number, reason: EndReason, sensors: (string | null)[],
): SessionEvent {
  const o = row * KEY_WORDS
  const w0 = s.keys[o]
  const proto = w0 & 0xff
  const v6 = ((w0 >>> 8) & 0xff) === 6
  const kind = (w0 >>> 16) & 0xff
  const origB = (s.flags[row] & F_ORIG_B) !== 0
  const so = origB ? o + 5 : o + 1
  const dO = origB ? o + 1 : o + 5
  const ports = s.keys[o + 9]
  const portA = ports >>> 16
  const portB = ports & 0xffff
  const isPortProto = kind === 0 && (proto === 6 || proto === 17 || proto === 132 || proto === 136 || proto === 33)
  const srcPort = isPortProto ? (origB ? portB : portA) : null
  const dstPort = isPortProto ? (origB ? portA : portB) : null
  if ((s.flags[row] & F_CID) === 0) {
    const n = v6 ? 4 : 1
    wordsToBytes(s.keys, so, n, addrScratch, 0)
    wordsToBytes(s.keys, dO, n, addrScratch, 16)
    const icmp = s.icmpOf(row)
    const t = tuple
    t.ipVersion = v6 ? 6 : 4
    t.proto = proto
    t.srcPort = srcPort ?? 0
    t.dstPort = dstPort ?? 0
    t.icmpType = icmp >>> 8
    t.icmpCode = icmp & 0xff
    communityIdHash(t, s.cidHash, row * 20)
    s.flags[row] |= F_CID
  }
  const cid = communityIdText(s.cidHash, row * 20)
  let history = ''
  for (let i = row * HISTORY_LEN, end = i + HISTORY_LEN; i < end && s.history[i] !== 0; i++) {
    history += HISTORY_LETTERS[s.history[i]]
  }
  const p = s.payload.get(row)
  let payload: SessionEvent['payload'] = null
  if (p !== undefined) {
    const cut = p.indexOf(':')
    const k = p.slice(0, cut)
    const v = p.slice(cut + 1)
    payload = k === 'dns' ? { dns: v } : k === 'sni' ? { sni: v } : { host: v }
  }
  const first = s.firstUs[row]
  const last = s.lastUs[row]
  return {
    src_ip: v6 ? ipv6Text(s.keys, so) : ipv4Text(s.keys[so]),
    dst_ip: v6 ? ipv6Text(s.keys, dO) : ipv4Text(s.keys[dO]),
    src_port: srcPort,
    dst_port: dstPort,
    protocol_num: proto,
    protocol_name: protocolName(proto),
    state,
    timestamp: formatTimestamp(atUs),
    session_id: formatUuid(Math.floor(s.firstUs[row] / 1000), s.uuid, row * UUID_STORED),
    payload,
    sensor: sensors[s.sensor[row]] ?? null,
    orig_packets: s.packets[2 * row],
    orig_bytes: s.bytesOf(row, 0),
    reply_packets: s.packets[2 * row + 1],
    reply_bytes: s.bytesOf(row, 1),
    first_seen: formatTimestamp(first),
    last_seen: formatTimestamp(last),
    duration: Math.round(last - first) / 1e6,
    tcp_state: proto === 6 ? TCP_STATE_NAMES[s.tcpState[row]] : null,
    history,
    reason,
    community_id: cid,
  }
}

const str = (v: string | null) => (v === null ? 'null' : JSON.stringify(v))

/**
 * The event as its NDJSON line, the same text JSON.stringify gives, a third of the cost: the keys
 * are fixed and most values are made here from safe characters (addresses, timestamps, ids,
 * history letters, names from our tables). Only what came from the network or the user (the
 * payload name, the sensor) goes through JSON.stringify's escaping.
 */
export function eventJson(e: SessionEvent): string {
  const p = e.payload
  const payload = p === null ? 'null' : 'dns' in p ? `{"dns":${JSON.stringify(p.dns)}}` : 'sni' in p ? `{"sni":${JSON.stringify(p.sni)}}` : `{"host":${JSON.stringify(p.host)}}`
  return `{"src_ip":"${e.src_ip}","dst_ip":"${e.dst_ip}","src_port":${e.src_port},"dst_port":${e.dst_port},"protocol_num":${e.protocol_num},` +
    `"protocol_name":${JSON.stringify(e.protocol_name)},"state":"${e.state}","timestamp":"${e.timestamp}","session_id":"${e.session_id}",` +
    `"payload":${payload},"sensor":${str(e.sensor)},"orig_packets":${e.orig_packets},"orig_bytes":${e.orig_bytes},` +
    `"reply_packets":${e.reply_packets},"reply_bytes":${e.reply_bytes},"first_seen":"${e.first_seen}","last_seen":"${e.last_seen}",` +
    `"duration":${e.duration},"tcp_state":${e.tcp_state === null ? 'null' : `"${e.tcp_state}"`},"history":"${e.history}",` +
    `"reason":${e.reason === null ? 'null' : `"${e.reason}"`},"community_id":"${e.community_id}"}`
}

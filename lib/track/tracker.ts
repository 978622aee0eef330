import type { PacketSummary } from '../decode/summary.js'
import { ExpiryWheel } from './expiry-wheel.js'
import { FlowIndex } from './flow-index.js'
import { HelloReassembly } from './hello-reassembly.js'
import { inspectPayload, type PayloadInspector } from './inspect.js'
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from './protocols.js'
import { buildEvent, type EndReason, type EventState, type SessionEvent } from './session-event.js'
import {
  F_ENDED, F_HELD, F_IGNORED, F_INSPECTED, F_ORIG_B, F_REPLIED, HISTORY_LEN, SessionStore,
} from './session-store.js'
import {
  PK_FIN, PK_RST, PK_SYN, PK_SYNACK, TCP_CLOSE, TCP_ESTABLISHED, TCP_IGNORE, TCP_INVALID,
  TCP_NONE, TCP_SYN_RECV, TCP_SYN_SENT, TCP_TIME_WAIT, tcpNextState, tcpPacketKind,
} from './tcp-states.js'
import { tcpInWindow, tcpWindowPickup, tcpWindowReset } from './tcp-window.js'
import { defaultTimeouts, type Timeouts } from './timeouts.js'
import { UUID_STORED, Uuid7Source } from './uuid7.js'

/** Which new sessions to report: PokieStream's filter keys, applied in the originator's direction. */
export interface SessionAdmission {
  protocol(proto: number): boolean
  endpoints(ipVersion: number, src: Uint8Array, dst: Uint8Array, proto: number, dstPort: number): boolean
  /** payload.dns: ports it applies to (null when off) and the name test. */
  dnsPorts: Set<number> | null
  dnsName(name: string | null): boolean
}

export interface TrackerOptions {
  maxSessions?: number
  initialSessions?: number
  timeouts?: Timeouts
  admission?: SessionAdmission | null
  /** Responder ports whose payload is read as DNS (UDP, and TCP with its length prefix). */
  dnsPorts?: Set<number>
  inspect?: boolean
}

export interface TrackerStats {
  packets: number
  tracked: number
  notIp: number
  fragments: number
  filtered: number
  sessions: number
  ignoredSessions: number
  evicted: number
  /** TCP packets conntrack would mark INVALID: refused by the state table or out of window. */
  tcpInvalid: number
  /** Of tcpInvalid, those outside the sequence window (tcp_in_window said no). */
  tcpOutOfWindow: number
  orphanRst: number
  events: number
}

const ICMP_ECHO_PAIR: Record<number, number> = { 8: 0, 0: 8, 128: 129, 129: 128 }
const ICMP4_PAIRS = new Map([[8, 0], [0, 8], [13, 14], [14, 13], [15, 16], [16, 15], [10, 9], [17, 18], [18, 17]])
const ICMP6_PAIRS = new Map([[128, 129], [129, 128], [133, 134], [134, 133], [135, 136], [136, 135], [130, 131], [131, 130], [139, 140], [140, 139], [144, 145], [145, 144]])
/** Types that answer another: a session whose first packet is one of these was started by its receiver. */
const ICMP_ANSWERS = new Set([0, 14, 16, 18, 129, 131, 134, 136, 140, 145])

/** Distinct sensor names kept (events name the sensor); later ones are reported as OTHER_SENSORS. */
export const MAX_SENSORS = 1024
export const OTHER_SENSORS = 'others'

/**
 * Bidirectional session tracking over decoded packet summaries: one flow table keyed by
 * protocol and the unordered endpoint pair, conntrack's TCP states, UDP/ICMP request/reply
 * sessions, idle expiry from a timer wheel driven by packet time, and a bound on live sessions.
 */
export class Tracker {
  readonly store: SessionStore
  readonly index: FlowIndex
  readonly wheel: ExpiryWheel
  readonly timeouts: Timeouts
  readonly stats: TrackerStats = {
    packets: 0, tracked: 0, notIp: 0, fragments: 0, filtered: 0, sessions: 0, ignoredSessions: 0,
    evicted: 0, tcpInvalid: 0, tcpOutOfWindow: 0, orphanRst: 0, events: 0,
  }
  /** Sensor names by index (index 0: none). */
  readonly sensors: (string | null)[] = [null]
  private readonly sensorIndex = new Map<string, number>()
  private readonly uuids = new Uuid7Source()
  private readonly admission: SessionAdmission | null
  private readonly dnsPorts: Set<number>
  private readonly inspectOn: boolean
  private readonly inspector: PayloadInspector = { kind: '', name: '' }
  /** ClientHellos spread over several segments, until whole. */
  readonly hello = new HelloReassembly()
  /** Events of TCP sessions to a DNS port, held until the name filter decides (F_HELD). */
  private readonly held = new Map<number, SessionEvent[]>()
  /** Packet clock in microseconds (never goes back). */
  nowUs = 0
  private readonly onDue = (row: number) => this.due(row)

  constructor(private readonly emit: (ev: SessionEvent) => void, opts: TrackerOptions = {}) {
    const max = opts.maxSessions ?? 1_000_000
    this.store = new SessionStore(opts.initialSessions ?? Math.min(max, 65536), max)
    this.index = new FlowIndex(this.store)
    this.wheel = new ExpiryWheel(this.store)
    this.timeouts = opts.timeouts ?? defaultTimeouts()
    this.admission = opts.admission ?? null
    this.dnsPorts = opts.dnsPorts ?? new Set([53, 5353])
    this.inspectOn = opts.inspect ?? true
  }

  /**
   * Index for a sensor name (batches carry it); cheap after the first lookup. Names come from
   * batch headers, which any sender can forge: past MAX_SENSORS they all share OTHER_SENSORS.
   */
  sensorId(name: string | null): number {
    if (name === null || name === '') return 0
    let i = this.sensorIndex.get(name)
    if (i === undefined) {
      if (this.sensors.length > MAX_SENSORS) return this.otherSensors()
      i = this.sensors.length
      this.sensors.push(name)
      this.sensorIndex.set(name, i)
    }
    return i
  }

  private othersIdx = 0
  private otherSensors(): number {
    if (this.othersIdx === 0) {
      this.othersIdx = this.sensors.length
      this.sensors.push(OTHER_SENSORS)
    }
    return this.othersIdx
  }

  /** Move the clock (packet time, or wall-clock time while idle) and expire what is due. */
  advance(us: number): void {
    if (us <= this.nowUs) return
    this.nowUs = us
    this.wheel.advance(Math.floor(us / 1e6), this.onDue)
  }

  /** One decoded packet seen at `us` (Unix microseconds); `data` is the buffer `s` was decoded from. */
  packet(s: PacketSummary, data: Buffer, us: number, sensor = 0): void {
    this.stats.packets += 1
    this.advance(us)
    if (s.ipVersion === 0 || s.protocol < 0) {
      this.stats.notIp += 1
      return
    }
    if (s.fragment) {
      this.stats.fragments += 1
      return
    }
    const proto = s.protocol
    if (this.admission !== null && !this.admission.protocol(proto)) {
      this.stats.filtered += 1
      return
    }
    const now = us
    // Ports of the key: TCP/UDP ports, ICMP echo identifier, other ICMP (type, counterpart|code).
    let sp = 0
    let dp = 0
    let kind = 0
    if (proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === 132 || proto === 136 || proto === 33) {
      sp = s.srcPort
      dp = s.dstPort
    } else if (proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) {
      if (ICMP_ECHO_PAIR[s.icmpType] !== undefined) {
        kind = 1
        sp = s.srcPort
        dp = s.srcPort
      } else {
        kind = 2
        const peer = (proto === IPPROTO_ICMP ? ICMP4_PAIRS : ICMP6_PAIRS).get(s.icmpType)
        sp = s.icmpType & 0xffff
        dp = peer === undefined ? s.icmpCode & 0xff : peer
      }
    }
    const srcIsA = this.fillKey(s, proto, kind, sp, dp)
    const hash = this.index.hashScratch()
    let row = this.index.find(hash)
    const st = this.store
    if (row >= 0 && (st.flags[row] & F_ENDED) !== 0 && proto === IPPROTO_TCP && (s.tcpFlags & 0x06) === 0x02) {
      // A new SYN on a closed connection's tuple starts a new session (conntrack reopens); the
      // old one ends here, with what its linger collected.
      this.wheel.unlink(row)
      this.finish(row, now, 'reused')
      row = -1
    }
    if (row < 0) {
      row = this.create(s, data, hash, srcIsA, proto, kind, now, sensor)
      if (row < 0) return
    } else {
      this.update(row, s, data, srcIsA, proto, now)
    }
    this.stats.tracked += 1
  }

  /** Fill the index scratch key in (address, port)-ordered form; returns whether src is endpoint A. */
  private fillKey(s: PacketSummary, proto: number, kind: number, sp: number, dp: number): boolean {
    const k = this.index.scratch
    const a = s.src
    const b = s.dst
    k[0] = proto | (s.ipVersion << 8) | (kind << 16)
    let srcIsA: boolean
    if (s.ipVersion !== 6) {
      // Big-endian words straight from the bytes: the unsigned compare orders addresses as bytes do.
      const x = ((a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3]) >>> 0
      const y = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0
      srcIsA = x < y || (x === y && sp <= dp)
      k[1] = srcIsA ? x : y
      k[5] = srcIsA ? y : x
      k[2] = 0; k[3] = 0; k[4] = 0
      k[6] = 0; k[7] = 0; k[8] = 0
    } else {
      let cmp = 0
      for (let i = 0; i < 16; i += 4) {
        const x = ((a[i] << 24) | (a[i + 1] << 16) | (a[i + 2] << 8) | a[i + 3]) >>> 0
        const y = ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0
        k[1 + (i >> 2)] = x
        k[5 + (i >> 2)] = y
        if (cmp === 0) cmp = x < y ? -1 : x > y ? 1 : 0
      }
      srcIsA = cmp < 0 || (cmp === 0 && sp <= dp)
      if (!srcIsA) {
        for (let i = 1; i < 5; i++) {
          const t = k[i]
          k[i] = k[i + 4]
          k[i + 4] = t
        }
      }
    }
    k[9] = srcIsA ? ((sp << 16) | dp) >>> 0 : ((dp << 16) | sp) >>> 0
    return srcIsA
  }

  private create(s: PacketSummary, data: Buffer, hash: number, srcIsA: boolean, proto: number, kind: number, now: number, sensor: number): number {
    let flipped = false
    let tcpState = 0
    let event: EventState | null = 'NEW'
    let fin = false
    if (proto === IPPROTO_TCP) {
      const pk = tcpPacketKind(s.tcpFlags)
      if (pk === PK_RST) {
        this.stats.orphanRst += 1
        return -1
      }
      if (pk === PK_SYN) tcpState = TCP_SYN_SENT
      else if (pk === PK_SYNACK) { tcpState = TCP_SYN_RECV; flipped = true }
      else {
        // Picked up mid-stream (conntrack's loose mode): assume an established connection.
        tcpState = TCP_ESTABLISHED
        event = 'ESTABLISHED'
        fin = pk === PK_FIN
      }
    } else if (kind !== 0 && ICMP_ANSWERS.has(s.icmpType)) {
      flipped = true
    }
    const origIsA = flipped ? !srcIsA : srcIsA
    // Admission: PokieStream's filters see the session from the originator's side.
    let ignored = false
    let dnsName: string | null = null
    const dstPort = flipped ? s.srcPort : s.dstPort
    const ad = this.admission
    const payloadLen = s.payloadLength
    if (!flipped && proto === IPPROTO_UDP && payloadLen > 0 && this.inspectOn && this.dnsPorts.has(dstPort)) {
      this.inspector.kind = ''
      if (inspectPayload(this.inspector, 17, data, s.payloadOffset, s.payloadOffset + payloadLen)) dnsName = this.inspector.name
    }
    let hold = false
    if (ad !== null) {
      const src = flipped ? s.dst : s.src
      const dst = flipped ? s.src : s.dst
      ignored = !ad.endpoints(s.ipVersion, src, dst, proto, kind === 0 ? dstPort : -1)
      // Over TCP the question comes after the handshake: hold the events until it is seen.
      hold = !ignored && proto === IPPROTO_TCP && ad.dnsPorts !== null && ad.dnsPorts.has(dstPort)
      if (!ignored && proto === IPPROTO_UDP && ad.dnsPorts !== null && ad.dnsPorts.has(dstPort)) {
        if (dnsName === null && payloadLen > 0 && !flipped) {
          this.inspector.kind = ''
          if (inspectPayload(this.inspector, 17, data, s.payloadOffset, s.payloadOffset + payloadLen)) dnsName = this.inspector.name
        }
        ignored = !ad.dnsName(dnsName)
      }
    }
    const st = this.store
    if (st.full) this.evictSoonest()
    const row = st.alloc()
    if (row < 0) return -1
    this.index.insert(row, hash)
    this.stats.sessions += 1
    let flags = st.flags[row]
    if (!origIsA) flags |= F_ORIG_B
    if (ignored) { flags |= F_IGNORED; this.stats.ignoredSessions += 1 }
    if (hold) flags |= F_HELD
    if (dnsName !== null) { flags |= F_INSPECTED; st.payload.set(row, `dns:${dnsName}`) }
    st.flags[row] = flags
    st.tcpState[row] = tcpState
    st.firstUs[row] = now
    st.lastUs[row] = now
    st.sensor[row] = sensor
    if (kind !== 0) {
      const t = flipped ? ICMP_ECHO_PAIR[s.icmpType] ?? s.icmpType : s.icmpType
      st.setIcmp(row, t & 0xff, flipped ? 0 : s.icmpCode & 0xff)
    }
    if (flipped) {
      this.historyAdd(row, 17)
      if (proto !== IPPROTO_TCP) st.flags[row] |= F_REPLIED
    }
    this.uuids.write(Math.floor(now / 1000), st.uuid, row * UUID_STORED)
    if (proto === IPPROTO_TCP) {
      // The window data starts from the first packet: a SYN as conntrack's tcp_new takes it, anything
      // else as its loose pickup (liberal, so that packet's window check cannot refuse it).
      const dir = flipped ? 1 : 0
      if (tcpState === TCP_SYN_SENT) tcpInWindow(st, row, dir, TCP_NONE, s)
      else {
        tcpWindowPickup(st, row, dir, s)
        tcpInWindow(st, row, dir, tcpState, s)
      }
    }
    st.setTimeoutSeconds(row, this.timeoutFor(row, proto, tcpState))
    this.wheel.schedule(row, Math.ceil((now + st.timeoutSeconds(row) * 1e6) / 1e6), false)
    this.account(row, s, data, flipped ? 1 : 0, proto)
    if (!ignored && event !== null) this.report(row, event, now, null)
    if (fin) this.tcpStep(row, PK_FIN, 0, now, null)
    return row
  }

  private update(row: number, s: PacketSummary, data: Buffer, srcIsA: boolean, proto: number, now: number): void {
    const st = this.store
    const origIsA = (st.flags[row] & F_ORIG_B) === 0
    const dir = srcIsA === origIsA ? 0 : 1
    if (now > st.lastUs[row]) st.lastUs[row] = now
    this.account(row, s, data, dir, proto)
    const flags = st.flags[row]
    if (proto === IPPROTO_TCP) {
      this.tcpStep(row, tcpPacketKind(s.tcpFlags), dir, now, s)
    } else if (dir === 1 && (flags & F_REPLIED) === 0) {
      st.flags[row] = flags | F_REPLIED
      if ((flags & F_IGNORED) === 0) this.report(row, 'REPLIED', now, null)
    }
  }

  /**
   * One TCP packet through the state table, then conntrack's window check (`s` null: the packet
   * was checked already). Refused or out of window, it is counted invalid and changes nothing; it
   * was already counted in the session's packets and bytes, as every packet of the tuple is.
   */
  private tcpStep(row: number, pk: number, dir: number, now: number, s: PacketSummary | null): void {
    const st = this.store
    const prev = st.tcpState[row]
    const next = tcpNextState(prev, pk, dir)
    if (next === TCP_INVALID) { this.stats.tcpInvalid += 1; return }
    // Ignored packets (a late SYN-ACK, a SYN on a live connection) skip the window check, as in conntrack.
    if (next === TCP_IGNORE) return
    if (s !== null) {
      // A SYN reopening the tuple (an ignored session lingers without F_ENDED) is a new connection.
      if (next === TCP_SYN_SENT && prev !== TCP_SYN_SENT) tcpWindowReset(st, row)
      if (!tcpInWindow(st, row, dir, prev, s)) {
        this.stats.tcpInvalid += 1
        this.stats.tcpOutOfWindow += 1
        return
      }
    }
    if (next === prev) return
    st.tcpState[row] = next
    const t = this.timeouts.tcp[next]
    const old = st.timeoutSeconds(row)
    st.setTimeoutSeconds(row, t)
    // A shorter timeout must be honoured before the wheel's lazy recheck would see it.
    if (t < old) this.wheel.schedule(row, Math.ceil((now + t * 1e6) / 1e6), true)
    const flags = st.flags[row]
    if ((flags & (F_ENDED | F_IGNORED)) !== 0) return
    if (next === TCP_ESTABLISHED && (prev === TCP_SYN_RECV || prev === TCP_SYN_SENT)) {
      this.report(row, 'ESTABLISHED', now, null)
    } else if (next === TCP_TIME_WAIT) {
      st.flags[row] = flags | F_ENDED
      this.report(row, 'CLOSE', now, 'fin')
    } else if (next === TCP_CLOSE && pk === PK_RST) {
      st.flags[row] = flags | F_ENDED
      this.report(row, 'ABORT', now, 'rst')
    }
  }

  /** Counters, history letters and payload inspection for one packet in direction `dir`. */
  private account(row: number, s: PacketSummary, data: Buffer, dir: number, proto: number): void {
    const st = this.store
    st.packets[2 * row + dir] += 1
    st.addBytes(row, dir, s.ipLength)
    const base = dir === 0 ? 0 : 8
    const payloadLen = s.payloadLength
    if (proto === IPPROTO_TCP) {
      const f = s.tcpFlags
      if ((f & 0x02) && (f & 0x05)) this.historyAdd(row, base + 8)
      else if (f & 0x02) this.historyAdd(row, base + (f & 0x10 ? 2 : 1))
      if (f & 0x01) this.historyAdd(row, base + 5)
      if (f & 0x04) this.historyAdd(row, base + 6)
      if (payloadLen > 0) this.historyAdd(row, base + 4)
      else if ((f & 0x17) === 0x10) this.historyAdd(row, base + 3)
    } else if (payloadLen > 0 || proto !== IPPROTO_UDP) {
      this.historyAdd(row, base + 4)
    }
    if (s.checksum === -1) this.historyAdd(row, base + 7)
    if (dir === 0 && payloadLen > 0 && this.inspectOn && proto === IPPROTO_TCP) {
      const start = s.payloadOffset
      const end = start + payloadLen
      if ((st.flags[row] & F_INSPECTED) === 0) {
        st.flags[row] |= F_INSPECTED
        const o = row * 10
        const ports = st.keys[o + 9]
        const respPort = (st.flags[row] & F_ORIG_B) !== 0 ? ports >>> 16 : ports & 0xffff
        const dns = this.dnsPorts.has(respPort)
        if (!dns && data[start] === 22) {
          const sni = this.hello.start(row, data, start, end, s.tcpSeq)
          if (typeof sni === 'string') st.payload.set(row, `sni:${sni}`)
        } else {
          this.inspector.kind = dns ? 'dns' : ''
          const found = inspectPayload(this.inspector, 6, data, start, end)
          if (found) st.payload.set(row, `${this.inspector.kind}:${this.inspector.name}`)
          if ((st.flags[row] & F_HELD) !== 0) this.release(row, found && dns ? this.inspector.name : null)
        }
      } else if (this.hello.waiting(row)) {
        const sni = this.hello.feed(row, data, start, end, s.tcpSeq)
        if (typeof sni === 'string') st.payload.set(row, `sni:${sni}`)
      }
    }
  }

  /** Append a history letter once per session (codes: see HISTORY_LETTERS). */
  private historyAdd(row: number, code: number): void {
    const st = this.store
    const bit = 1 << code
    const seen = st.historySeen[row]
    if ((seen & bit) !== 0) return
    st.historySeen[row] = seen | bit
    const base = row * HISTORY_LEN
    for (let i = base; i < base + HISTORY_LEN; i++) {
      if (st.history[i] === 0) { st.history[i] = code; return }
    }
  }

  private timeoutFor(row: number, proto: number, tcpState: number): number {
    const t = this.timeouts
    if (proto === IPPROTO_TCP) return t.tcp[tcpState]
    if (proto === IPPROTO_UDP) {
      const ports = this.store.keys[row * 10 + 9]
      const resp = (this.store.flags[row] & F_ORIG_B) !== 0 ? ports >>> 16 : ports & 0xffff
      const orig = (this.store.flags[row] & F_ORIG_B) !== 0 ? ports & 0xffff : ports >>> 16
      return t.udpPorts.get(resp) ?? t.udpPorts.get(orig) ?? t.udp
    }
    if (proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) return t.icmp
    return t.other
  }

  private report(row: number, state: EventState, atUs: number, reason: EndReason): void {
    const ev = buildEvent(this.store, row, state, atUs, reason, this.sensors)
    if ((this.store.flags[row] & F_HELD) !== 0) {
      let list = this.held.get(row)
      if (!list) this.held.set(row, (list = []))
      list.push(ev)
      return
    }
    this.stats.events += 1
    this.emit(ev)
  }

  /**
   * The DNS name filter decides a held TCP session: its held events go out in order, or it becomes
   * ignored and they are dropped. A session with no question (`name` null) passes, as on UDP.
   */
  private release(row: number, name: string | null): void {
    const st = this.store
    st.flags[row] &= ~F_HELD
    const list = this.held.get(row) ?? []
    this.held.delete(row)
    if (this.admission !== null && !this.admission.dnsName(name)) {
      st.flags[row] |= F_IGNORED
      this.stats.ignoredSessions += 1
      return
    }
    for (const ev of list) {
      this.stats.events += 1
      this.emit(ev)
    }
  }

  /** The wheel reached a row's bucket: expire it if idle long enough, else reschedule. */
  private due(row: number): void {
    const st = this.store
    const deadline = st.lastUs[row] + st.timeoutSeconds(row) * 1e6
    if (deadline <= this.nowUs) {
      this.finish(row, deadline, 'idle')
    } else {
      this.wheel.schedule(row, Math.ceil(deadline / 1e6), false)
    }
  }

  /**
   * The session's last event, then the row is freed (it is already off the wheel): EXPIRED for one
   * that never closed; DESTROY, as conntrack's, for one that did: after CLOSE/ABORT it lingered
   * (TIME_WAIT, CLOSE) and counted the late packets (a second RST, a retransmitted FIN, the last
   * ACK), so DESTROY carries the final counters, history and duration.
   */
  private finish(row: number, atUs: number, reason: EndReason): void {
    const st = this.store
    if ((st.flags[row] & F_HELD) !== 0) this.release(row, null)
    const flags = st.flags[row]
    if ((flags & F_IGNORED) === 0) this.report(row, (flags & F_ENDED) !== 0 ? 'DESTROY' : 'EXPIRED', atUs, reason)
    this.hello.forget(row)
    this.index.remove(row)
    st.free(row)
  }

  /**
   * The table is full: the session closest to expiring goes (EXPIRED, reason "evicted"), as
   * conntrack's early drop prefers what would time out soonest; with equal timeouts that is the
   * least recently seen.
   */
  private evictSoonest(): void {
    const st = this.store
    const row = this.wheel.soonest((r) => Math.ceil((st.lastUs[r] + st.timeoutSeconds(r) * 1e6) / 1e6))
    if (row < 0) return
    this.stats.evicted += 1
    this.wheel.unlink(row)
    this.finish(row, this.nowUs, 'evicted')
  }

  /** End of input or shutdown: every session's last event (EXPIRED, or DESTROY if it closed) with reason "eof", least recently seen first. */
  flush(): void {
    const st = this.store
    const rows: number[] = []
    for (let r = 0; r < st.capacity; r++) if (st.flags[r] !== 0) rows.push(r)
    rows.sort((a, b) => st.lastUs[a]! - st.lastUs[b]! || st.firstUs[a]! - st.firstUs[b]! || a - b)
    for (const row of rows) {
      this.wheel.unlink(row)
      this.finish(row, this.nowUs, 'eof')
    }
  }

  get live(): number {
    return this.store.count
  }
}


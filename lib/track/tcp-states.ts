/**
 * nf_conntrack_proto_tcp: the TCP connection states and the transition table the kernel's
 * connection tracker uses (tcp_conntracks[dir][packet kind][state]); its sequence-window checks
 * are in tcp-window.ts. The first packet of a flow may be anything (conntrack's "loose" pickup).
 */
export const TCP_NONE = 0
export const TCP_SYN_SENT = 1
export const TCP_SYN_RECV = 2
export const TCP_ESTABLISHED = 3
export const TCP_FIN_WAIT = 4
export const TCP_CLOSE_WAIT = 5
export const TCP_LAST_ACK = 6
export const TCP_TIME_WAIT = 7
export const TCP_CLOSE = 8
export const TCP_SYN_SENT2 = 9
/** Not a state: the packet is invalid in this state and leaves it unchanged. */
export const TCP_INVALID = 10
/** Not a state: the packet is ignored (e.g. a retransmitted SYN-ACK). */
export const TCP_IGNORE = 11

export const TCP_STATE_NAMES = ['NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2']

export function tcpStateByName(name: string): number {
  return TCP_STATE_NAMES.indexOf(name.toUpperCase())
}

/** Packet kinds, in conntrack's get_conntrack_index order: RST, then SYN(-ACK), FIN, ACK. */
export const PK_SYN = 0
export const PK_SYNACK = 1
export const PK_FIN = 2
export const PK_ACK = 3
export const PK_RST = 4
export const PK_NONE = 5

export function tcpPacketKind(flags: number): number {
  if (flags & 0x04) return PK_RST
  if (flags & 0x02) return flags & 0x10 ? PK_SYNACK : PK_SYN
  if (flags & 0x01) return PK_FIN
  if (flags & 0x10) return PK_ACK
  return PK_NONE
}

const sNO = TCP_NONE, sSS = TCP_SYN_SENT, sSR = TCP_SYN_RECV, sES = TCP_ESTABLISHED, sFW = TCP_FIN_WAIT
const sCW = TCP_CLOSE_WAIT, sLA = TCP_LAST_ACK, sTW = TCP_TIME_WAIT, sCL = TCP_CLOSE, sS2 = TCP_SYN_SENT2
const sIV = TCP_INVALID, sIG = TCP_IGNORE
void sNO

// Rows: packet kind; columns: current state NO SS SR ES FW CW LA TW CL S2.
const ORIGINAL = [
  /* syn    */ [sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2],
  /* synack */ [sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR],
  /* fin    */ [sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV],
  /* ack    */ [sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV],
  /* rst    */ [sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL],
  /* none   */ [sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV],
]
const REPLY = [
  /* syn    */ [sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2],
  /* synack */ [sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR],
  /* fin    */ [sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV],
  /* ack    */ [sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG],
  /* rst    */ [sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL],
  /* none   */ [sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV],
]
const TABLE = new Uint8Array(2 * 6 * 10)
for (let k = 0; k < 6; k++) {
  for (let s = 0; s < 10; s++) {
    TABLE[k * 10 + s] = ORIGINAL[k][s]
    TABLE[60 + k * 10 + s] = REPLY[k][s]
  }
}

/** Next state for a packet of `kind` in direction `reply` (0 originator, 1 responder). */
export function tcpNextState(state: number, kind: number, reply: number): number {
  return TABLE[reply * 60 + kind * 10 + state]
}

/** nf_conntrack_tcp_timeout_* defaults, in seconds, indexed by state. */
export const TCP_DEFAULT_TIMEOUTS = [
  /* NONE */ 120, /* SYN_SENT */ 120, /* SYN_RECV */ 60, /* ESTABLISHED */ 432000, /* FIN_WAIT */ 120,
  /* CLOSE_WAIT */ 60, /* LAST_ACK */ 30, /* TIME_WAIT */ 120, /* CLOSE */ 10, /* SYN_SENT2 */ 120,
]

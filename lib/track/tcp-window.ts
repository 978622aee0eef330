/**
 * nf_conntrack_proto_tcp's tcp_in_window: whether a segment lies within what the two ends can have
 * sent and acknowledged, from each direction's td_end (highest sequence sent), td_maxend (highest
 * the receiver's window allows), td_maxwin (largest window seen) and td_scale. The bounds, as the
 * kernel states them for sender S and receiver R, with sack the ack or the highest SACK edge:
 *   I    seq <= S.td_maxend
 *   II   seq + len >= S.td_end - R.td_maxwin
 *   III  sack <= R.td_end
 *   IV   sack >= R.td_end - max(S.td_maxwin, 66000)
 * Sequence numbers are compared as conntrack's before()/after(): the difference as a signed 32-bit
 * number, so they may wrap past 2^32. The data lives in the session store's typed arrays.
 */
import type { PacketSummary } from '../decode/summary.js'
import { TD_LIBERAL, TD_SCALE_MASK, TD_WSCALE_SENT, type SessionStore } from './session-store.js'
import { TCP_SYN_RECV, TCP_SYN_SENT } from './tcp-states.js'

/** conntrack's MAXACKWINCONST: the least distance below R.td_end an ack may be (bound IV). */
export const MAX_ACK_WIN_CONST = 66000
/** RFC 7323 2.3: larger shift counts are treated as 14. */
export const MAX_WSCALE = 14

/** a is before b in sequence space. */
export function seqBefore(a: number, b: number): boolean {
  return ((a - b) | 0) < 0
}

/** a is after b in sequence space. */
export function seqAfter(a: number, b: number): boolean {
  return ((b - a) | 0) < 0
}

/** One row's window data before a check, put back when the segment is out of window. */
const saved = new Uint32Array(8)

/**
 * The direction's data from its SYN or SYN-ACK (conntrack's tcp_new and its SYN branch): the
 * window as sent (never scaled on a SYN), the scale it offers. Window scaling is on only when both
 * SYNs carried the option: until the second one is seen the scale is kept but not trusted.
 */
function initFromSyn(st: SessionStore, si: number, ri: number, end: number, s: PacketSummary): void {
  st.tdEnd[si] = end
  st.tdMaxEnd[si] = end
  st.tdMaxWin[si] = s.tcpWindow === 0 ? 1 : s.tcpWindow
  let f = st.tdFlags[si] & TD_LIBERAL
  if (s.tcpWscale >= 0) f |= TD_WSCALE_SENT | Math.min(s.tcpWscale, MAX_WSCALE)
  st.tdFlags[si] = f
  // A SYN-ACK answers a SYN whose options are known: without both offers neither side scales.
  if ((s.tcpFlags & 0x10) !== 0 && ((f & st.tdFlags[ri]) & TD_WSCALE_SENT) === 0) {
    st.tdFlags[si] &= ~TD_SCALE_MASK
    st.tdFlags[ri] &= ~TD_SCALE_MASK
  }
}

/**
 * A flow's first packet was not a SYN (nf_conntrack_tcp_loose): the sender's data comes from the
 * packet and the receiver's edge from its ack. Both directions are liberal, as conntrack's pickup
 * makes them: the window scale was in SYNs never seen, so the raw windows may be up to 2^14 times
 * too small, and only RSTs are held to the window.
 */
export function tcpWindowPickup(st: SessionStore, row: number, dir: number, s: PacketSummary): void {
  const si = 2 * row + dir
  const ri = si ^ 1
  const syn = (s.tcpFlags & 0x02) !== 0
  const end = (s.tcpSeq + s.tcpDataLength + (syn ? 1 : 0) + (s.tcpFlags & 0x01)) >>> 0
  st.tdEnd[si] = end
  const win = s.tcpWindow === 0 ? 1 : s.tcpWindow
  st.tdMaxWin[si] = win
  st.tdMaxEnd[si] = end + win
  st.tdFlags[si] = TD_LIBERAL
  st.tdFlags[ri] = TD_LIBERAL
  if ((s.tcpFlags & 0x10) !== 0) {
    st.tdEnd[ri] = s.tcpSackEdge
    st.tdMaxEnd[ri] = s.tcpSackEdge
  }
}

/**
 * tcp_in_window for one segment from direction `dir` of `row`, in TCP state `state` (before the
 * segment). True when it is in window, and then the window data has moved with it; false when not,
 * and then the row's window data is exactly as it was (conntrack keeps what an out-of-window SYN-ACK
 * taught it; here a spoofed one must not make the genuine one that follows look out of window).
 */
export function tcpInWindow(st: SessionStore, row: number, dir: number, state: number, s: PacketSummary): boolean {
  const si = 2 * row + dir
  const ri = si ^ 1
  const tdEnd = st.tdEnd, tdMaxEnd = st.tdMaxEnd, tdMaxWin = st.tdMaxWin, tdFlags = st.tdFlags
  const w = 2 * row
  saved[0] = tdEnd[w]; saved[1] = tdEnd[w + 1]; saved[2] = tdMaxEnd[w]; saved[3] = tdMaxEnd[w + 1]
  saved[4] = tdMaxWin[w]; saved[5] = tdMaxWin[w + 1]; saved[6] = tdFlags[w]; saved[7] = tdFlags[w + 1]

  const flags = s.tcpFlags
  const syn = (flags & 0x02) !== 0
  const rst = (flags & 0x04) !== 0
  const hasAck = (flags & 0x10) !== 0
  let seq = s.tcpSeq
  let ack = s.tcpAck
  let sack = s.tcpSackEdge
  let win = s.tcpWindow
  // SYN and FIN each take one sequence number.
  let end = (seq + s.tcpDataLength + (syn ? 1 : 0) + (flags & 0x01)) >>> 0

  if (tdMaxWin[si] === 0) {
    if (syn) {
      initFromSyn(st, si, ri, end, s)
      // A SYN with no ACK (the opening one, or the reply's in a simultaneous open) has nothing to check.
      if (!hasAck) return true
    } else {
      // First packet from this side of a picked-up flow.
      tdEnd[si] = end
      const swin = (win << (tdFlags[si] & TD_SCALE_MASK)) >>> 0
      tdMaxWin[si] = swin === 0 ? 1 : swin
      tdMaxEnd[si] = end + tdMaxWin[si]
      if (tdMaxWin[ri] === 0) {
        tdEnd[ri] = sack
        tdMaxEnd[ri] = sack
      } else if (sack === ((tdEnd[ri] + 1) >>> 0)) {
        // Answer to a keepalive probe, which sits one below the edge: let bound III pass.
        tdEnd[ri] = sack
      }
    }
  } else if (syn && ((state === TCP_SYN_SENT && dir === 0) || (state === TCP_SYN_RECV && dir === 1)) && seqAfter(end, tdEnd[si])) {
    // A SYN (or SYN-ACK) sent again with a newer initial sequence number: RFC 793 lets a
    // reinitialised TCP start over at once, above the numbers it used.
    initFromSyn(st, si, ri, end, s)
  }

  if (!hasAck || (rst && ack === 0)) {
    // No ack to check (or a stack's RST-ACK with a zero ack): take the receiver's edge as acked.
    ack = tdEnd[ri]
    sack = ack
  }
  // Empty segments are checked by their ack only; an RST always by its seq, except the seq-0 RST
  // answering a SYN.
  if (seq === end && (!rst || (seq === 0 && state === TCP_SYN_SENT))) {
    seq = tdEnd[si]
    end = seq
  }

  const maxAckWin = tdMaxWin[si] > MAX_ACK_WIN_CONST ? tdMaxWin[si] : MAX_ACK_WIN_CONST
  const inWindow =
    seqBefore(seq, tdMaxEnd[si] + 1) &&
    seqAfter(end, tdEnd[si] - tdMaxWin[ri] - 1) &&
    seqBefore(sack, tdEnd[ri] + 1) &&
    seqAfter(sack, tdEnd[ri] - maxAckWin - 1)
  if (!inWindow && (rst || (tdFlags[si] & TD_LIBERAL) === 0)) {
    tdEnd[w] = saved[0]; tdEnd[w + 1] = saved[1]; tdMaxEnd[w] = saved[2]; tdMaxEnd[w + 1] = saved[3]
    tdMaxWin[w] = saved[4]; tdMaxWin[w + 1] = saved[5]; tdFlags[w] = saved[6]; tdFlags[w + 1] = saved[7]
    return false
  }
  // In window, or a liberal direction's segment. conntrack leaves the data alone for the latter;
  // moving it keeps the stream's position known, so a later RST is still judged against it.
  if (!syn) win *= 1 << (tdFlags[si] & TD_SCALE_MASK)
  const swin = win + ((sack - ack) >>> 0)
  if (tdMaxWin[si] < swin) tdMaxWin[si] = swin
  if (seqAfter(end, tdEnd[si])) tdEnd[si] = end
  if (tdMaxWin[ri] !== 0 && seqAfter(end, tdMaxEnd[si])) tdMaxWin[ri] += (end - tdMaxEnd[si]) >>> 0
  const edge = (sack + win) >>> 0
  if (seqAfter(edge, tdMaxEnd[ri] - 1)) tdMaxEnd[ri] = win === 0 ? edge + 1 : edge
  return true
}

/** Clear a row's window data for a new connection on its tuple (a SYN in TIME_WAIT or CLOSE). */
export function tcpWindowReset(st: SessionStore, row: number): void {
  const w = 2 * row
  st.tdEnd[w] = 0; st.tdEnd[w + 1] = 0
  st.tdMaxEnd[w] = 0; st.tdMaxEnd[w + 1] = 0
  st.tdMaxWin[w] = 0; st.tdMaxWin[w + 1] = 0
  st.tdFlags[w] = 0; st.tdFlags[w + 1] = 0
}

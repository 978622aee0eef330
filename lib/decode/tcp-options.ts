/**
 * TCP options the session tracker needs from the summary decoder: the window scale (RFC 7323,
 * TCPOPT_WINDOW) and the highest right edge of the SACK blocks (RFC 2018, TCPOPT_SACK), read in
 * place with explicit offsets. A malformed option list ends the walk quietly: what was read before
 * it stands, nothing throws.
 */
import type { PacketSummary } from './summary.js'

export const TCPOPT_EOL = 0
export const TCPOPT_NOP = 1
export const TCPOPT_WINDOW = 3
export const TCPOPT_SACK = 5

/**
 * Walks the options in [start, end) (at most 40 bytes: every step moves on by at least one byte)
 * and sets out.tcpWscale and out.tcpSackEdge. out.tcpAck must already be set: the SACK edge
 * starts at the ack, as conntrack's does, and only moves forward in sequence space.
 */
export function readTcpOptions(data: Buffer, start: number, end: number, out: PacketSummary): void {
  let i = start
  while (i < end) {
    const kind = data[i]
    if (kind === TCPOPT_EOL) return
    if (kind === TCPOPT_NOP) { i++; continue }
    if (i + 1 >= end) return
    const len = data[i + 1]
    // Length below 2 or past the header: a broken list, nothing after it can be trusted.
    if (len < 2 || i + len > end) return
    if (kind === TCPOPT_WINDOW && len === 3) {
      out.tcpWscale = data[i + 2]
    } else if (kind === TCPOPT_SACK && len >= 10 && (len - 2) % 8 === 0) {
      let edge = out.tcpSackEdge
      for (let b = i + 2; b + 8 <= i + len; b += 8) {
        const right = ((data[b + 4] << 24) | (data[b + 5] << 16) | (data[b + 6] << 8) | data[b + 7]) >>> 0
        // Sequence-space "after": the difference as a signed 32-bit number.
        if (((edge - right) | 0) < 0) edge = right
      }
      out.tcpSackEdge = edge
    }
    i += len
  }
}

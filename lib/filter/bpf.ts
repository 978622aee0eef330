import { compileBpf, type BpfProgram } from '../native/libpcap.js'
import { ipOffset, nflogPayloadLength } from '../pcap/convert.js'
import { LINKTYPE } from '../pcap/linktypes.js'
import { isPipeError, messageOf, userError } from '../util/errors.js'

/**
 * filter.bpf / filter.scapy for a stream that mixes link types (a pcapng with several
 * interfaces, batches from many senders): one libpcap program per distinct link type, compiled
 * the first time a packet of that type shows up and reused for every later one.
 *
 * Some link types are filtered as the raw IP packet they carry rather than as the whole frame:
 *  - LINKTYPE_NFLOG: libpcap compiles nothing but `nflog` primitives for DLT_NFLOG ("NFLOG
 *    link-layer type filtering not implemented" for `tcp port 80`), so the NFULA_PAYLOAD TLV is
 *    filtered as DLT_RAW. NFLOG records that travel split already arrive as LINKTYPE_RAW.
 *  - LINKTYPE_NULL / LOOP: their only header field is the address family, whose AF_INET6 value
 *    depends on the capturing OS (10, 24, 28, 30) and, for NULL, its byte order; a dead handle
 *    only knows this host's value, so IPv6 from a BSD or macOS capture would never match.
 */
export interface BpfFilter {
  /** Whether a packet (link type, captured bytes, original length) passes the expression. */
  matches(linktype: number, data: Buffer, origLen: number): boolean
  /** Programs compiled so far: one per distinct link type seen, NULL/LOOP/NFLOG sharing RAW's. */
  readonly compiled: number
  close(): void
}

/** What libpcap is shown of a frame: all of it, or the IP packet inside. */
const WHOLE = 0
const IP_INSIDE = 1

interface Entry {
  /** null: nothing of this link type can match (libpcap says so, or cannot compile for it). */
  program: BpfProgram | null
  view: number
}

/**
 * Compiles `expr` for Ethernet at once, so that a bad expression stops the tool at start (exit 2,
 * as a configuration mistake) instead of at the first packet. Link types the expression cannot be
 * compiled for later (`vlan` on DLT_RAW) drop their packets, with one line through `warn`.
 */
export function createBpfFilter(expr: string, warn: (msg: string) => void): BpfFilter {
  const byLinktype = new Map<number, Entry>()
  // Programs by the link type they were compiled for: NULL, LOOP, NFLOG and RAW share DLT_RAW's.
  const programs = new Map<number, BpfProgram | null>()
  let lastLinktype = -1
  let last: Entry = { program: null, view: WHOLE }
  let validating = true

  function program(linktype: number): BpfProgram | null {
    if (programs.has(linktype)) return programs.get(linktype) as BpfProgram | null
    let p: BpfProgram | null = null
    try {
      p = compileBpf(expr, linktype)
    } catch (err) {
      if (!isPipeError(err) || (err.code !== 'EBPF' && err.code !== 'EBPFNONE')) throw err
      if (validating) throw userError(`filter.bpf: ${messageOf(err)}`, 'ECONFIG')
      if (err.code === 'EBPF') warn(`filter.bpf: ${messageOf(err)}; packets of that link type are dropped`)
    }
    programs.set(linktype, p)
    return p
  }

  function entry(linktype: number): Entry {
    let e = byLinktype.get(linktype)
    if (!e) {
      const inside = linktype === LINKTYPE.NFLOG || linktype === LINKTYPE.NULL || linktype === LINKTYPE.LOOP
      e = { program: program(inside ? LINKTYPE.RAW : linktype), view: inside ? IP_INSIDE : WHOLE }
      byLinktype.set(linktype, e)
    }
    return e
  }

  entry(LINKTYPE.ETHERNET)
  validating = false

  return {
    matches(linktype, data, origLen) {
      // Streams rarely switch link types: skip the map for a run of the same one.
      if (linktype !== lastLinktype) {
        last = entry(linktype)
        lastLinktype = linktype
      }
      const p = last.program
      if (p === null) return false
      if (last.view === WHOLE) return p.matches(data, origLen)
      const off = ipOffset(linktype, data)
      if (off < 0) return false
      const end = linktype === LINKTYPE.NFLOG ? off + nflogPayloadLength(data, off) : data.length
      // A view object per packet, only for these three link types (split NFLOG, the usual input,
      // is RAW and filtered whole). Bytes cut by the snaplen were cut from the IP packet's end.
      return p.matches(data.subarray(off, end), end - off + Math.max(0, origLen - data.length))
    },
    get compiled() { return programs.size },
    close() {
      for (const p of programs.values()) p?.close()
      programs.clear()
      byLinktype.clear()
      lastLinktype = -1
    },
  }
}

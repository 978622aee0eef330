import { forEachRecord, RECORD_HEADER, recordLinktype, senderLabel, type Batch, type WireRecord } from '../wire/batch.js'
import { carriesIp, ipOffset, nflogPayloadLength, writeSyntheticNflogHeader } from './convert.js'
import { isKnownLinktype, LINKTYPE, linktypeName } from './linktypes.js'
import { sanitize } from '../util/sanitize.js'
import { copyBytes, viewOf } from '../util/byte-view.js'
import {
  finishEpb, pcapHeader, pcapngInterface, pcapngSectionHeader, PCAP_RECORD_HEADER, SNAPLEN,
  putPcapRecordHeader, writeEpbHeader, writePcapRecordHeader,
} from './writer.js'

/**
 * Turns received batches into one pcap or pcapng byte stream.
 *
 * libpcap (tcpdump, Snort, Suricata's pcap mode) reads one link type per file, pcapng included
 * ("an interface has a type 101 different from the type of the first"), so by default both formats
 * carry ONE link type: --linktype, or (auto) the first packet's, with NFLOG captures written as
 * LINKTYPE_RAW unless --linktype nflog. A packet of another link type is converted when nothing is
 * lost (NFLOG, raw IPv4/IPv6, Ethernet, SLL, SLL2 and loopback frames carrying IP become RAW; IP
 * packets get a minimal NFLOG header); anything else is skipped and counted, and explainSkip() says
 * which options would keep it. pcapng still gives every sender and source its own interface, except
 * in link types libpcap translates (LINKTYPE_RAW 101 becomes DLT_RAW 12 on Linux): it compares every
 * further IDB with the translated value and refuses the file, so there all senders share one.
 * With mixedLinktypes (pcapng only) every packet keeps its own link type, one interface per sender,
 * source and link type: complete, but only for full pcapng readers (Wireshark, tshark).
 *
 * Automatic link type: the first packet of a link type the pipeline knows (lib/pcap/linktypes.ts)
 * chooses it; packets of other types before it are skipped and counted, so one odd batch arriving
 * first cannot lock every real packet out. Sender and source names come from the peers: they are
 * sanitized in interface blocks, and only the first MAX_INTERFACES pairs get their own interface.
 */
export interface EncoderOptions {
  format: 'pcap' | 'pcapng'
  /** undefined = auto. With mixedLinktypes only NFLOG matters (NFLOG captures keep their metadata). */
  linktype?: number
  /** pcapng only: interfaces of different link types in one section. */
  mixedLinktypes?: boolean
  application: string
}

export interface EncodeResult {
  /** Interface blocks first seen in this batch (pcapng): the live stream needs them before `chunk`. */
  preface: Buffer
  /** The packet records alone. */
  chunk: Buffer
  written: number
  bytes: number
  /** Packets whose link type cannot be written into this stream, by link type. */
  skipped: number
  skippedLinktype: number
}

export interface OutputEncoder {
  /** What a new reader or file must get first; undefined while the pcap link type is not known yet. */
  preamble(): Buffer | undefined
  /**
   * inPlace: the batch's records buffer may be overwritten with the result (the caller holds the
   * only reference to it; the result's chunk may then be a view of it).
   */
  encode(batch: Batch, inPlace?: boolean): EncodeResult
  /** Why packets of `linktype` were skipped, and which options would keep them. */
  explainSkip(linktype: number): string
  /** The stream's one link type once chosen (undefined before the first packet, or with mixedLinktypes). */
  readonly linktype: number | undefined
}

const EMPTY = Buffer.alloc(0)
/** Stream link types that hold only IP packets: what they skip has no IP packet to keep. */
const IP_ONLY = new Set<number>([LINKTYPE.RAW, LINKTYPE.NFLOG])
/**
 * LINKTYPE_ATM_RFC1483, _RAW, _SLIP_BSDOS, _PPP_BSDOS, _ATM_CLIP: libpcap's linktype_to_dlt() turns
 * them into other DLT_* values, and sf-pcapng.c compares each later IDB's LINKTYPE with that DLT, so
 * a pcapng file with two such interfaces is refused ("an interface has a type 101 different from the
 * type of the first interface"). One interface only, then.
 */
const LIBPCAP_ONE_IDB = new Set<number>([100, LINKTYPE.RAW, 102, 103, 106])
const SHARED_NAME = 'all senders'
const OTHERS_NAME = 'other senders'
/**
 * Interfaces with a sender's own name: every forged identity would otherwise add a block that
 * each new reader and buffer dump gets again. Later senders and sources share OTHERS_NAME.
 */
export const MAX_INTERFACES = 1024
/** With mixedLinktypes, OTHERS_NAME interfaces (one per link type) at most; packets past them are skipped. */
const MAX_OTHER_INTERFACES = 64
const NAME_CHARS = 128
const pad4 = (n: number) => (n + 3) & ~3
/**
 * The largest Interface Description Block written: if_name of a sanitized label and source, the
 * description of both with a link type name, tsresol, end of options. Sanitized text is at most
 * 3 UTF-8 bytes per character.
 */
const MAX_IDB_BYTES = 20 + (4 + pad4(3 * (3 * NAME_CHARS + 2))) + (4 + pad4(3 * (3 * NAME_CHARS + 80))) + 8 + 4
/** Largest preamble (pcapng section header and every interface), what a reader or a dump gets first. */
export const MAX_PREAMBLE_BYTES = 256 + (MAX_INTERFACES + MAX_OTHER_INTERFACES) * MAX_IDB_BYTES

export function createEncoder(opts: EncoderOptions): OutputEncoder {
  const ng = opts.format === 'pcapng'
  const mixed = ng && opts.mixedLinktypes === true
  const keepNflog = opts.linktype === LINKTYPE.NFLOG
  let streamLinktype = mixed ? undefined : opts.linktype
  // pcapng: interface id per sender/source (and link type when mixed), and the IDBs a new reader must be given.
  const ifaces = new Map<string, number>()
  const idbs: Buffer[] = []
  let named = 0
  /** OTHERS_NAME interface ids by link type (one key, -1, unless mixed). */
  const otherIfaces = new Map<number, number>()
  const shb = ng ? pcapngSectionHeader(opts.application) : EMPTY

  /** Link type a record is written with when the stream may choose (mixed pcapng, or auto). */
  const naturalLinktype = (batchLt: number, rec: WireRecord) => {
    const lt = recordLinktype(batchLt, rec)
    return rec.meta.length > 0 && keepNflog ? LINKTYPE.NFLOG : lt
  }

  return {
    get linktype() { return streamLinktype },
    preamble() {
      if (ng) return Buffer.concat([shb, ...idbs])
      return streamLinktype === undefined ? undefined : pcapHeader(streamLinktype)
    },
    explainSkip(skipped) {
      if (!mixed && streamLinktype === undefined) {
        return `${linktypeName(skipped)} is not a link type this pipeline knows, so it does not choose the stream's (the first packet of a known one does); --linktype ${skipped} writes such packets`
      }
      const stream = `this ${opts.format} stream has link type ${linktypeName(streamLinktype ?? -1)} and libpcap readers (tcpdump, Snort) take one per file`
      const mixedHint = `${ng ? '' : '--format pcapng '}--mixed-linktypes keeps every link type, for tshark/Wireshark only`
      if (IP_ONLY.has(streamLinktype ?? -1)) return `they carry no IP packet and ${stream}; ${mixedHint}`
      if (carriesIp(skipped)) return `${stream}; --linktype raw or --linktype nflog keeps their IP packets readable by every reader; ${mixedHint}`
      return `they cannot be converted and ${stream}; ${mixedHint}`
    },
    encode(batch, inPlace = false) {
      if (!ng && streamLinktype !== undefined && !keepNflog) {
        const fast = encodePcapDirect(batch, streamLinktype, inPlace)
        if (fast) return fast
      }
      const res: EncodeResult = { preface: EMPTY, chunk: EMPTY, written: 0, bytes: 0, skipped: 0, skippedLinktype: -1 }
      const out = Buffer.allocUnsafe(batch.records.length + batch.info.count * 48 + 1024)
      let o = 0
      let newIdbs: Buffer[] | undefined
      const label = senderLabel(batch.info.host, batch.info.sensorId)
      // The interface of the last record: every record of a batch has the same one unless mixed.
      let lastTarget = -1
      let lastIface = 0
      const addIdb = (idb: Buffer): number => {
        const id = idbs.length
        idbs.push(idb)
        ;(newIdbs ??= []).push(idb)
        return id
      }
      /** Interface id for `target`; -1 when no interface may be added for it (the packet is skipped). */
      const ifaceFor = (target: number): number => {
        if (target === lastTarget) return lastIface
        const shared = !mixed && LIBPCAP_ONE_IDB.has(target)
        const key = shared ? '' : mixed ? `${label}\0${batch.info.source}\0${target}` : `${label}\0${batch.info.source}`
        let id = ifaces.get(key)
        if (id === undefined && shared) {
          id = addIdb(pcapngInterface(target, SHARED_NAME, `every sender and source, ${linktypeName(target)} (libpcap reads one such interface per file)`))
          ifaces.set(key, id)
        } else if (id === undefined && named < MAX_INTERFACES) {
          named += 1
          const who = sanitize(label, 2 * NAME_CHARS + 1)
          const src = sanitize(batch.info.source, NAME_CHARS)
          id = addIdb(pcapngInterface(target, `${who}:${src}`, `${src} on ${who}, ${linktypeName(target)}`))
          ifaces.set(key, id)
        } else if (id === undefined) {
          const okey = mixed ? target : -1
          id = otherIfaces.get(okey)
          if (id === undefined) {
            if (otherIfaces.size >= MAX_OTHER_INTERFACES) return -1
            id = addIdb(pcapngInterface(target, OTHERS_NAME, `senders and sources past the first ${MAX_INTERFACES}, ${linktypeName(target)}`))
            otherIfaces.set(okey, id)
          }
        }
        lastTarget = target
        lastIface = id
        return id
      }
      const skip = (rec: WireRecord) => {
        res.skipped += 1
        res.skippedLinktype = recordLinktype(batch.info.linktype, rec)
      }
      forEachRecord(batch, (rec) => {
        const natural = naturalLinktype(batch.info.linktype, rec)
        if (!mixed && streamLinktype === undefined) {
          if (!isKnownLinktype(natural)) return skip(rec)
          streamLinktype = natural
        }
        const target = mixed ? natural : streamLinktype!
        const start = o + (ng ? 28 : PCAP_RECORD_HEADER)
        const end = writePayload(out, start, target, batch.info.linktype, rec)
        if (end < 0) return skip(rec)
        const caplen = end - start
        const origLen = rec.origLen - rec.data.length + caplen
        if (ng) {
          const iface = ifaceFor(target)
          if (iface < 0) return skip(rec)
          writeEpbHeader(out, o, iface, rec.tsSec, rec.tsNsec, caplen, origLen)
          o = finishEpb(out, o, caplen)
        } else {
          writePcapRecordHeader(out, o, rec.tsSec, rec.tsNsec, caplen, origLen)
          o = end
        }
        res.written += 1
        res.bytes += caplen
      })
      res.chunk = out.subarray(0, o)
      if (newIdbs) res.preface = Buffer.concat(newIdbs)
      return res
    },
  }
}

/**
 * The common case (every record already in the stream's link type, NFLOG captures into RAW) walked
 * by offset, with no per-record views. Returns undefined when some record needs conversion (or the
 * records are malformed), so the general path handles the batch; the check runs before anything
 * is written, so the batch is untouched then. Bounds are checked as forEachRecord does.
 *
 * In place, the records section itself becomes the pcap records: each 16-byte pcap header and its
 * packet are moved down over the wire header and NFLOG TLVs they replace (always at least 4 bytes
 * longer), with copyWithin, a memmove that needs no view object: no fresh buffer to allocate, fault
 * in and fill per batch. Only for a batch nobody else reads any more.
 */
function encodePcapDirect(batch: Batch, target: number, inPlace: boolean): EncodeResult | undefined {
  const b = batch.records
  const v = viewOf(b)
  const count = batch.info.count
  let r = 0
  let bytes = 0
  for (let i = 0; i < count; i++) {
    if (r + RECORD_HEADER > b.length) return undefined
    const caplen = v.getUint32(r + 12)
    const metaLen = v.getUint16(r + 16)
    const end = r + RECORD_HEADER + metaLen + caplen
    if (end > b.length) return undefined
    const own = metaLen > 0 ? LINKTYPE.RAW : batch.info.linktype
    if (own !== target || caplen > SNAPLEN) return undefined
    bytes += caplen
    r = end
  }
  if (r !== b.length) return undefined
  const out = inPlace ? b : Buffer.allocUnsafe(b.length + count * 16 + 16)
  const ov = inPlace ? v : viewOf(out)
  r = 0
  let o = 0
  for (let i = 0; i < count; i++) {
    const caplen = v.getUint32(r + 12)
    const start = r + RECORD_HEADER + v.getUint16(r + 16)
    const end = start + caplen
    // Fields first: in place, the new header can overlap the old one (o <= r, o + 16 < start).
    o = putPcapRecordHeader(ov, o, v.getUint32(r), v.getUint32(r + 4), caplen, v.getUint32(r + 8))
    // In place the target is at least 4 bytes below the source (16-byte header for a 20-byte one),
    // so a forward copy by words, or copyWithin's memmove, is safe.
    if (caplen >= 256 && inPlace) {
      b.copyWithin(o, start, end)
      o += caplen
    } else {
      o = copyBytes(out, ov, o, b, v, start, end)
    }
    r = end
  }
  return { preface: EMPTY, chunk: out.subarray(0, o), written: count, bytes, skipped: 0, skippedLinktype: -1 }
}

/**
 * Writes the record as `target` link type at `o`; returns the end offset, or -1 when the record
 * cannot be represented in that link type.
 */
function writePayload(b: Buffer, o: number, target: number, batchLt: number, rec: WireRecord): number {
  const split = rec.meta.length > 0
  const own = recordLinktype(batchLt, rec)
  if (target === LINKTYPE.NFLOG) {
    if (split) {
      o += rec.meta.copy(b, o)
      return writePayloadTlv(b, o, rec.data, 0, rec.data.length)
    }
    if (own === LINKTYPE.NFLOG) return o + rec.data.copy(b, o)
    const ip = ipOffset(own, rec.data)
    if (ip < 0) return -1
    o = writeSyntheticNflogHeader(b, o, rec.data[ip]! >> 4)
    return writePayloadTlv(b, o, rec.data, ip, rec.data.length)
  }
  if (own === target) return o + rec.data.copy(b, o, 0, Math.min(rec.data.length, SNAPLEN))
  if (target !== LINKTYPE.RAW) return -1
  const ip = ipOffset(own, rec.data)
  if (ip < 0) return -1
  const end = own === LINKTYPE.NFLOG ? ip + nflogPayloadLength(rec.data, ip) : rec.data.length
  return o + rec.data.copy(b, o, ip, Math.min(end, rec.data.length))
}

/** NFULA_PAYLOAD TLV (host-endian length/type, padded to 4 bytes as the kernel does). */
function writePayloadTlv(b: Buffer, o: number, d: Buffer, start: number, end: number): number {
  const n = Math.min(end - start, 0xffff - 4)
  b.writeUInt16LE(n + 4, o)
  b.writeUInt16LE(9, o + 2)
  d.copy(b, o + 4, start, start + n)
  const padded = o + 4 + ((n + 3) & ~3)
  b.fill(0, o + 4 + n, padded)
  return padded
}


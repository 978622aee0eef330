/**
 * LINKTYPE_* values (tcpdump.org/linktypes) used across the project, with name lookups both ways,
 * and their DLT_* counterparts. LINKTYPE_* is what capture files and our wire batches carry; DLT_*
 * is what libpcap's live and dead handles (pcap_open_dead, pcap_datalink) speak. The two agree
 * except for the few old types whose DLT differs between operating systems; the mapping here is
 * libpcap's own (pcap-common.c, linktype_to_dlt / dlt_to_linktype) with Linux's DLT values.
 */
export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  NFLOG: 239,
  LINUX_SLL2: 276,
} as const

/** DLT_* values on Linux (pcap/dlt.h) for the link types above, named as libpcap names them. */
export const DLT = {
  NULL: 0,
  EN10MB: 1,
  /** 14 on OpenBSD, 12 everywhere else. */
  RAW: 12,
  /** 12 on OpenBSD, 108 everywhere else. */
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  NFLOG: 239,
  LINUX_SLL2: 276,
} as const

const byNumber = new Map<number, string>(Object.entries(LINKTYPE).map(([k, v]) => [v, k]))
const dltByNumber = new Map<number, string>(Object.entries(DLT).map(([k, v]) => [v, k]))

/**
 * Whether the pipeline knows this link type (it is in LINKTYPE above): only such a packet may
 * choose an automatic output link type, so one odd packet cannot fix the stream to a type that
 * every real packet after it would be skipped for.
 */
export function isKnownLinktype(n: number): boolean {
  return byNumber.has(n)
}

/** "RAW" for 101; "LINKTYPE_1234" for numbers without a name here. */
export function linktypeName(n: number): string {
  return byNumber.get(n) ?? `LINKTYPE_${n}`
}

/** Parses "raw", "nflog", "ethernet", "LINKTYPE_RAW" or a number; undefined when unknown. */
export function linktypeFromName(s: string): number | undefined {
  const up = s.trim().toUpperCase().replace(/^LINKTYPE_/, '')
  if (/^\d+$/.test(up)) return Number(up)
  return (LINKTYPE as Record<string, number>)[up === 'SLL' ? 'LINUX_SLL' : up === 'SLL2' ? 'LINUX_SLL2' : up]
}

/** "RAW" for DLT 12; "DLT_1234" for numbers without a name here. */
export function dltName(n: number): string {
  return dltByNumber.get(n) ?? `DLT_${n}`
}

/** Parses "raw", "en10mb", "DLT_RAW" or a number; undefined when unknown. */
export function dltFromName(s: string): number | undefined {
  const up = s.trim().toUpperCase().replace(/^DLT_/, '')
  if (/^\d+$/.test(up)) return Number(up)
  return (DLT as Record<string, number>)[up]
}

/**
 * The LINKTYPE <-> DLT pairs whose numbers differ on Linux (pcap-common.c's map[] outside the
 * "matching" range, plus LINKTYPE_ATM_CLIP which sits inside it): [LINKTYPE, DLT].
 */
const DIFFERING: ReadonlyArray<readonly [number, number]> = [
  [100, 11], // ATM_RFC1483
  [LINKTYPE.RAW, DLT.RAW],
  [102, 15], // SLIP_BSDOS
  [103, 16], // PPP_BSDOS
  [106, 19], // ATM_CLIP
]
const dltOf = new Map<number, number>(DIFFERING)
const linktypeOf = new Map<number, number>(DIFFERING.map(([l, d]) => [d, l]))

/** LINKTYPE_MATCHING_MIN/MAX: in this range a LINKTYPE value is its DLT value (ATM_CLIP aside, one way). */
const MATCHING_MIN = 104
const MATCHING_MAX = 290
/** Values below 100 that mean the same on every platform (DLT_NULL..DLT_FDDI, PPP_HDLC, PPP_ETHER, SYMANTEC_FIREWALL). */
const SAME_LOW = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 50, 51, 99])

/**
 * linktype_to_dlt: the DLT to hand pcap_open_dead for packets of this LINKTYPE. Like libpcap, a
 * number it has no entry for is passed through (it may be a DLT written by an old libpcap).
 * LINKTYPE 14 is OpenBSD's DLT_RAW written straight into a file; the decoders read it as raw IP,
 * so it maps to DLT_RAW here too (libpcap on Linux would not know it).
 */
export function linktypeToDlt(linktype: number): number {
  const d = dltOf.get(linktype)
  if (d !== undefined) return d
  if (linktype === 14) return DLT.RAW
  return linktype
}

/**
 * dlt_to_linktype: the LINKTYPE to write into a capture file for packets a libpcap handle reports
 * with this DLT; undefined when no LINKTYPE is assigned (libpcap returns -1).
 */
export function dltToLinktype(dlt: number): number | undefined {
  const l = linktypeOf.get(dlt)
  if (l !== undefined) return l
  if (SAME_LOW.has(dlt) || (dlt >= MATCHING_MIN && dlt <= MATCHING_MAX)) return dlt
  return undefined
}

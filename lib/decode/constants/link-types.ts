import { constantTable } from './table.js'

/** LINKTYPE_* values (tcpdump.org/linktypes.html) that the decoders understand. */
export const LINKTYPE_NULL = 0
export const LINKTYPE_ETHERNET = 1
/** ANSI INCITS 239-1994 FDDI: frame control, destination and source addresses, then 802.2 LLC. */
export const LINKTYPE_FDDI = 10
/** DLT_RAW as written by some systems' pcap files (12 on most BSDs, 14 on OpenBSD). */
export const LINKTYPE_RAW_BSD12 = 12
export const LINKTYPE_RAW_BSD14 = 14
export const LINKTYPE_RAW = 101
export const LINKTYPE_LOOP = 108
export const LINKTYPE_LINUX_SLL = 113
export const LINKTYPE_IPV4 = 228
export const LINKTYPE_IPV6 = 229
export const LINKTYPE_NFLOG = 239
export const LINKTYPE_LINUX_SLL2 = 276

export const linkTypes = constantTable([
  [LINKTYPE_NULL, 'NULL'],
  [LINKTYPE_ETHERNET, 'ETHERNET'],
  [LINKTYPE_FDDI, 'FDDI'],
  [LINKTYPE_RAW_BSD12, 'RAW_BSD12'],
  [LINKTYPE_RAW_BSD14, 'RAW_BSD14'],
  [LINKTYPE_RAW, 'RAW'],
  [LINKTYPE_LOOP, 'LOOP'],
  [LINKTYPE_LINUX_SLL, 'LINUX_SLL'],
  [LINKTYPE_IPV4, 'IPV4'],
  [LINKTYPE_IPV6, 'IPV6'],
  [LINKTYPE_NFLOG, 'NFLOG'],
  [LINKTYPE_LINUX_SLL2, 'LINUX_SLL2'],
])

/** Address family values seen in NULL/LOOP headers: AF_INET is 2 everywhere, AF_INET6 varies by OS. */
export const AF_INET = 2
export const AF_INET6_LINUX = 10
export const AF_INET6_BSD = 24
export const AF_INET6_FREEBSD = 28
export const AF_INET6_DARWIN = 30

export function isAfInet6(af: number): boolean {
  return af === AF_INET6_LINUX || af === AF_INET6_BSD || af === AF_INET6_FREEBSD || af === AF_INET6_DARWIN
}

/** NFULA_* TLV types of an NFLOG record (linux/netfilter/nfnetlink_log.h). */
export const NFULA_PACKET_HDR = 1
export const NFULA_MARK = 2
export const NFULA_TIMESTAMP = 3
export const NFULA_IFINDEX_INDEV = 4
export const NFULA_IFINDEX_OUTDEV = 5
export const NFULA_HWADDR = 8
export const NFULA_PAYLOAD = 9
export const NFULA_PREFIX = 10
export const NFULA_UID = 11
export const NFULA_GID = 14

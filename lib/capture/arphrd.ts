import { DLT, dltToLinktype, LINKTYPE } from '../pcap/linktypes.js'

/**
 * ARPHRD_* (linux/if_arphdr.h), an interface's hardware type, and the link type a capture on it
 * gets: libpcap's map_arphrd_to_dlt (pcap-linux.c) in DLT terms, turned into a LINKTYPE through
 * the one LINKTYPE <-> DLT table. Types libpcap has no DLT for, and those it deliberately runs
 * cooked (PPP, ATM, GRE and IPv6 tunnels, which hand AF_PACKET no dependable link header), are
 * captured on a SOCK_DGRAM socket with an SLL2 header built from the ring's sockaddr_ll, as
 * libpcap does for `-i any` (it uses the older SLL for one cooked interface; SLL2 also names it).
 */
export const ARPHRD = {
  NETROM: 0,
  ETHER: 1,
  EETHER: 2,
  AX25: 3,
  PRONET: 4,
  CHAOS: 5,
  IEEE802: 6,
  ARCNET: 7,
  DLCI: 15,
  ATM: 19,
  METRICOM: 23,
  SLIP: 256,
  CSLIP: 257,
  SLIP6: 258,
  CSLIP6: 259,
  ADAPT: 264,
  CAN: 280,
  PPP: 512,
  CISCO: 513,
  RAWHDLC: 518,
  TUNNEL: 768,
  TUNNEL6: 769,
  FRAD: 770,
  LOOPBACK: 772,
  LOCALTLK: 773,
  FDDI: 774,
  SIT: 776,
  IPGRE: 778,
  IEEE802_TR: 800,
  IEEE80211: 801,
  IEEE80211_PRISM: 802,
  IEEE80211_RADIOTAP: 803,
  IEEE802154: 804,
  IP6GRE: 823,
  NETLINK: 824,
  VSOCKMON: 826,
  NONE: 0xfffe,
} as const

/** How frames are read from the socket and what is done to them. */
export type CaptureMode =
  /** SOCK_RAW: the frame as the device has it (Ethernet gets its VLAN tag back). */
  | 'raw'
  /** SOCK_DGRAM, LINKTYPE_LINUX_SLL2 header in front of the network-layer packet. */
  | 'cooked'
  /** SOCK_DGRAM, the packet as is: link types whose "frame" is what the device hands up (netlink). */
  | 'dgram'

export interface InterfaceLinktype {
  linktype: number
  mode: CaptureMode
}

/** DLT_* values libpcap gives the types below that lib/pcap/linktypes.ts has no name for. */
const D = {
  EN3MB: 2, AX25_KISS: 202, PRONET: 4, CHAOS: 5, IEEE802: 6, ARCNET_LINUX: 129, FDDI: 10, CAN_SOCKETCAN: 227,
  IEEE802_11: 105, PRISM_HEADER: 119, IEEE802_11_RADIO: 127, C_HDLC: 104, FRELAY: 107, LTALK: 114,
  IP_OVER_FC: 122, IEEE802_15_4_NOFCS: 230, NETLINK: 253, VSOCK: 271,
} as const

const RAW_IP = new Set<number>([
  ARPHRD.NONE, ARPHRD.TUNNEL, ARPHRD.SIT, ARPHRD.CSLIP, ARPHRD.SLIP6, ARPHRD.CSLIP6, ARPHRD.ADAPT,
  ARPHRD.SLIP, ARPHRD.RAWHDLC, ARPHRD.DLCI,
])

const DLT_OF = new Map<number, number>([
  [ARPHRD.ETHER, DLT.EN10MB],
  [ARPHRD.METRICOM, DLT.EN10MB],
  // Linux loopback hands AF_PACKET a fake Ethernet header (zero addresses, the real ethertype).
  [ARPHRD.LOOPBACK, DLT.EN10MB],
  [ARPHRD.EETHER, D.EN3MB],
  [ARPHRD.AX25, D.AX25_KISS],
  [ARPHRD.PRONET, D.PRONET],
  [ARPHRD.CHAOS, D.CHAOS],
  [ARPHRD.IEEE802, D.IEEE802],
  [ARPHRD.IEEE802_TR, D.IEEE802],
  [ARPHRD.ARCNET, D.ARCNET_LINUX],
  [ARPHRD.FDDI, D.FDDI],
  [ARPHRD.IEEE80211, D.IEEE802_11],
  [ARPHRD.IEEE80211_PRISM, D.PRISM_HEADER],
  [ARPHRD.IEEE80211_RADIOTAP, D.IEEE802_11_RADIO],
  [ARPHRD.CISCO, D.C_HDLC],
  [ARPHRD.FRAD, D.FRELAY],
  [ARPHRD.LOCALTLK, D.LTALK],
  [18, D.IP_OVER_FC],
  [ARPHRD.IEEE802154, D.IEEE802_15_4_NOFCS],
  [ARPHRD.VSOCKMON, D.VSOCK],
])

/**
 * The link type and capture mode for an interface of hardware type `arphrd`. CAN frames are not
 * captured: libpcap rewrites their headers per protocol (CAN CC/FD/XL byte orders), which is
 * beyond this tool; they fall back to cooked like any unknown type.
 */
export function interfaceLinktype(arphrd: number): InterfaceLinktype {
  if (RAW_IP.has(arphrd)) return { linktype: LINKTYPE.RAW, mode: 'raw' }
  if (arphrd === ARPHRD.NETLINK) return { linktype: dltToLinktype(D.NETLINK)!, mode: 'dgram' }
  const dlt = DLT_OF.get(arphrd)
  if (dlt !== undefined) return { linktype: dltToLinktype(dlt) ?? dlt, mode: 'raw' }
  return { linktype: LINKTYPE.LINUX_SLL2, mode: 'cooked' }
}

/** "ETHER" for 1; "ARPHRD_1234" for numbers without a name here. */
export function arphrdName(n: number): string {
  for (const [k, v] of Object.entries(ARPHRD)) if (v === n) return k
  return `ARPHRD_${n}`
}

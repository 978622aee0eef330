/**
 * IANA "Assigned Internet Protocol Numbers" keywords, uppercased, for event protocol_name.
 * TCP, UDP, ICMP and ICMPv6 keep PokieStream's spelling (its plugins compare these strings).
 */
const NAMES: Record<number, string> = {
  0: 'HOPOPT', 1: 'ICMP', 2: 'IGMP', 3: 'GGP', 4: 'IPV4', 5: 'ST', 6: 'TCP', 7: 'CBT', 8: 'EGP',
  9: 'IGP', 12: 'PUP', 17: 'UDP', 20: 'HMP', 22: 'XNS-IDP', 27: 'RDP', 29: 'ISO-TP4', 33: 'DCCP',
  36: 'XTP', 37: 'DDP', 41: 'IPV6', 43: 'IPV6-ROUTE', 44: 'IPV6-FRAG', 45: 'IDRP', 46: 'RSVP',
  47: 'GRE', 48: 'DSR', 50: 'ESP', 51: 'AH', 55: 'MOBILE', 58: 'ICMPv6', 59: 'IPV6-NONXT',
  60: 'IPV6-OPTS', 73: 'RSPF', 80: 'ISO-IP', 88: 'EIGRP', 89: 'OSPFIGP', 94: 'IPIP', 97: 'ETHERIP',
  98: 'ENCAP', 103: 'PIM', 108: 'IPCOMP', 112: 'VRRP', 113: 'PGM', 115: 'L2TP', 118: 'STP',
  121: 'SMP', 124: 'ISIS', 132: 'SCTP', 133: 'FC', 135: 'MOBILITY-HEADER', 136: 'UDPLITE',
  137: 'MPLS-IN-IP', 138: 'MANET', 139: 'HIP', 140: 'SHIM6', 141: 'WESP', 142: 'ROHC', 143: 'ETHERNET',
}

/** protocol_name for an IP protocol number; unassigned numbers read "PROTO-<n>". */
export function protocolName(num: number): string {
  return NAMES[num] ?? `PROTO-${num}`
}

export const IPPROTO_ICMP = 1
export const IPPROTO_TCP = 6
export const IPPROTO_UDP = 17
export const IPPROTO_ICMPV6 = 58

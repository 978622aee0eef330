import { constantTable } from './table.js'

/** IP protocol numbers (IANA "Assigned Internet Protocol Numbers") the decoders act on. */
export const IPPROTO_HOPOPTS = 0
export const IPPROTO_ICMP = 1
export const IPPROTO_IGMP = 2
export const IPPROTO_IPIP = 4
export const IPPROTO_TCP = 6
export const IPPROTO_UDP = 17
export const IPPROTO_DCCP = 33
export const IPPROTO_IPV6 = 41
export const IPPROTO_ROUTING = 43
export const IPPROTO_FRAGMENT = 44
export const IPPROTO_GRE = 47
export const IPPROTO_ESP = 50
export const IPPROTO_AH = 51
export const IPPROTO_ICMPV6 = 58
export const IPPROTO_NONE = 59
export const IPPROTO_DSTOPTS = 60
export const IPPROTO_SCTP = 132
export const IPPROTO_MOBILITY = 135
export const IPPROTO_HIP = 139
export const IPPROTO_SHIM6 = 140
export const IPPROTO_UDPLITE = 136

/** IANA keywords, exactly as the registry spells them (numbers 0..145; unassigned gaps omitted). */
const KEYWORDS = [
  'HOPOPT', 'ICMP', 'IGMP', 'GGP', 'IPv4', 'ST', 'TCP', 'CBT', 'EGP', 'IGP', 'BBN-RCC-MON', 'NVP-II', 'PUP',
  'ARGUS', 'EMCON', 'XNET', 'CHAOS', 'UDP', 'MUX', 'DCN-MEAS', 'HMP', 'PRM', 'XNS-IDP', 'TRUNK-1', 'TRUNK-2',
  'LEAF-1', 'LEAF-2', 'RDP', 'IRTP', 'ISO-TP4', 'NETBLT', 'MFE-NSP', 'MERIT-INP', 'DCCP', '3PC', 'IDPR', 'XTP',
  'DDP', 'IDPR-CMTP', 'TP++', 'IL', 'IPv6', 'SDRP', 'IPv6-Route', 'IPv6-Frag', 'IDRP', 'RSVP', 'GRE', 'DSR',
  'BNA', 'ESP', 'AH', 'I-NLSP', 'SWIPE', 'NARP', 'Min-IPv4', 'TLSP', 'SKIP', 'IPv6-ICMP', 'IPv6-NoNxt',
  'IPv6-Opts', '', 'CFTP', '', 'SAT-EXPAK', 'KRYPTOLAN', 'RVD', 'IPPC', '', 'SAT-MON', 'VISA', 'IPCV', 'CPNX',
  'CPHB', 'WSN', 'PVP', 'BR-SAT-MON', 'SUN-ND', 'WB-MON', 'WB-EXPAK', 'ISO-IP', 'VMTP', 'SECURE-VMTP', 'VINES',
  'IPTM', 'NSFNET-IGP', 'DGP', 'TCF', 'EIGRP', 'OSPFIGP', 'Sprite-RPC', 'LARP', 'MTP', 'AX.25', 'IPIP', 'MICP',
  'SCC-SP', 'ETHERIP', 'ENCAP', '', 'GMTP', 'IFMP', 'PNNI', 'PIM', 'ARIS', 'SCPS', 'QNX', 'A/N', 'IPComp', 'SNP',
  'Compaq-Peer', 'IPX-in-IP', 'VRRP', 'PGM', '', 'L2TP', 'DDX', 'IATP', 'STP', 'SRP', 'UTI', 'SMP', 'SM', 'PTP',
  'ISIS-over-IPv4', 'FIRE', 'CRTP', 'CRUDP', 'SSCOPMCE', 'IPLT', 'SPS', 'PIPE', 'SCTP', 'FC', 'RSVP-E2E-IGNORE',
  'Mobility-Header', 'UDPLite', 'MPLS-in-IP', 'manet', 'HIP', 'Shim6', 'WESP', 'ROHC', 'Ethernet', 'AGGFRAG', 'NSH',
]

const pairs: Array<readonly [number, string]> = []
KEYWORDS.forEach((k, i) => { if (k !== '') pairs.push([i, k]) })
// Common spellings accepted on input (config files, filters); the IANA keyword stays the output name.
pairs.push([IPPROTO_ICMPV6, 'ICMPv6'], [IPPROTO_ICMPV6, 'ICMP6'], [IPPROTO_HOPOPTS, 'IPv6-HopOpts'])

export const ipProtocols = constantTable(pairs)

/**
 * IPv6 extension headers that the decoders walk through (RFC 8200 section 4 order). ESP is not
 * walkable (its next-header field is encrypted) and ends the chain.
 */
export function isIpv6ExtensionHeader(proto: number): boolean {
  return proto === IPPROTO_HOPOPTS || proto === IPPROTO_ROUTING || proto === IPPROTO_FRAGMENT ||
    proto === IPPROTO_DSTOPTS || proto === IPPROTO_AH || proto === IPPROTO_MOBILITY ||
    proto === IPPROTO_HIP || proto === IPPROTO_SHIM6
}

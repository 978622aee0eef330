import { constantTable } from './table.js'

/** EtherType values (IEEE registry) used by the decoders. */
export const ETHERTYPE_IPV4 = 0x0800
export const ETHERTYPE_ARP = 0x0806
export const ETHERTYPE_CDP_DTP = 0x2000
export const ETHERTYPE_RARP = 0x8035
export const ETHERTYPE_VLAN = 0x8100
export const ETHERTYPE_IPV6 = 0x86dd
export const ETHERTYPE_MPLS = 0x8847
export const ETHERTYPE_MPLS_MULTICAST = 0x8848
export const ETHERTYPE_PPPOE_SESSION = 0x8864
export const ETHERTYPE_QINQ = 0x88a8
export const ETHERTYPE_LLDP = 0x88cc
export const ETHERTYPE_MACSEC = 0x88e5
/** IEEE 802.1ah provider backbone bridging: the I-TAG, then the customer's MAC addresses. */
export const ETHERTYPE_PBB_ITAG = 0x88e7
/** Cisco FabricPath: FTag/TTL, then the whole original Ethernet frame. */
export const ETHERTYPE_FABRICPATH = 0x8903
/** Cisco VN-Tag (802.1Qbh precursor): 4 bytes of virtual interface ids, then the next EtherType. */
export const ETHERTYPE_VNTAG = 0x8926
/** Pre-standard QinQ outer tag still emitted by some switches. */
export const ETHERTYPE_QINQ_OLD = 0x9100
/** Values up to 1500 are an 802.3 length, not an EtherType: an 802.2 LLC header follows. */
export const ETHERNET_MAX_LENGTH = 1500

export const etherTypes = constantTable([
  [ETHERTYPE_IPV4, 'IPv4'],
  [ETHERTYPE_ARP, 'ARP'],
  [ETHERTYPE_CDP_DTP, 'CDP'],
  [ETHERTYPE_RARP, 'RARP'],
  [ETHERTYPE_VLAN, 'IEEE_802_1Q'],
  [0x809b, 'AppleTalk'],
  [0x8137, 'IPX'],
  [ETHERTYPE_IPV6, 'IPv6'],
  [0x8808, 'Ethernet_Flow_Control'],
  [0x8809, 'Slow_Protocols'],
  [ETHERTYPE_MPLS, 'MPLS'],
  [ETHERTYPE_MPLS_MULTICAST, 'MPLS_Multicast'],
  [0x8863, 'PPPoE_Discovery'],
  [ETHERTYPE_PPPOE_SESSION, 'PPPoE_Session'],
  [0x888e, 'EAPOL'],
  [ETHERTYPE_QINQ, 'IEEE_802_1ad'],
  [0x88a2, 'AoE'],
  [ETHERTYPE_LLDP, 'LLDP'],
  [ETHERTYPE_MACSEC, 'MACsec'],
  [ETHERTYPE_PBB_ITAG, 'IEEE_802_1ah'],
  [ETHERTYPE_FABRICPATH, 'Cisco_FabricPath'],
  [ETHERTYPE_VNTAG, 'VN_Tag'],
  [0x88f7, 'PTP'],
  [0x8902, 'CFM'],
  [ETHERTYPE_QINQ_OLD, 'QinQ_9100'],
])

export function isVlanTag(type: number): boolean {
  return type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ || type === ETHERTYPE_QINQ_OLD
}

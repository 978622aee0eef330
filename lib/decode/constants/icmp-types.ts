import { constantTable } from './table.js'

/** ICMP (RFC 792 and successors) message types. */
export const ICMP_ECHO_REPLY = 0
export const ICMP_ECHO_REQUEST = 8

export const icmpTypes = constantTable([
  [0, 'Echo_Reply'],
  [3, 'Destination_Unreachable'],
  [4, 'Source_Quench'],
  [5, 'Redirect'],
  [8, 'Echo_Request'],
  [9, 'Router_Advertisement'],
  [10, 'Router_Solicitation'],
  [11, 'Time_Exceeded'],
  [12, 'Parameter_Problem'],
  [13, 'Timestamp_Request'],
  [14, 'Timestamp_Reply'],
  [15, 'Information_Request'],
  [16, 'Information_Reply'],
  [17, 'Address_Mask_Request'],
  [18, 'Address_Mask_Reply'],
  [30, 'Traceroute'],
  [42, 'Extended_Echo_Request'],
  [43, 'Extended_Echo_Reply'],
])

/** ICMPv6 (RFC 4443, RFC 4861 neighbour discovery, MLD) message types. */
export const ICMPV6_ECHO_REQUEST = 128
export const ICMPV6_ECHO_REPLY = 129

export const icmpv6Types = constantTable([
  [1, 'Destination_Unreachable'],
  [2, 'Packet_Too_Big'],
  [3, 'Time_Exceeded'],
  [4, 'Parameter_Problem'],
  [128, 'Echo_Request'],
  [129, 'Echo_Reply'],
  [130, 'Multicast_Listener_Query'],
  [131, 'Multicast_Listener_Report'],
  [132, 'Multicast_Listener_Done'],
  [133, 'Router_Solicitation'],
  [134, 'Router_Advertisement'],
  [135, 'Neighbor_Solicitation'],
  [136, 'Neighbor_Advertisement'],
  [137, 'Redirect'],
  [138, 'Router_Renumbering'],
  [143, 'Multicast_Listener_Report_v2'],
  [160, 'Extended_Echo_Request'],
  [161, 'Extended_Echo_Reply'],
])

/** IGMP (RFC 1112, 2236, 3376) message types. */
export const igmpTypes = constantTable([
  [0x11, 'Membership_Query'],
  [0x12, 'V1_Membership_Report'],
  [0x16, 'V2_Membership_Report'],
  [0x17, 'Leave_Group'],
  [0x22, 'V3_Membership_Report'],
])

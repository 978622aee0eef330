/**
 * Every protocol key and attribute name decodePacket can emit (docs/packet-fields.md describes
 * them). Attribute filters are validated against this list, and a test checks the decoders emit
 * nothing outside it, so the names stay stable.
 */
const VLAN = ['Priority', 'DEI', 'VLAN_ID', 'Type', 'Type_Name', 'Length']

export const PACKET_FIELDS: Readonly<Record<string, readonly string[]>> = {
  Ethernet: ['Destination_Address', 'Source_Address', 'Type', 'Type_Name', 'Length'],
  IEEE_802_1Q: VLAN,
  IEEE_802_1ad: VLAN,
  Linux_SLL: ['Packet_Type', 'ARPHRD_Type', 'Source_Address', 'Protocol'],
  Linux_SLL2: ['Protocol', 'Interface_Index', 'ARPHRD_Type', 'Packet_Type', 'Source_Address'],
  Null: ['Address_Family'],
  Loop: ['Address_Family'],
  NFLOG: ['Address_Family', 'Version', 'Resource_ID', 'Prefix', 'Mark', 'Input_Interface', 'Output_Interface', 'UID', 'GID'],
  MACsec: ['Association_Number', 'Encrypted', 'Changed', 'End_Station', 'Short_Length', 'Packet_Number', 'SCI'],
  MPLS: ['Labels'],
  PPPoE: ['Version', 'Type', 'Code', 'Session_ID', 'Length', 'PPP_Protocol'],
  LLC: ['DSAP', 'DSAP_Name', 'SSAP', 'Command_Response', 'Control'],
  SNAP: ['OUI', 'Protocol_ID'],
  STP: ['Protocol_ID', 'Version', 'BPDU_Type', 'BPDU_Type_Name', 'Flags', 'Topology_Change', 'Topology_Change_Ack',
    'Root_ID', 'Root_Priority', 'Root_Address', 'Root_Path_Cost', 'Bridge_ID', 'Bridge_Priority', 'Bridge_Address',
    'Port_ID', 'Message_Age', 'Max_Age', 'Hello_Time', 'Forward_Delay', 'Port_Role', 'Proposal', 'Learning',
    'Forwarding', 'Agreement', 'Version_1_Length', 'Version_3_Length'],
  CDP: ['Version', 'TTL', 'Checksum', 'Checksum_Valid', 'Device_ID', 'Addresses', 'Port_ID', 'Capabilities',
    'Software_Version', 'Platform', 'VTP_Management_Domain', 'Native_VLAN', 'Duplex', 'MTU', 'System_Name',
    'Management_Addresses', 'Other_TLV_Types'],
  LLDP: ['Chassis_ID_Subtype', 'Chassis_ID', 'Port_ID_Subtype', 'Port_ID', 'TTL', 'Port_Description', 'System_Name',
    'System_Description', 'System_Capabilities', 'Enabled_Capabilities', 'Management_Addresses', 'Organizationally_Specific'],
  ARP: ['Hardware_Type', 'Protocol_Type', 'Hardware_Size', 'Protocol_Size', 'Opcode', 'Opcode_Name',
    'Sender_Hardware_Address', 'Sender_Protocol_Address', 'Target_Hardware_Address', 'Target_Protocol_Address'],
  IPv4: ['Version', 'Header_Length', 'DSCP', 'ECN', 'Total_Length', 'Identification', 'Flags', 'Fragment_Offset', 'TTL',
    'Protocol', 'Protocol_Name', 'Header_Checksum', 'Checksum_Valid', 'Source_Address', 'Destination_Address', 'Options', 'Fragment',
    'Segmentation_Offload'],
  IPv6: ['Version', 'Traffic_Class', 'Flow_Label', 'Payload_Length', 'Next_Header', 'Hop_Limit', 'Source_Address',
    'Destination_Address', 'Jumbo_Payload_Length', 'Extension_Headers', 'Protocol', 'Protocol_Name', 'Fragment'],
  ICMP: ['Type', 'Type_Name', 'Code', 'Checksum', 'Checksum_Valid', 'Identifier', 'Sequence_Number', 'Gateway_Address', 'Next_Hop_MTU'],
  ICMPv6: ['Type', 'Type_Name', 'Code', 'Checksum', 'Checksum_Valid', 'Identifier', 'Sequence_Number', 'MTU', 'Router',
    'Solicited', 'Override', 'Target_Address', 'Hop_Limit', 'Router_Lifetime'],
  IGMP: ['Version', 'Type', 'Type_Name', 'Max_Response_Time', 'Checksum', 'Checksum_Valid', 'Number_Of_Records', 'Group_Address'],
  TCP: ['Source_Port', 'Destination_Port', 'Sequence_Number', 'Acknowledgment_Number', 'Header_Length', 'Flags',
    'Flags_Value', 'Window_Size', 'Checksum', 'Checksum_Valid', 'Urgent_Pointer', 'Options', 'Payload_Length'],
  UDP: ['Source_Port', 'Destination_Port', 'Length', 'Checksum', 'Checksum_Valid', 'Payload_Length'],
  SCTP: ['Source_Port', 'Destination_Port', 'Verification_Tag', 'Checksum', 'Checksum_Valid', 'First_Chunk_Type'],
  DCCP: ['Source_Port', 'Destination_Port', 'Data_Offset', 'Checksum_Coverage', 'Checksum', 'Checksum_Valid', 'Type',
    'Type_Name', 'Extended_Sequence'],
  UDPLite: ['Source_Port', 'Destination_Port', 'Checksum_Coverage', 'Checksum', 'Checksum_Valid'],
}

/** The registry entry for a packet key; "IEEE_802_1Q_2" (a repeated layer) shares "IEEE_802_1Q"'s fields. */
export function fieldsOf(protocolKey: string): readonly string[] | undefined {
  if (Object.hasOwn(PACKET_FIELDS, protocolKey)) return PACKET_FIELDS[protocolKey]
  const m = /^(.+)_(\d+)$/.exec(protocolKey)
  return m && Object.hasOwn(PACKET_FIELDS, m[1]) ? PACKET_FIELDS[m[1]] : undefined
}

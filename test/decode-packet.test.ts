import test from 'ava'
import { decodePacket, type DecodedPacket, type LayerObject } from '../lib/decode/packet.js'
import { fieldsOf } from '../lib/decode/fields.js'
import {
  ethernet, fixL4Checksum, icmpEcho, ipv4, ipv6, ipv6Bytes, tcp, tcpV4Frame, udp, udpV4Frame,
} from './helpers/packet-builder.js'

const layer = (p: DecodedPacket, k: string): LayerObject => p[k] as LayerObject

/** Every protocol key and attribute a packet carries must be in the documented registry. */
function assertRegistered(t: { true: (v: boolean, m?: string) => void }, p: DecodedPacket): void {
  for (const [k, v] of Object.entries(p)) {
    if (k === 'error') continue
    const known = fieldsOf(k)
    t.true(known !== undefined, `protocol ${k} is registered`)
    for (const a of Object.keys(v as object)) t.true(known?.includes(a) === true, `${k}.${a} is registered`)
  }
}

test('Ethernet/IPv4/TCP tree: exact fields, flag names, decoded options, checksums', (t) => {
  const p = decodePacket(1, tcpV4Frame(Buffer.from('hello')))
  t.deepEqual(Object.keys(p), ['Ethernet', 'IPv4', 'TCP'])
  t.deepEqual(p.Ethernet, { Destination_Address: '02:00:00:00:00:02', Source_Address: '02:00:00:00:00:01', Type: 0x0800, Type_Name: 'IPv4' })
  t.like(layer(p, 'IPv4'), {
    Version: 4, Header_Length: 20, Total_Length: 20 + 40 + 5, Identification: 0x1234, Flags: ['DF'], Fragment_Offset: 0,
    TTL: 64, Protocol: 6, Protocol_Name: 'TCP', Checksum_Valid: true, Source_Address: '192.0.2.1', Destination_Address: '198.51.100.2',
  })
  t.like(layer(p, 'TCP'), {
    Source_Port: 40000, Destination_Port: 5000, Sequence_Number: 123456789, Acknowledgment_Number: 0, Header_Length: 40,
    Flags: ['SYN'], Flags_Value: 2, Window_Size: 65535, Checksum_Valid: true, Payload_Length: 5,
  })
  t.deepEqual(layer(p, 'TCP').Options, { MSS: 1460, SACK_Permitted: true, Timestamp: { Value: 1, Echo_Reply: 0 }, Window_Scale: 7 })
  t.is(p.error, undefined)
  assertRegistered(t, p)

  const bad = tcpV4Frame(); bad[bad.length - 1] ^= 1
  t.is(layer(decodePacket(1, bad), 'TCP').Checksum_Valid, false)
  const cut = tcpV4Frame().subarray(0, 14 + 20 + 40 + 2)
  const pc = decodePacket(1, cut)
  t.is(layer(pc, 'TCP').Checksum_Valid, null)
  t.is(layer(pc, 'IPv4').Checksum_Valid, true)
  t.is(pc.error, undefined)
})

test('TCP SACK blocks and unknown options', (t) => {
  const options = Buffer.from('0101050a0000000a00000014' + 'fe0401020000', 'hex')
  const p = decodePacket(228, ipv4(6, tcp(1, 2, 0x10 | 0x08, { options })))
  t.deepEqual(layer(p, 'TCP').Flags, ['PSH', 'ACK'])
  t.deepEqual(layer(p, 'TCP').Options, { SACK: [{ Left_Edge: 10, Right_Edge: 20 }], Other: [{ Kind: 0xfe, Length: 4, Data: '0102' }] })
})

test('IPv4 options list and non-first fragments', (t) => {
  const p = decodePacket(228, ipv4(17, udp(1, 2, Buffer.alloc(0)), { options: Buffer.from('94040000', 'hex') }))
  t.deepEqual(layer(p, 'IPv4').Options, [{ Type: 148, Name: 'Router_Alert', Length: 4, Data: '0000' }])
  t.is(layer(p, 'UDP').Checksum_Valid, null) // zero checksum over IPv4: not computed
  const f = decodePacket(228, ipv4(6, Buffer.alloc(32), { frag: 0x2000 | 10 }))
  t.like(layer(f, 'IPv4'), { Flags: ['MF'], Fragment_Offset: 80, Fragment: true })
  t.is(f.TCP, undefined)
})

test('UDP: lengths, checksum good/bad, bad length reported', (t) => {
  const p = decodePacket(1, udpV4Frame(Buffer.from('abcd')))
  t.like(layer(p, 'UDP'), { Source_Port: 5353, Destination_Port: 53, Length: 12, Checksum_Valid: true, Payload_Length: 4 })
  const b = udpV4Frame(); b[b.length - 1] ^= 0x55
  t.is(layer(decodePacket(1, b), 'UDP').Checksum_Valid, false)
  const l = udpV4Frame(); l.writeUInt16BE(400, 14 + 20 + 4)
  t.regex(decodePacket(1, l).error ?? '', /^UDP: bad length 400 at offset 34$/)
})

test('IPv6 extension headers list: hop-by-hop options, routing addresses, fragment, AH', (t) => {
  const hbh = Buffer.from('0000c20400000000', 'hex') // jumbo-style option TLV: type 0xc2, 4 bytes
  const rh = Buffer.alloc(24); rh[1] = 2; rh[2] = 2; rh[3] = 0; ipv6Bytes('2001:db8::99').copy(rh, 8)
  const frag = Buffer.alloc(8); frag.writeUInt16BE(1, 2); frag.writeUInt32BE(0xabcdef, 4)
  const ah = Buffer.alloc(16); ah[1] = 2; ah.writeUInt32BE(0x100, 4); ah.writeUInt32BE(7, 8)
  const p = decodePacket(229, ipv6(58, icmpEcho(128, 5, 6), { exts: [[0, hbh], [43, rh], [44, frag], [51, ah]] }))
  const ip = layer(p, 'IPv6')
  t.like(ip, { Version: 6, Next_Header: 0, Hop_Limit: 64, Source_Address: '2001:db8::1', Destination_Address: '2001:db8::2', Protocol: 58, Protocol_Name: 'IPv6-ICMP' })
  t.deepEqual(ip.Extension_Headers, [
    { Type: 'Hop_by_Hop_Options', Next_Header: 43, Length: 8, Options: [{ Type: 0xc2, Length: 4, Data: '00000000' }] },
    { Type: 'Routing', Next_Header: 44, Length: 24, Routing_Type: 2, Segments_Left: 0, Addresses: ['2001:db8::99'] },
    { Type: 'Fragment', Next_Header: 51, Length: 8, Fragment_Offset: 0, More_Fragments: true, Identification: 0xabcdef },
    { Type: 'Authentication_Header', Next_Header: 58, Length: 16, SPI: 0x100, Sequence: 7 },
  ])
  t.like(layer(p, 'ICMPv6'), { Type: 128, Type_Name: 'Echo_Request', Identifier: 5, Sequence_Number: 6, Checksum_Valid: null })
  assertRegistered(t, p)
})

test('IPv6 header loops and overruns stop with an error naming the header', (t) => {
  const dst = Buffer.alloc(8)
  const many = decodePacket(229, ipv6(59, Buffer.alloc(0), { exts: Array.from({ length: 30 }, (): [number, Buffer] => [60, dst]) }))
  t.regex(many.error ?? '', /^IPv6: too many extension headers at offset \d+$/)
  const over = ipv6(6, Buffer.alloc(8), { exts: [[60, Buffer.alloc(8)]] })
  over[41] = 3
  t.is(decodePacket(229, over).error, 'IPv6: Destination_Options header runs past the end at offset 40')
})

test('ICMP echo and ICMPv6 neighbor solicitation', (t) => {
  const v4 = fixL4Checksum(ipv4(1, icmpEcho(0, 77, 3)), 0, 20, 1, 2, false)
  t.like(layer(decodePacket(101, v4), 'ICMP'), { Type: 0, Type_Name: 'Echo_Reply', Code: 0, Identifier: 77, Sequence_Number: 3, Checksum_Valid: true })
  const ns = Buffer.alloc(24); ns[0] = 135; ipv6Bytes('fe80::1').copy(ns, 8)
  const v6 = fixL4Checksum(ipv6(58, ns), 0, 40, 58, 2)
  t.like(layer(decodePacket(229, v6), 'ICMPv6'), { Type: 135, Type_Name: 'Neighbor_Solicitation', Target_Address: 'fe80::1', Checksum_Valid: true })
})

test('ARP, 802.1Q and QinQ tags, LLDP, STP hand-built', (t) => {
  const arpBody = Buffer.from('0001080006040001' + '020000000001' + 'c0000201' + '000000000000' + 'c0000202', 'hex')
  const arp = decodePacket(1, ethernet(0x0806, arpBody, [[0x88a8, 100], [0x8100, 0xa000 | 20]]))
  t.deepEqual(Object.keys(arp), ['Ethernet', 'IEEE_802_1ad', 'IEEE_802_1Q', 'ARP'])
  t.like(layer(arp, 'IEEE_802_1Q'), { Priority: 5, DEI: 0, VLAN_ID: 20, Type: 0x0806, Type_Name: 'ARP' })
  t.like(layer(arp, 'ARP'), { Opcode: 1, Opcode_Name: 'Request', Sender_Hardware_Address: '02:00:00:00:00:01', Sender_Protocol_Address: '192.0.2.1', Target_Protocol_Address: '192.0.2.2' })
  const two = decodePacket(1, ethernet(0x0800, ipv4(17, udp(1, 2, Buffer.alloc(0))), [[0x8100, 1], [0x8100, 2]]))
  t.deepEqual(Object.keys(two).slice(0, 3), ['Ethernet', 'IEEE_802_1Q', 'IEEE_802_1Q_2'])

  const tlv = (type: number, v: Buffer): Buffer => { const h = Buffer.alloc(2); h.writeUInt16BE((type << 9) | v.length); return Buffer.concat([h, v]) }
  const lldp = Buffer.concat([
    tlv(1, Buffer.from('04020000000001', 'hex')), tlv(2, Buffer.from('\x05eth0', 'latin1')), tlv(3, Buffer.from('0078', 'hex')),
    tlv(5, Buffer.from('sw1')), tlv(7, Buffer.from('00140004', 'hex')), tlv(8, Buffer.from('0501c0000201020000000100', 'hex')), tlv(0, Buffer.alloc(0)),
  ])
  const l = decodePacket(1, ethernet(0x88cc, lldp))
  t.deepEqual(l.LLDP, {
    Chassis_ID_Subtype: 'MAC_Address', Chassis_ID: '02:00:00:00:00:01', Port_ID_Subtype: 'Interface_Name', Port_ID: 'eth0', TTL: 120,
    System_Name: 'sw1', System_Capabilities: ['Bridge', 'Router'], Enabled_Capabilities: ['Bridge'], Management_Addresses: ['192.0.2.1'],
  })
  t.is(l.error, undefined)
  t.regex(decodePacket(1, ethernet(0x88cc, lldp.subarray(0, lldp.length - 2))).error ?? '', /^LLDP: missing End Of LLDPDU TLV/)

  const bpdu = Buffer.from('000000' + '00' + '01' + '8001001906eab880' + '00000004' + '8001001906eab885' + '8005' + '0100' + '1400' + '0200' + '0f00', 'hex')
  const llc = Buffer.concat([Buffer.from('424203', 'hex'), bpdu])
  const frame = Buffer.concat([Buffer.from('0180c2000000020000000001', 'hex'), Buffer.from([0, llc.length]), llc])
  const s = decodePacket(1, frame)
  t.like(layer(s, 'LLC'), { DSAP: 0x42, DSAP_Name: 'STP', SSAP: 0x42, Control: 3 })
  t.like(layer(s, 'STP'), {
    BPDU_Type_Name: 'Configuration', Topology_Change: true, Root_ID: '8001.00:19:06:ea:b8:80', Root_Path_Cost: 4,
    Bridge_Address: '00:19:06:ea:b8:85', Port_ID: 0x8005, Message_Age: 1, Max_Age: 20, Hello_Time: 2, Forward_Delay: 15,
  })
  for (const p of [arp, two, l, s]) assertRegistered(t, p)
})

test('link headers: SLL, SLL2, NULL, LOOP, NFLOG with prefix', (t) => {
  const ip = fixL4Checksum(ipv4(17, udp(9, 10, Buffer.from('z'))), 0, 20, 17, 6)
  const sll = Buffer.alloc(16); sll.writeUInt16BE(4, 0); sll.writeUInt16BE(1, 2); sll.writeUInt16BE(6, 4); sll.writeUInt16BE(0x0800, 14)
  t.like(layer(decodePacket(113, Buffer.concat([sll, ip])), 'Linux_SLL'), { Packet_Type: 4, ARPHRD_Type: 1, Source_Address: '00:00:00:00:00:00', Protocol: 0x0800 })
  const sll2 = Buffer.alloc(20); sll2.writeUInt16BE(0x0800, 0); sll2.writeUInt32BE(3, 4); sll2[11] = 6
  const p2 = decodePacket(276, Buffer.concat([sll2, ip]))
  t.like(layer(p2, 'Linux_SLL2'), { Interface_Index: 3, Protocol: 0x0800 })
  t.like(layer(p2, 'UDP'), { Source_Port: 9, Checksum_Valid: true })
  t.like(layer(decodePacket(0, Buffer.concat([Buffer.from('02000000', 'hex'), ip])), 'Null'), { Address_Family: 2 })
  t.like(layer(decodePacket(108, Buffer.concat([Buffer.from('00000002', 'hex'), ip])), 'Loop'), { Address_Family: 2 })
  const pre = Buffer.from('0a000a0064726f7000000000', 'hex') // NFULA_PREFIX "drop", LE
  const pl = Buffer.alloc(4); pl.writeUInt16LE(4 + ip.length); pl.writeUInt16LE(9, 2)
  const nf = decodePacket(239, Buffer.concat([Buffer.from('02000001', 'hex'), pre, pl, ip]))
  t.like(layer(nf, 'NFLOG'), { Address_Family: 2, Resource_ID: 1, Prefix: 'drop' })
  t.like(layer(nf, 'UDP'), { Destination_Port: 10 })
  t.is(decodePacket(147, ip).error, 'Link: unsupported link type 147 at offset 0')
})

test('every prefix of every hand-built packet decodes without throwing and says why it stopped', (t) => {
  const frames: Array<[number, Buffer, number]> = [
    [1, tcpV4Frame(), 14 + 20 + 40],
    [1, udpV4Frame(), 14 + 20 + 8],
    [229, ipv6(58, icmpEcho(128, 1, 1), { exts: [[0, Buffer.alloc(8)], [60, Buffer.alloc(8)]] }), 40 + 16 + 8],
    [1, ethernet(0x0806, Buffer.from('0001080006040002020000000001c0000201020000000002c0000202', 'hex'), [[0x8100, 5]]), 14 + 4 + 28],
  ]
  for (const [lt, full, headers] of frames) {
    for (let n = 0; n <= full.length; n++) {
      const p = decodePacket(lt, Buffer.from(full.subarray(0, n)))
      t.notThrows(() => JSON.stringify(p))
      if (n < headers) t.truthy(p.error, `${n} bytes of linktype ${lt} should report an error`)
      else t.is(p.error, undefined, `${n} bytes of linktype ${lt} covers every header`)
    }
  }
})

test('SCTP, DCCP and UDP-Lite layers', (t) => {
  const sctp = Buffer.alloc(16); sctp.writeUInt16BE(36412); sctp.writeUInt16BE(2905, 2); sctp.writeUInt32BE(7, 4); sctp[12] = 1
  t.deepEqual(decodePacket(228, ipv4(132, sctp)).SCTP, { Source_Port: 36412, Destination_Port: 2905, Verification_Tag: 7, Checksum: 0, Checksum_Valid: null, First_Chunk_Type: 1 })
  const d = Buffer.alloc(24); d.writeUInt16BE(1); d.writeUInt16BE(2, 2); d[4] = 4; d[8] = (3 << 1) | 1
  const p = decodePacket(228, fixL4Checksum(ipv4(33, d), 0, 20, 33, 6))
  t.like(layer(p, 'DCCP'), { Source_Port: 1, Destination_Port: 2, Data_Offset: 16, Type: 3, Type_Name: 'Ack', Extended_Sequence: true, Checksum_Valid: true })
  const u = Buffer.alloc(12); u.writeUInt16BE(5); u.writeUInt16BE(6, 2)
  const q = decodePacket(228, fixL4Checksum(ipv4(136, u), 0, 20, 136, 6))
  t.like(layer(q, 'UDPLite'), { Source_Port: 5, Destination_Port: 6, Checksum_Coverage: 0, Checksum_Valid: true })
  for (const x of [p, q]) assertRegistered(t, x)
})

test('MPLS and PPPoE layers', (t) => {
  const ip = fixL4Checksum(ipv4(17, udp(1, 2, Buffer.from('x'))), 0, 20, 17, 6)
  const lbl = Buffer.alloc(8); lbl.writeUInt32BE((16006 << 12) | (5 << 9) | 255); lbl.writeUInt32BE((17 << 12) | 0x100 | 64, 4)
  const m = decodePacket(1, ethernet(0x8847, Buffer.concat([lbl, ip])))
  t.deepEqual(m.MPLS, { Labels: [
    { Label: 16006, Traffic_Class: 5, Bottom_Of_Stack: false, TTL: 255 }, { Label: 17, Traffic_Class: 0, Bottom_Of_Stack: true, TTL: 64 },
  ] })
  t.like(layer(m, 'UDP'), { Source_Port: 1, Checksum_Valid: true })
  const hdr = Buffer.from('1100002a00000021', 'hex'); hdr.writeUInt16BE(ip.length + 2, 4)
  const p = decodePacket(1, Buffer.concat([ethernet(0x8864, Buffer.concat([hdr, ip])), Buffer.alloc(6)]))
  t.deepEqual(p.PPPoE, { Version: 1, Type: 1, Code: 0, Session_ID: 42, Length: ip.length + 2, PPP_Protocol: 0x21 })
  t.like(layer(p, 'UDP'), { Destination_Port: 2, Checksum_Valid: true, Payload_Length: 1 })
  for (const x of [m, p]) assertRegistered(t, x)
})

test('MACsec layer', (t) => {
  const ip = fixL4Checksum(ipv4(17, udp(1, 2, Buffer.from('x'))), 0, 20, 17, 6)
  const tag = Buffer.from('2000000000420102030405060708', 'hex')
  const p = decodePacket(1, ethernet(0x88e5, Buffer.concat([tag, Buffer.from('0800', 'hex'), ip, Buffer.alloc(16)])))
  t.deepEqual(p.MACsec, { Association_Number: 0, Encrypted: false, Changed: false, End_Station: false, Short_Length: 0, Packet_Number: 0x42, SCI: '0102030405060708' })
  t.like(layer(p, 'UDP'), { Source_Port: 1, Checksum_Valid: true })
  const enc = decodePacket(1, ethernet(0x88e5, Buffer.concat([Buffer.from('2c00000000420102030405060708', 'hex'), Buffer.alloc(60)])))
  t.like(layer(enc, 'MACsec'), { Encrypted: true, Changed: true })
  t.is(enc.error, undefined)
  t.is(enc.IPv4, undefined)
  assertRegistered(t, p)
})

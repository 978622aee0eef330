import test from 'ava'
import { compileAttributeFilter } from '../lib/filter/attributes.js'
import { decodePacket } from '../lib/decode/packet.js'
import { isUserError } from '../lib/util/errors.js'
import { ethernet, fixL4Checksum, ipv4, ipv6, tcp, tcpV4Frame, udpV4Frame } from './helpers/packet-builder.js'

const tcpPkt = decodePacket(1, tcpV4Frame()) // 192.0.2.1:40000 -> 198.51.100.2:5000, SYN, MSS 1460
const udpPkt = decodePacket(1, udpV4Frame()) // 192.0.2.1:5353 -> 198.51.100.2:53
const v6Pkt = decodePacket(1, fixL4Checksum(ethernet(0x86dd, ipv6(6, tcp(1, 443, 0x12), { src: '2001:db8:0:0:0:0:0:1' })), 14, 54, 6, 16))
const vlanPkt = decodePacket(1, ethernet(0x0800, ipv4(6, tcp(1, 2, 0x10)), [[0x8100, 30]]))

const cases: Array<[string, unknown, boolean, boolean]> = [
  // [what, filter, matches TCP packet, matches UDP packet]
  ['the README example shape', { IPv4: { Source_Address: '192.0.2.1', Destination_Address: '198.51.100.2' }, TCP: { Destination_Port: 5000 } }, true, false],
  ['empty filter matches everything', {}, true, true],
  ['{} means protocol present', { UDP: {} }, false, true],
  ['all attributes must match', { IPv4: { Source_Address: '192.0.2.1', TTL: 63 } }, false, false],
  ['port given as a string', { UDP: { Destination_Port: '53' } }, false, true],
  ['flag name inside the flags list', { TCP: { Flags: 'SYN' } }, true, false],
  ['every listed flag must be set', { TCP: { Flags: ['SYN', 'ACK'] } }, false, false],
  ['nested option attribute', { TCP: { Options: { MSS: 1460 } } }, true, false],
  ['nested option mismatch', { TCP: { Options: { MSS: 536 } } }, false, false],
  ['MAC address attribute (not mistaken for an IPv6 address)', { Ethernet: { Source_Address: '02:00:00:00:00:01' } }, true, true],
  ['checksum verdicts are attributes', { IPv4: { Checksum_Valid: true }, UDP: { Checksum_Valid: true } }, false, true],
  ['absent protocol fails', { IPv6: {} }, false, false],
]

for (const [what, filter, tcpMatch, udpMatch] of cases) {
  test(`filter: ${what}`, (t) => {
    const f = compileAttributeFilter(filter)
    t.is(f(tcpPkt), tcpMatch, 'TCP packet')
    t.is(f(udpPkt), udpMatch, 'UDP packet')
  })
}

test('filter: IPv6 addresses match in any spelling; VLAN and repeated layers', (t) => {
  t.true(compileAttributeFilter({ IPv6: { Source_Address: '2001:DB8:0000::1' }, TCP: { Flags: ['SYN', 'ACK'] } })(v6Pkt))
  t.false(compileAttributeFilter({ IPv6: { Source_Address: '2001:db8::2' } })(v6Pkt))
  t.true(compileAttributeFilter({ IEEE_802_1Q: { VLAN_ID: 30 } })(vlanPkt))
  t.false(compileAttributeFilter({ IEEE_802_1Q: { VLAN_ID: 31 } })(vlanPkt))
  t.false(compileAttributeFilter({ IEEE_802_1Q_2: {} })(vlanPkt))
})

const bad: Array<[unknown, RegExp]> = [
  [null, /^filter: \(top level\): expected an object/],
  [[{ IPv4: {} }], /^filter: \(top level\): expected an object/],
  ['IPv4', /^filter: \(top level\)/],
  [{ IPv5: {} }, /^filter: IPv5: unknown protocol \(expected one of Ethernet, /],
  [{ AF_Packet: { Interface_Name: 'lo' } }, /^filter: AF_Packet: unknown protocol/],
  [{ IPv4: 'yes' }, /^filter: IPv4: expected an object of attributes/],
  [{ TCP: { Dest_Port: 1 } }, /^filter: TCP\.Dest_Port: unknown attribute \(expected one of Source_Port, /],
  [{ TCP: { Flags: [['SYN']] } }, /^filter: TCP\.Flags\[0\]: list elements must be/],
  [{ TCP: { Source_Port: () => 1 } }, /^filter: TCP\.Source_Port: unsupported value type function/],
]

for (const [filter, message] of bad) {
  test(`filter shape rejected up front: ${JSON.stringify(filter) ?? String(filter)}`, (t) => {
    const err = t.throws(() => compileAttributeFilter(filter))
    t.regex(err?.message ?? '', message)
    t.true(isUserError(err))
    t.is((err as { code?: string }).code, 'ECONFIG')
  })
}

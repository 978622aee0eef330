import test from 'ava'
import { etherTypes } from '../lib/decode/constants/ethertypes.js'
import { ipProtocols, isIpv6ExtensionHeader } from '../lib/decode/constants/ip-protocols.js'
import { icmpTypes, icmpv6Types, igmpTypes } from '../lib/decode/constants/icmp-types.js'
import { linkTypes } from '../lib/decode/constants/link-types.js'
import { ipv6String, macString } from '../lib/decode/layers/format.js'
import { checksumOf, foldSum, onesSum } from '../lib/decode/checksum.js'
import { ipv6Bytes } from './helpers/packet-builder.js'

test('every constant table maps names and numbers both ways', (t) => {
  for (const table of [etherTypes, ipProtocols, icmpTypes, icmpv6Types, igmpTypes, linkTypes]) {
    for (const [value, name] of table.entries()) {
      t.is(table.value(name), value, name)
      t.is(table.value(name.toUpperCase()), value, `${name} in upper case`)
      t.is(typeof table.name(value), 'string')
    }
  }
  t.is(ipProtocols.name(58), 'IPv6-ICMP') // the IANA keyword...
  t.is(ipProtocols.value('ICMPv6'), 58) // ...and the common spelling accepted on input
  t.is(ipProtocols.name(132), 'SCTP')
  t.is(ipProtocols.name(61), undefined) // unassigned
  t.is(etherTypes.value('lldp'), 0x88cc)
  t.is(linkTypes.name(276), 'LINUX_SLL2')
  t.is(icmpv6Types.name(135), 'Neighbor_Solicitation')
  t.deepEqual([0, 43, 44, 60, 51, 6, 50, 59].map(isIpv6ExtensionHeader), [true, true, true, true, true, false, false, false])
})

test('IPv6 text form follows RFC 5952', (t) => {
  const cases: Array<[string, string]> = [
    ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group is not shortened
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longest run wins
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // on a tie, the first run
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['fe80:0:0:0:0:0:0:0', 'fe80::'],
    ['0:0:0:0:0:ffff:c000:201', '::ffff:192.0.2.1'],
  ]
  for (const [input, text] of cases) t.is(ipv6String(ipv6Bytes(input), 0), text, input)
  t.is(macString(Buffer.from('00aabbccddee', 'hex'), 0), '00:aa:bb:cc:dd:ee')
})

test('one\'s-complement sum: RFC 1071 example, odd lengths, carries folded', (t) => {
  // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
  t.is(foldSum(onesSum(Buffer.from('0001f203f4f5f6f7', 'hex'), 0, 8, 0)), 0xddf2)
  t.is(foldSum(onesSum(Buffer.from('ff', 'hex'), 0, 1, 0)), 0xff00)
  t.is(foldSum(onesSum(Buffer.alloc(4000, 0xff), 0, 4000, 0)), 0xffff)
  t.is(checksumOf(onesSum(Buffer.from('0001f203f4f5f6f7', 'hex'), 0, 8, 0)), 0x220d)
  // The same bytes summed in two pieces (even split) give the same result.
  const b = Buffer.from('4500003c1c4640004006b1e6ac100a63ac100a0c', 'hex')
  t.is(foldSum(onesSum(b, 10, 20, onesSum(b, 0, 10, 0))), foldSum(onesSum(b, 0, 20, 0)))
})

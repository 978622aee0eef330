import test from 'ava'
import { decodeSummary } from '../lib/decode/summary-decoder.js'
import { createSummary, type PacketSummary } from '../lib/decode/summary.js'
import { readTcpOptions } from '../lib/decode/tcp-options.js'
import { ethernet, ipv4, tcp, tcpV4Frame } from './helpers/packet-builder.js'

function decode(data: Buffer): PacketSummary {
  const s = createSummary()
  decodeSummary(1, data, s, false)
  return s
}

/** Ethernet/IPv4/TCP ACK (ack 5000) with the given option bytes (padded to words by the caller). */
const withOptions = (hex: string, ack = 5000) =>
  ethernet(0x0800, ipv4(6, tcp(40000, 80, 0x10, { options: Buffer.from(hex, 'hex'), seq: 1000, ack })))

test('window, wscale and data length from a SYN with MSS, SACK-permitted, timestamps and window scale', (t) => {
  const s = decode(tcpV4Frame(Buffer.from('hello')))
  t.is(s.error, '')
  t.is(s.tcpWindow, 65535)
  t.is(s.tcpWscale, 7)
  t.is(s.tcpDataLength, 5)
  t.is(s.tcpSackEdge, s.tcpAck)
})

test('no options: wscale -1, the SACK edge is the ack', (t) => {
  const s = decode(ethernet(0x0800, ipv4(6, tcp(1, 2, 0x10, { seq: 7, ack: 0xfffffff0, payload: Buffer.from('abc') }))))
  t.is(s.tcpWscale, -1)
  t.is(s.tcpSackEdge, 0xfffffff0)
  t.is(s.tcpDataLength, 3)
})

test('SACK: the highest right edge in sequence space, across the 2^32 wrap', (t) => {
  // NOP NOP SACK(26), ack 0xffffff00: right edges 0xffffff80, 0x00000010 (wrapped: the highest), 0xffffffa0.
  const s = decode(withOptions('0101051a' + 'ffffff40ffffff80' + 'fffffff000000010' + 'ffffff90ffffffa0', 0xffffff00))
  t.is(s.error, '')
  t.is(s.tcpSackEdge, 0x10)
  t.is(decode(withOptions('0101050a' + '0000157c00001770')).tcpSackEdge, 6000)
  // Blocks all below the ack leave the ack.
  t.is(decode(withOptions('0101050a0000000a00000064')).tcpSackEdge, 5000)
  // A SACK length not 2 + 8n is not a SACK option.
  t.is(decode(withOptions('0101050b0000138800001770000000')).tcpSackEdge, 5000)
})

test('malformed option lists end the walk without throwing and keep what came before', (t) => {
  const cases: [string, number, number][] = [
    ['03030800', 8, 5000], // wscale then EOL
    ['03000000', -1, 5000], // length 0
    ['03010000', -1, 5000], // length 1
    ['030308ff', 8, 5000], // wscale, then a kind with no length byte left
    ['0303080521000000', 8, 5000], // SACK claiming 33 bytes in a 4-byte remainder
    ['000303ff', -1, 5000], // EOL first: nothing after it is read
    ['01010101', -1, 5000], // NOPs only
  ]
  for (const [hex, wscale, edge] of cases) {
    const s = decode(withOptions(hex))
    t.is(s.error, '', hex)
    t.is(s.tcpWscale, wscale, hex)
    t.is(s.tcpSackEdge, edge, hex)
  }
})

test('random option bytes never throw and stay inside the header', (t) => {
  const s = createSummary()
  const buf = Buffer.alloc(60)
  let seed = 12345
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) & 0xff
  for (let n = 0; n < 20000; n++) {
    for (let i = 0; i < buf.length; i++) buf[i] = rnd()
    // Options occupy [20, 20 + len); bytes past them must never be taken for option data.
    const len = rnd() % 41
    s.tcpWscale = -1
    s.tcpAck = 0
    s.tcpSackEdge = 0
    t.notThrows(() => readTcpOptions(buf, 20, 20 + len, s))
    if (s.tcpWscale >= 0) t.true(len >= 3)
  }
})

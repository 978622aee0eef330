import test from 'ava'
import { createHash } from 'node:crypto'
import { communityId } from '../lib/track/community-id.js'
import { parseIp } from '../lib/filter/cidr.js'
import { sha1Short } from '../lib/track/sha1.js'
import { formatTimestamp } from '../lib/track/timestamp.js'

function cid(proto: number, s: string, d: string, sp: number, dp: number, icmpType = 0, icmpCode = 0) {
  const src = parseIp(s)!
  const dst = parseIp(d)!
  return communityId({ ipVersion: src.length === 4 ? 4 : 6, proto, src, srcOffset: 0, dst, dstOffset: 0, srcPort: sp, dstPort: dp, icmpType, icmpCode })
}

/** The spec's recipe written out independently: seed, ordered addrs, proto, pad, ports. */
function byHand(parts: Buffer[]): string {
  return '1:' + createHash('sha1').update(Buffer.concat(parts)).digest('base64')
}

test('TCP/UDP: both directions hash alike and match the spec layout', (t) => {
  const a = cid(6, '128.232.110.120', '66.35.250.204', 34855, 80)
  t.is(a, cid(6, '66.35.250.204', '128.232.110.120', 80, 34855))
  const expect = byHand([Buffer.from([0, 0]), Buffer.from([66, 35, 250, 204]), Buffer.from([128, 232, 110, 120]), Buffer.from([6, 0]), Buffer.from([0, 80, 0x88, 0x27])])
  t.is(a, expect)
  // Published baseline vectors of the specification.
  t.is(a, '1:LQU9qZlK+B5F3KDmev6m5PMibrg=')
  t.is(cid(17, '192.168.1.52', '8.8.8.8', 54585, 53), '1:d/FP5EW3wiY1vCndhwleRRKHowQ=')
  t.is(cid(6, '2001:470:e5bf:dead:4957:2174:e82c:4887', '2607:f8b0:400c:c03::1a', 63943, 25), '1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=')
})

test('ICMP: echo request and reply share an id; one-way types keep their order', (t) => {
  const req = cid(1, '192.168.0.89', '192.168.0.1', 0, 0, 8, 0)
  t.is(req, cid(1, '192.168.0.1', '192.168.0.89', 0, 0, 0, 0))
  t.is(req, '1:X0snYXpgwiv9TZtqg64sgzUn6Dk=')
  t.is(cid(1, '10.0.0.1', '10.0.0.2', 0, 0, 11, 0), '1:YHxtAirCG//0OzkcVAukqKQN9xM=')
  t.is(cid(58, '3ffe:507:0:1:200:86ff:fe05:80da', '3ffe:501:0:1001::2', 0, 0, 128, 0), '1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=')
})

test('protocols without ports hash addresses and protocol only', (t) => {
  const v = cid(46, '10.1.12.1', '10.1.12.2', 0, 0)
  t.is(v, byHand([Buffer.from([0, 0, 10, 1, 12, 1, 10, 1, 12, 2, 46, 0])]))
  t.is(v, '1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=')
})

test('sha1Short equals node:crypto SHA-1 for every single-block length, and refuses longer input', (t) => {
  const msg = Buffer.alloc(56)
  const out = Buffer.alloc(24)
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < msg.length; i++) msg[i] = (i * 131 + round * 57 + 7) & 0xff
    for (let len = 0; len <= 55; len++) {
      sha1Short(msg, len, out, 2)
      t.is(out.toString('hex', 2, 22), createHash('sha1').update(msg.subarray(0, len)).digest('hex'), `length ${len}`)
    }
  }
  t.throws(() => sha1Short(msg, 56, out, 0), { instanceOf: RangeError })
})

test('formatTimestamp: microseconds, day and second boundaries, against Date', (t) => {
  const cases = [0, 1, 999_999, 1_000_000, 86_399_999_999, 86_400_000_000, 1_700_000_000_100_001, 1_700_000_001_000_000, 1_700_000_000_999_999, 4_102_444_799_999_999]
  for (const us of [...cases, ...cases.slice().reverse()]) {
    const iso = new Date(Math.floor(us / 1000)).toISOString().slice(0, 19)
    t.is(formatTimestamp(us), `${iso}.${String(us % 1_000_000).padStart(6, '0')}`, String(us))
  }
})

import test from 'ava'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createNflogPacket, ipOrigLen, walkNflogDatagram, type WalkStats } from '../lib/capture/nfula.js'
import { fixtures } from './helpers/env.js'

const datagram = (name: string) => readFileSync(join(fixtures, 'nflog', name))
const freshStats = (): WalkStats => ({ messages: 0, malformed: 0, errors: 0 })

test('walks a real NFLOG datagram: group, family, prefix TLV in meta, payload', (t) => {
  const b = datagram('datagram-v4.bin')
  const stats = freshStats()
  const seen: Array<{ group: number; family: number; payload: string; meta: Buffer; orig: number; ts: boolean }> = []
  walkNflogDatagram(b, b.length, createNflogPacket(), stats, (p) => {
    seen.push({ group: p.group, family: p.family, payload: b.subarray(p.payloadStart, p.payloadEnd).toString('latin1'), meta: b.subarray(p.metaStart, p.metaEnd), orig: p.origLen, ts: p.hasTimestamp })
  })
  t.is(seen.length, 3)
  t.deepEqual(stats, { messages: 3, malformed: 0, errors: 0 })
  for (const [i, s] of seen.entries()) {
    t.is(s.group, 7)
    t.is(s.family, 2)
    t.true(s.payload.endsWith(`hello-v4-${i}`))
    t.is(s.orig, 38) // 20 IPv4 + 8 UDP + 10 bytes of data
    t.false(s.ts) // locally generated packets carry no kernel timestamp
    t.is(s.meta.readUInt16BE(2), 7) // nfgenmsg res_id = group, the LINKTYPE_NFLOG header
    t.true(s.meta.includes(Buffer.from('pzp-test\0')))
  }
})

test('walks IPv6 NFLOG messages', (t) => {
  const b = datagram('datagram-v6.bin')
  const stats = freshStats()
  const payloads: string[] = []
  walkNflogDatagram(b, b.length, createNflogPacket(), stats, (p) => {
    t.is(p.family, 10)
    payloads.push(b.subarray(p.payloadEnd - 10, p.payloadEnd).toString())
  })
  t.deepEqual(payloads, ['hello-v6-0', 'hello-v6-1', 'hello-v6-2'])
})

test('a cut datagram yields its whole messages and stops where the cut one starts; corruption is malformed', (t) => {
  const b = datagram('datagram-v4.bin')
  // Where each message starts and how long it is (nlmsghdr lengths, 4-byte aligned as laid out).
  const msgs: Array<{ start: number; len: number; packet: boolean }> = []
  for (let o = 0; o < b.length; o = (o + b.readUInt32LE(o) + 3) & ~3) msgs.push({ start: o, len: b.readUInt32LE(o), packet: b.readUInt16LE(o + 4) === 0x0400 })
  t.is(msgs.filter((m) => m.packet).length, 3)
  for (let n = 0; n < b.length; n++) {
    const stats = freshStats()
    let count = 0
    const stop = walkNflogDatagram(b, n, createNflogPacket(), stats, () => { count++ })
    const whole = msgs.filter((m) => m.start + m.len <= n).length
    t.is(count, msgs.slice(0, whole).filter((m) => m.packet).length, `cut at ${n}`)
    t.is(stop, whole === msgs.length ? n : msgs[whole]!.start, `stop offset for a cut at ${n}`)
    t.is(stats.malformed, 0)
  }
  t.is(walkNflogDatagram(b, b.length, createNflogPacket(), freshStats(), () => {}), b.length)
  const bad = Buffer.from(b)
  bad.writeUInt16LE(2, 0x14) // first attribute claims 2 bytes: impossible
  const stats = freshStats()
  let count = 0
  walkNflogDatagram(bad, bad.length, createNflogPacket(), stats, () => { count++ })
  t.is(count, 2)
  t.is(stats.malformed, 1)
})

test('ipOrigLen takes the IP header length, never less than the capture', (t) => {
  const v4 = Buffer.from('45000540', 'hex')
  t.is(ipOrigLen(v4, 0, 4), 0x540)
  const v6 = Buffer.from('600000000100', 'hex')
  t.is(ipOrigLen(v6, 0, 6), 40 + 256)
  t.is(ipOrigLen(Buffer.from('00', 'hex'), 0, 1), 1)
})

import test from 'ava'
import { dnsQuestionName, dnsQuestionNameTcp } from '../lib/decode/dns.js'
import { httpRequestHost } from '../lib/decode/http.js'
import { tlsClientHelloSni } from '../lib/decode/tls.js'
import { trackerHarness } from './helpers/track-run.js'

const dns = Buffer.concat([Buffer.from([0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3]), Buffer.from('www'), Buffer.from([7]), Buffer.from('example'), Buffer.from([3]), Buffer.from('com'), Buffer.from([0, 0, 1, 0, 1])])

function clientHello(host: string): Buffer {
  const name = Buffer.from(host)
  const sni = Buffer.concat([Buffer.from([0, 0]), u16(name.length + 5), u16(name.length + 3), Buffer.from([0]), u16(name.length), name])
  const other = Buffer.from([0, 10, 0, 4, 0, 2, 0, 0x1d])
  const exts = Buffer.concat([other, sni])
  const body = Buffer.concat([Buffer.from([3, 3]), Buffer.alloc(32, 7), Buffer.from([0]), u16(2), Buffer.from([0x13, 0x01]), Buffer.from([1, 0]), u16(exts.length), exts])
  const hs = Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 255]), body])
  return Buffer.concat([Buffer.from([22, 3, 1]), u16(hs.length), hs])
}
function u16(n: number) { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b }

test('DNS question name over UDP and TCP', (t) => {
  t.is(dnsQuestionName(dns, 0, dns.length), 'www.example.com')
  const tcp = Buffer.concat([u16(dns.length), dns])
  t.is(dnsQuestionNameTcp(tcp, 0, tcp.length), 'www.example.com')
})

test('TLS ClientHello SNI', (t) => {
  const ch = clientHello('secure.example.net')
  t.is(tlsClientHelloSni(ch, 0, ch.length), 'secure.example.net')
  t.is(tlsClientHelloSni(Buffer.from('GET / HTTP/1.1\r\n\r\n'), 0, 18), null)
})

test('HTTP Host header', (t) => {
  const r = Buffer.from('GET /x HTTP/1.1\r\nUser-Agent: t\r\nhOsT:  www.example.org:8080 \r\n\r\n')
  t.is(httpRequestHost(r, 0, r.length), 'www.example.org:8080')
  const none = Buffer.from('GET /x HTTP/1.1\r\nUser-Agent: t\r\n\r\nHost: body.example\r\n')
  t.is(httpRequestHost(none, 0, none.length), null)
})

test('every truncation and random corruption returns null or a name, never throws', (t) => {
  const inputs = [dns, clientHello('a.example'), Buffer.from('POST / HTTP/1.1\r\nHost: h.example\r\n\r\n')]
  for (const full of inputs) {
    for (let n = 0; n <= full.length; n++) {
      const b = full.subarray(0, n)
      t.notThrows(() => { dnsQuestionName(b, 0, b.length); tlsClientHelloSni(b, 0, b.length); httpRequestHost(b, 0, b.length); dnsQuestionNameTcp(b, 0, b.length) })
    }
  }
  let seed = 7
  const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed }
  for (let i = 0; i < 2000; i++) {
    const b = Buffer.from(inputs[i % 3])
    for (let k = 0; k < 3; k++) b[rnd() % b.length] = rnd() & 255
    dnsQuestionName(b, 0, b.length + 10)
    tlsClientHelloSni(b, 0, b.length + 10)
    httpRequestHost(b, 0, b.length)
  }
  // A compression pointer loop is refused, not followed forever.
  const loop = Buffer.from([0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1])
  t.is(dnsQuestionName(loop, 0, loop.length), null)
})

/** A ClientHello grown past one segment by a padding extension (RFC 7685), as post-quantum key shares do. */
function bigClientHello(host: string, size: number): Buffer {
  const name = Buffer.from(host)
  const sni = Buffer.concat([Buffer.from([0, 0]), u16(name.length + 5), u16(name.length + 3), Buffer.from([0]), u16(name.length), name])
  const pad = (n: number) => Buffer.concat([Buffer.from([0, 21]), u16(n), Buffer.alloc(n)])
  const build = (padLen: number) => {
    const exts = Buffer.concat([pad(padLen), sni])
    const body = Buffer.concat([Buffer.from([3, 3]), Buffer.alloc(32, 7), Buffer.from([0]), u16(2), Buffer.from([0x13, 0x01]), Buffer.from([1, 0]), u16(exts.length), exts])
    const hs = Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 255]), body])
    return Buffer.concat([Buffer.from([22, 3, 1]), u16(hs.length), hs])
  }
  return build(size - build(0).length)
}

test('an SNI in the second segment of a ClientHello is found, through a retransmission; a gap gives up, counted', (t) => {
  const C = '10.0.0.1'
  const S = '10.0.0.2'
  const T0 = 1_700_000_000
  const hello = bigClientHello('split.example.org', 1800)
  t.is(hello.length, 1800)
  const seg = (sport: number, seq: number, a: number, b: number) => ({ src: C, dst: S, proto: 'tcp' as const, sport, dport: 443, flags: 'PA', seq, payload: hello.subarray(a, b) })
  const handshake = (h: ReturnType<typeof trackerHarness>, sport: number) => {
    h.feed(T0, { src: C, dst: S, proto: 'tcp', sport, dport: 443, flags: 'S', seq: 999 })
    h.feed(T0 + 0.001, { src: S, dst: C, proto: 'tcp', sport: 443, dport: sport, flags: 'SA' })
    h.feed(T0 + 0.002, { src: C, dst: S, proto: 'tcp', sport, dport: 443, flags: 'A', seq: 1000 })
  }
  const h = trackerHarness()
  handshake(h, 41000)
  h.feed(T0 + 0.003, seg(41000, 1000, 0, 1448))
  h.feed(T0 + 0.004, seg(41000, 1000, 0, 1448)) // retransmitted
  h.feed(T0 + 0.005, seg(41000, 2448, 1448, 1800))
  h.tracker.flush()
  t.deepEqual(h.events.at(-1)!.payload, { sni: 'split.example.org' })
  t.like(h.tracker.hello.stats, { helloReassembled: 1, helloAbandoned: 0 })

  // A whole ClientHello in one segment needs nothing kept.
  const one = trackerHarness()
  handshake(one, 41001)
  one.feed(T0 + 0.003, seg(41001, 1000, 0, 1800))
  one.tracker.flush()
  t.deepEqual(one.events.at(-1)!.payload, { sni: 'split.example.org' })
  t.like(one.tracker.hello.stats, { helloReassembled: 0, helloAbandoned: 0 })

  // The second segment lost: the next bytes do not follow on, so the attempt ends without a name.
  const gap = trackerHarness()
  handshake(gap, 41002)
  gap.feed(T0 + 0.003, seg(41002, 1000, 0, 1000))
  gap.feed(T0 + 0.005, seg(41002, 2448, 1448, 1800))
  gap.tracker.flush()
  t.is(gap.events.at(-1)!.payload, null)
  t.like(gap.tracker.hello.stats, { helloReassembled: 0, helloAbandoned: 1 })
})

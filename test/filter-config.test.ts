import test from 'ava'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseConfig } from '../lib/filter/config.js'
import { compileSessionFilter } from '../lib/filter/session-filter.js'
import { parseIp } from '../lib/filter/cidr.js'
import { compileGlob } from '../lib/filter/glob.js'
import { compileBpf } from '../lib/native/libpcap.js'
import { compatDir } from './helpers/env.js'
import { frame } from './helpers/track-frames.js'
import { trackerHarness } from './helpers/track-run.js'

const example = join(compatDir, 'config.example.yaml')

test('PokieStream config.example.yaml loads unchanged', (t) => {
  if (!existsSync(example)) {
    t.log(`skipped: ${example} is absent`)
    t.pass()
    return
  }
  const cfg = parseConfig(readFileSync(example, 'utf8'), 'config.example.yaml')
  t.deepEqual(cfg.filter.protocol, ['udp', 'tcp', 'icmp'])
  t.is(cfg.filter.source?.length, 2)
  t.deepEqual(cfg.filter.port, [80, 443])
  t.deepEqual(cfg.filter.dns, { enabled: true, ports: [53], match: ['example.com', '*.mydomain.com'] })
  t.is(cfg.filter.bpf, 'tcp and (port 80 or port 443)')
  t.false(cfg.filter.strict)
})

const rejects = (yaml: string, key: string) => (t: any) => {
  const err = t.throws(() => parseConfig(yaml, 'c.yaml')) as any
  t.is(err.code, 'ECONFIG')
  t.true(err.message.includes(key), err.message)
  t.false(err.message.includes('\n'))
}
test('unknown top-level key is rejected naming it', rejects('filtre:\n  port: [80]\n', 'filtre'))
test('unknown filter key is rejected naming it', rejects('config:\n  filter:\n    ports: [80]\n', 'filter.ports'))
test('bad CIDR is rejected naming the key', rejects('filter:\n  source: [10.0.0.0/33]\n', 'filter.source'))
test('host bits beyond the prefix are rejected as ipaddress does', rejects('filter:\n  destination: [192.168.1.1/24]\n', 'filter.destination'))
test('bad protocol is rejected', rejects('filter:\n  protocol: [sctp]\n', 'filter.protocol'))
test('bad port is rejected', rejects('filter:\n  port: [70000]\n', 'filter.port'))
test('bpf and scapy together are rejected', rejects('filter:\n  bpf: tcp\n  scapy: udp\n', 'filter.scapy'))
test('unknown timeout state is rejected', rejects('track:\n  timeouts:\n    tcp:\n      estab: 5\n', 'track.timeouts.tcp.estab'))
test('broken YAML is one line', rejects('filter: [\n', 'c.yaml'))

test('track timeouts and limits are read', (t) => {
  const c = parseConfig('track:\n  max_sessions: 1000\n  timeouts:\n    udp: 60\n    udp_ports: {123: 10}\n    tcp: {established: 3600}\n')
  t.is(c.maxSessions, 1000)
  t.is(c.timeouts.udp, 60)
  t.is(c.timeouts.udpPorts.get(123), 10)
  t.is(c.timeouts.tcp[3], 3600)
})

function admit(yaml: string, src: string, dst: string, proto = 6, dport = 80) {
  const f = compileSessionFilter(parseConfig(yaml).filter)!
  const s = parseIp(src)!
  return f.protocol(proto) && f.endpoints(s.length === 4 ? 4 : 6, s, parseIp(dst)!, proto, dport)
}

test('source/destination: either side by default, both with strict; unset side never matches', (t) => {
  const y = 'filter:\n  source: [192.168.1.0/24]\n  destination: [1.1.1.1, "2001:db8::/32"]\n'
  t.true(admit(y, '192.168.1.5', '8.8.8.8'))
  t.true(admit(y, '10.0.0.1', '1.1.1.1'))
  t.false(admit(y, '10.0.0.1', '8.8.8.8'))
  t.true(admit(y, '2001:db9::1', '2001:db8::5'))
  const strict = y + '  strict: true\n'
  t.false(admit(strict, '192.168.1.5', '8.8.8.8'))
  t.true(admit(strict, '192.168.1.5', '1.1.1.1'))
  t.false(admit('filter:\n  source: [10.0.0.0/8]\n  strict: true\n', '10.0.0.1', '10.0.0.2'))
})

test('port matches the responder port; protocol list; icmp covers ICMPv6', (t) => {
  t.true(admit('filter:\n  port: [80]\n', '1.1.1.1', '2.2.2.2', 6, 80))
  t.false(admit('filter:\n  port: [80]\n', '1.1.1.1', '2.2.2.2', 6, 8080))
  t.false(admit('filter:\n  protocol: [udp]\n', '1.1.1.1', '2.2.2.2', 6, 80))
  t.true(admit('filter:\n  protocol: [icmp]\n', '1.1.1.1', '2.2.2.2', 58, -1))
  t.true(admit('filter:\n  protocol: [all]\n', '1.1.1.1', '2.2.2.2', 47, -1))
})

test('fnmatch globs, case-insensitive', (t) => {
  t.true(compileGlob('*.MyDomain.com').test('www.mydomain.com'))
  t.false(compileGlob('*.mydomain.com').test('mydomain.com'))
  t.true(compileGlob('ex?mple.[a-c]om').test('example.com'))
  t.false(compileGlob('ex[!a]mple.com').test('example.com'))
})

test('payload.dns: UDP sessions to DNS ports whose query does not match are not reported', (t) => {
  const cfg = parseConfig('filter:\n  payload:\n    dns:\n      enabled: true\n      ports: [53]\n      match: ["*.example.com"]\n')
  const h = trackerHarness({ admission: compileSessionFilter(cfg.filter) })
  const q = (name: string) => Buffer.concat([Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...name.split('.').flatMap((l) => [Buffer.from([l.length]), Buffer.from(l)]), Buffer.from([0, 0, 1, 0, 1])])
  h.feed(1, { src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', sport: 1000, dport: 53, payload: q('www.example.com') })
  h.feed(2, { src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', sport: 1001, dport: 53, payload: q('www.other.org') })
  h.feed(3, { src: '10.0.0.2', dst: '10.0.0.1', proto: 'udp', sport: 53, dport: 1001, payload: 'reply' })
  t.deepEqual(h.events.map((e) => [e.state, e.src_port]), [['NEW', 1000]])
  t.deepEqual(h.events[0].payload, { dns: 'www.example.com' })
  t.is(h.tracker.stats.ignoredSessions, 1)
})

test('payload.dns over TCP: events wait for the query after the handshake, then go out in order or not at all', (t) => {
  const cfg = parseConfig('filter:\n  payload:\n    dns:\n      enabled: true\n      ports: [53]\n      match: ["*.example.com"]\n')
  const h = trackerHarness({ admission: compileSessionFilter(cfg.filter) })
  const q = (name: string) => {
    const m = Buffer.concat([Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...name.split('.').flatMap((l) => [Buffer.from([l.length]), Buffer.from(l)]), Buffer.from([0, 0, 1, 0, 1])])
    return Buffer.concat([Buffer.from([m.length >> 8, m.length & 255]), m])
  }
  const conn = (t0: number, sport: number, name: string | null) => {
    const c = { src: '10.0.0.1', dst: '10.0.0.2', proto: 'tcp' as const, sport, dport: 53 }
    const s = { src: '10.0.0.2', dst: '10.0.0.1', proto: 'tcp' as const, sport: 53, dport: sport }
    h.feed(t0, { ...c, flags: 'S' })
    h.feed(t0 + 0.001, { ...s, flags: 'SA' })
    h.feed(t0 + 0.002, { ...c, flags: 'A' })
    if (name !== null) h.feed(t0 + 0.003, { ...c, flags: 'PA', payload: q(name) })
  }
  conn(1, 1000, 'www.example.com')
  t.deepEqual(h.events.map((e) => [e.state, e.src_port, e.timestamp.slice(17)]), [['NEW', 1000, '01.000000'], ['ESTABLISHED', 1000, '01.002000']])
  t.deepEqual(h.events[1].payload, null) // as it was when it happened: the query came later
  conn(2, 1001, 'www.other.org')
  conn(3, 1002, null) // no question yet: held until the session ends, then passes as on UDP
  t.is(h.events.length, 2)
  h.tracker.flush()
  t.deepEqual(h.events.map((e) => [e.state, e.src_port]), [['NEW', 1000], ['ESTABLISHED', 1000], ['EXPIRED', 1000], ['NEW', 1002], ['ESTABLISHED', 1002], ['EXPIRED', 1002]])
  t.deepEqual(h.events[2].payload, { dns: 'www.example.com' })
  t.is(h.tracker.stats.ignoredSessions, 1)
})

test('filtered-out sessions stay silent in both directions (no reversed ghost session)', (t) => {
  const cfg = parseConfig('filter:\n  source: [10.0.0.2/32]\n')
  const h = trackerHarness({ admission: compileSessionFilter(cfg.filter) })
  h.feed(1, { src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', sport: 1000, dport: 99, payload: 'x' })
  h.feed(2, { src: '10.0.0.2', dst: '10.0.0.1', proto: 'udp', sport: 99, dport: 1000, payload: 'y' })
  t.is(h.events.length, 0)
})

test('bpf: tcpdump syntax through libpcap, errors are user errors', (t) => {
  const p = compileBpf('udp and dst port 53', 1)
  const dns = frame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', sport: 1000, dport: 53, payload: 'x' })
  const web = frame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'tcp', sport: 1000, dport: 80, flags: 'S' })
  t.true(p.matches(dns, dns.length))
  t.false(p.matches(web, web.length))
  p.close()
  const six = compileBpf('ip6 and icmp6', 1)
  const ping6 = frame({ src: '2001:db8::1', dst: '2001:db8::2', proto: 'icmp', icmpType: 128 })
  t.true(six.matches(ping6, ping6.length))
  six.close()
  const err = t.throws(() => compileBpf('tcp and and', 1)) as any
  t.is(err.code, 'EBPF')
  t.regex(err.message, /syntax error/)
})

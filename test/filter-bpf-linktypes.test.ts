import test from 'ava'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Publisher } from 'zeromq'
import { createBpfFilter } from '../lib/filter/bpf.js'
import { libpcapDltName } from '../lib/native/libpcap.js'
import { DLT, dltFromName, dltName, dltToLinktype, LINKTYPE, linktypeToDlt } from '../lib/pcap/linktypes.js'
import { createBatchBuilder } from '../lib/wire/batch.js'
import { ipcEndpoint, runTool, startTool, tempDir, waitFor } from './helpers/env.js'
import { nflogHeader, pcapFile, pcapngFile, wrapIp } from './helpers/linktype-capture.js'
import { ipv4, ipv6, tcp, udp } from './helpers/packet-builder.js'

/** The packets every link type carries; the filter below keeps exactly the two to TCP port 80. */
const PACKETS = [
  { id: 'v4-web', ip: ipv4(6, tcp(40000, 80, 0x02), { src: '10.0.0.1', dst: '10.0.0.2' }), keep: true },
  { id: 'v4-dns', ip: ipv4(17, udp(40001, 53, Buffer.from('q')), { src: '10.0.0.1', dst: '10.0.0.2' }), keep: false },
  { id: 'v6-web', ip: ipv6(6, tcp(40002, 80, 0x02), { src: '2001:db8::1', dst: '2001:db8::2' }), keep: true },
  { id: 'v4-ssh', ip: ipv4(6, tcp(40003, 22, 0x02), { src: '10.0.0.1', dst: '10.0.0.2' }), keep: false },
  { id: 'v6-tls', ip: ipv6(6, tcp(40004, 443, 0x02), { src: '2001:db8::1', dst: '2001:db8::2' }), keep: false },
  { id: 'v6-web-back', ip: ipv6(6, tcp(80, 40002, 0x12), { src: '2001:db8::2', dst: '2001:db8::1' }), keep: false },
]
const FILTER = 'tcp dst port 80'

/** IPV4/IPV6 capture files hold one family only. */
function packetsFor(linktype: number) {
  const v = linktype === LINKTYPE.IPV4 ? 4 : linktype === LINKTYPE.IPV6 ? 6 : 0
  return PACKETS.filter((p) => v === 0 || p.ip[0]! >> 4 === v)
}

function config(expr = FILTER): { path: string; cleanup: () => void } {
  const tmp = tempDir()
  const path = join(tmp.dir, 'track.yaml')
  // PokieStream's key for the expression.
  writeFileSync(path, `config:\n  filter:\n    scapy: "${expr}"\n`)
  return { path, cleanup: tmp.cleanup }
}

/** "v4-web" back from a decoded packet (--packets) by its source port. */
function idOf(pkt: Record<string, any>): string {
  const l4 = pkt.TCP ?? pkt.UDP
  return PACKETS.find((p) => p.ip.readUInt16BE(p.ip[0]! >> 4 === 6 ? 40 : 20) === l4.Source_Port)!.id
}

const lines = (b: Buffer) => b.toString().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, any>)

const CASES: Array<[string, number, { af6?: number }?]> = [
  ['ETHERNET', LINKTYPE.ETHERNET],
  ['RAW', LINKTYPE.RAW],
  ['RAW as DLT_RAW 12 in the file', 12],
  ['LINUX_SLL', LINKTYPE.LINUX_SLL],
  ['LINUX_SLL2', LINKTYPE.LINUX_SLL2],
  ['NULL (Linux AF_INET6 10)', LINKTYPE.NULL],
  ['NULL (macOS AF_INET6 30)', LINKTYPE.NULL, { af6: 30 }],
  ['NULL (FreeBSD AF_INET6 28)', LINKTYPE.NULL, { af6: 28 }],
  ['LOOP (OpenBSD AF_INET6 24)', LINKTYPE.LOOP, { af6: 24 }],
  ['IPV4', LINKTYPE.IPV4],
  ['IPV6', LINKTYPE.IPV6],
  ['NFLOG (whole records, as tcpdump -i nflog writes them)', LINKTYPE.NFLOG],
]

for (const [name, lt, opts] of CASES) {
  test(`${name}: scapy filter keeps exactly the matching packets (--packets and events)`, (t) => {
    const cfg = config()
    t.teardown(cfg.cleanup)
    const pkts = packetsFor(lt)
    const file = pcapFile(lt, pkts.map((p) => wrapIp(lt, p.ip, opts)))
    const r = runTool('track', ['-', '--packets', '-c', cfg.path], file)
    t.is(r.status, 0, r.stderr)
    t.deepEqual(lines(r.stdout).map(idOf), pkts.filter((p) => p.keep).map((p) => p.id))
    t.regex(r.stderr, new RegExp(`packets=${pkts.length} .*bpf_dropped=${pkts.filter((p) => !p.keep).length} `))
    const ev = runTool('track', ['-', '-c', cfg.path], file)
    t.is(ev.status, 0, ev.stderr)
    const events = lines(ev.stdout).map((e) => `${e.state} ${e.src_port}>${e.dst_port}`)
    const want = pkts.filter((p) => p.keep).map((p) => p.ip.readUInt16BE(p.ip[0]! >> 4 === 6 ? 40 : 20))
    t.deepEqual(events, [...want.map((s) => `NEW ${s}>80`), ...want.map((s) => `EXPIRED ${s}>80`)])
  })
}

test('one pcapng mixing every link type: each packet filtered by its own interface\'s link type', (t) => {
  const cfg = config()
  t.teardown(cfg.cleanup)
  const lts = [LINKTYPE.ETHERNET, LINKTYPE.RAW, LINKTYPE.LINUX_SLL, LINKTYPE.LINUX_SLL2, LINKTYPE.NULL, LINKTYPE.LOOP, LINKTYPE.NFLOG]
  const packets = lts.flatMap((lt) => PACKETS.map((p) => ({ linktype: lt, data: wrapIp(lt, p.ip), id: p.id, keep: p.keep })))
  const r = runTool('track', ['-', '--packets', '-c', cfg.path], pcapngFile(lts, packets))
  t.is(r.status, 0, r.stderr)
  t.deepEqual(lines(r.stdout).map(idOf), packets.filter((p) => p.keep).map((p) => p.id))
})

test('NFLOG batches from the wire: split records filtered as raw IP, whole records by their payload TLV', async (t) => {
  const cfg = config()
  const ep = ipcEndpoint()
  const pub = new Publisher()
  await pub.bind(ep)
  const track = startTool('track', [ep, '--packets', '-c', cfg.path, '--stats-interval', '0.2'])
  t.teardown(async () => { await track.stop('SIGKILL'); pub.close(); cfg.cleanup() })
  const seen = () => Number(/packets=(\d+)/.exec(track.stderr().split('\n').filter((l) => l.includes('packets=')).pop() ?? '')?.[1] ?? 0)
  // A subscriber misses what is published before it has joined: warm up with a packet the filter drops.
  const warm = createBatchBuilder({ host: 'fw', sensorId: 's', source: 'nflog:7', linktype: LINKTYPE.NFLOG, instance: 1 })
  const ssh = PACKETS[3]!.ip
  const warmMeta = nflogHeader(false, 7, 'warm')
  warm.append(1_700_000_000, 0, ssh.length, ssh, 0, ssh.length, warmMeta, 0, warmMeta.length)
  const warmMsg = warm.finish(false)
  await waitFor(async () => { await pub.send(warmMsg); return seen() > 0 }, 15000, 'track to subscribe')
  const before = seen()
  const b = createBatchBuilder({ host: 'fw', sensorId: 's', source: 'nflog:7', linktype: LINKTYPE.NFLOG, instance: 1 })
  for (const p of PACKETS) {
    // Split, as pcap-zmq-send ships NFLOG: the TLVs in meta, the IP packet in data.
    const meta = nflogHeader(p.ip[0]! >> 4 === 6, 7, 'split')
    b.append(1_700_000_001, 0, p.ip.length, p.ip, 0, p.ip.length, meta, 0, meta.length)
  }
  for (const p of PACKETS) {
    // Whole, as a replayed LINKTYPE_NFLOG capture travels.
    const rec = wrapIp(LINKTYPE.NFLOG, p.ip)
    b.append(1_700_000_002, 0, rec.length, rec, 0, rec.length)
  }
  await pub.send(b.finish(false))
  await waitFor(() => seen() >= before + 2 * PACKETS.length, 15000, 'the batch')
  await track.stop('SIGTERM')
  const kept = PACKETS.filter((p) => p.keep).map((p) => p.id)
  t.deepEqual(lines(Buffer.from(track.stdout())).map(idOf), [...kept, ...kept])
})

test('one program per distinct link type, compiled on first sight; NULL, LOOP, NFLOG and RAW share DLT_RAW\'s', (t) => {
  const warnings: string[] = []
  const f = createBpfFilter(FILTER, (m) => warnings.push(m))
  t.is(f.compiled, 1) // Ethernet, at start
  const lts = [LINKTYPE.RAW, LINKTYPE.NFLOG, LINKTYPE.NULL, LINKTYPE.LOOP, LINKTYPE.LINUX_SLL, LINKTYPE.ETHERNET]
  let kept = 0
  for (let round = 0; round < 50; round++) {
    for (const lt of lts) {
      for (const p of PACKETS) {
        const d = wrapIp(lt, p.ip)
        if (f.matches(lt, d, d.length)) kept += 1
      }
    }
  }
  t.is(f.compiled, 3)
  t.is(kept, 50 * lts.length * 2)
  t.deepEqual(warnings, [])
  f.close()
})

test('link types an expression cannot apply to: no match, a warning only when libpcap cannot compile it', (t) => {
  const warnings: string[] = []
  const six = createBpfFilter('ip6 and tcp', (m) => warnings.push(m))
  const v4 = PACKETS[0]!.ip
  const v6 = PACKETS[2]!.ip
  // LINKTYPE_IPV4 can carry no IPv6: libpcap refuses ("rejects all packets"), which is simply no match.
  t.false(six.matches(LINKTYPE.IPV4, v4, v4.length))
  t.true(six.matches(LINKTYPE.IPV6, v6, v6.length))
  t.deepEqual(warnings, [])
  six.close()
  const vlan = createBpfFilter('vlan and tcp', (m) => warnings.push(m))
  const frame = wrapIp(LINKTYPE.RAW, v4)
  t.false(vlan.matches(LINKTYPE.RAW, frame, frame.length))
  t.false(vlan.matches(LINKTYPE.RAW, frame, frame.length))
  t.is(warnings.length, 1)
  t.regex(warnings[0]!, /^filter\.bpf: bad filter "vlan and tcp" for link type RAW \(DLT_RAW\): .*VLAN.*; packets of that link type are dropped$/)
  vlan.close()
  const bad = t.throws(() => createBpfFilter('tcp and and', () => {})) as unknown as { code: string; message: string }
  t.is(bad.code, 'ECONFIG')
  t.regex(bad.message, /^filter\.bpf: bad filter "tcp and and" for link type ETHERNET: .*syntax error$/)
})

test('a bad expression in the config is a configuration mistake: one line, exit 2', (t) => {
  const cfg = config('tcp and and')
  t.teardown(cfg.cleanup)
  const r = runTool('track', ['-', '-c', cfg.path], pcapFile(1, []))
  t.is(r.status, 2)
  t.is(r.stderr, 'pcap-zmq-track: filter.bpf: bad filter "tcp and and" for link type ETHERNET: can\'t parse filter expression: syntax error\n')
})

test('LINKTYPE <-> DLT: libpcap names every DLT the table gives, and knows no DLT 101', (t) => {
  const carried = [LINKTYPE.NULL, LINKTYPE.ETHERNET, LINKTYPE.RAW, LINKTYPE.LOOP, LINKTYPE.LINUX_SLL, LINKTYPE.IPV4, LINKTYPE.IPV6, LINKTYPE.NFLOG, LINKTYPE.LINUX_SLL2]
  t.deepEqual(carried.map(linktypeToDlt), [0, 1, 12, 108, 113, 228, 229, 239, 276])
  for (const lt of carried) {
    const dlt = linktypeToDlt(lt)
    t.is(libpcapDltName(dlt), dltName(dlt), `DLT ${dlt}`)
    t.is(dltToLinktype(dlt), lt)
  }
  for (const [name, dlt] of Object.entries(DLT)) t.is(dltFromName(`DLT_${name}`), dlt)
  t.is(libpcapDltName(101), null)
  // pcap-common.c's other differing pairs, and a DLT without a LINKTYPE.
  t.deepEqual([100, 102, 103, 106, 14].map(linktypeToDlt), [11, 15, 16, 19, 12])
  t.deepEqual([11, 15, 16, 19, 50, 147].map(dltToLinktype), [100, 102, 103, 106, 50, 147])
  t.is(dltToLinktype(14), undefined)
  t.is(linktypeToDlt(4000), 4000)
})

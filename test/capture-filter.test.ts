import test from 'ava'
import { ARPHRD, interfaceLinktype } from '../lib/capture/arphrd.js'
import { buildSocketFilter, type SocketFilterOptions } from '../lib/capture/socket-filter.js'
import { parseSendArgs } from '../lib/cli/send-options.js'
import { captureExpression, ownTrafficExpression, parsePorts } from '../lib/filter/capture-expression.js'
import { compileBpfInstructions } from '../lib/native/libpcap.js'
import { LINKTYPE } from '../lib/pcap/linktypes.js'

test('capture expressions: --bpf, port allow/deny lists, pcap modes, own-traffic exclusion, joined by and', (t) => {
  const cases: Array<[Parameters<typeof captureExpression>[0], string]> = [
    [{}, ''],
    [{ bpf: 'udp or icmp' }, 'udp or icmp'],
    [{ capturePorts: [80, 443] }, '(tcp or udp) and (port 80 or port 443)'],
    [{ ignorePorts: [22] }, 'not ((tcp or udp) and port 22)'],
    [{ bpf: 'host 10.0.0.1 or host 10.0.0.2', capturePorts: [53] }, '(host 10.0.0.1 or host 10.0.0.2) and (tcp or udp) and port 53'],
    [{ capturePorts: [80], ignorePorts: [22, 23] }, '(tcp or udp) and port 80 and not ((tcp or udp) and (port 22 or port 23))'],
    [{ capturePorts: [80], ignorePorts: [22], pcapMode: 'allow' }, '(tcp or udp) and port 80'],
    [{ capturePorts: [80], ignorePorts: [22], pcapMode: 'deny' }, 'not ((tcp or udp) and port 22)'],
    [{ bpf: 'ip6', capturePorts: [80], ignorePorts: [22], pcapMode: 'all' }, 'ip6'],
    [{ bpf: 'udp', exclude: 'not (tcp and host 1.2.3.4)' }, '(udp) and not (tcp and host 1.2.3.4)'],
  ]
  for (const [parts, want] of cases) t.is(captureExpression(parts), want, JSON.stringify(parts))
  t.throws(() => captureExpression({ pcapMode: 'allow' }), { message: '--pcap-mode allow needs --capture-ports' })
  t.throws(() => captureExpression({ pcapMode: 'deny', capturePorts: [1] }), { message: '--pcap-mode deny needs --ignore-ports' })
})

test('own-traffic exclusion: both directions between the local address and the remote port, every expression compiles', (t) => {
  t.is(ownTrafficExpression([]), '')
  const one = ownTrafficExpression([{ remote: '198.18.1.2', port: 4455, local: '198.18.1.1' }])
  t.is(one, 'not (tcp and ((src host 198.18.1.1 and dst host 198.18.1.2 and dst port 4455) or (src host 198.18.1.2 and src port 4455 and dst host 198.18.1.1)))')
  const many = ownTrafficExpression([{ remote: '2001:db8::2', port: 1, local: '2001:db8::1' }, { remote: '192.0.2.9', port: 2, local: null }])
  t.is(many, 'not (tcp and ((src host 2001:db8::1 and dst host 2001:db8::2 and dst port 1) or (src host 2001:db8::2 and src port 1 and dst host 2001:db8::1) or (host 192.0.2.9 and port 2)))')
  for (const expr of [one, many, captureExpression({ bpf: 'udp', capturePorts: [80, 443], ignorePorts: [22], exclude: many })]) {
    for (const lt of [LINKTYPE.ETHERNET, LINKTYPE.RAW, LINKTYPE.LINUX_SLL2]) t.true(compileBpfInstructions(expr, lt, 262144).length > 0, `${expr} for ${lt}`)
  }
})

test('port lists: commas, YAML lists, range checked', (t) => {
  t.deepEqual(parsePorts('capture-ports', '80, 443,80'), [80, 443])
  t.deepEqual(parsePorts('capture-ports', [53, '5353']), [53, 5353])
  t.deepEqual(parsePorts('capture-ports', 22), [22])
  for (const bad of ['', '0', '65536', 'http', '80,,x']) t.throws(() => parsePorts('capture-ports', bad), { message: /^--capture-ports expects ports 1-65535/ })
})

const base: SocketFilterOptions = { expr: 'udp', linktype: LINKTYPE.ETHERNET, mode: 'raw', snaplen: 1500, onlyOutgoing: false, dropOutgoing: false, iface: 'eth0' }
const insns = (b: Buffer) => Array.from({ length: b.length / 8 }, (_, i) => [b.readUInt16LE(8 * i), b[8 * i + 2], b[8 * i + 3], b.readUInt32LE(8 * i + 4)])

test('socket filter: libpcap\'s program returns the snap length; the direction test goes in front', (t) => {
  const plain = buildSocketFilter(base)
  t.deepEqual(plain, compileBpfInstructions('udp', LINKTYPE.ETHERNET, 1500))
  t.true(insns(plain).some(([code, , , k]) => code === 0x06 && k === 1500), 'ret #snaplen')
  const everything = insns(buildSocketFilter({ ...base, expr: '' }))
  t.deepEqual(everything, [[0x06, 0, 0, 1500]])
  // ld [SKF_AD_OFF + SKF_AD_PKTTYPE]; jeq #PACKET_OUTGOING; ret #0
  const out = insns(buildSocketFilter({ ...base, onlyOutgoing: true }))
  t.deepEqual(out.slice(0, 3), [[0x20, 0, 0, 0xfffff004], [0x15, 1, 0, 4], [0x06, 0, 0, 0]])
  t.deepEqual(out.slice(3), insns(plain))
  const inb = insns(buildSocketFilter({ ...base, dropOutgoing: true }))
  t.deepEqual(inb.slice(0, 3), [[0x20, 0, 0, 0xfffff004], [0x15, 0, 1, 4], [0x06, 0, 0, 0]])
})

test('socket filter on cooked interfaces: SLL2 loads become the kernel\'s ancillary loads or move back 20 bytes', (t) => {
  const cooked = { ...base, linktype: LINKTYPE.LINUX_SLL2, mode: 'cooked' as const }
  const raw = insns(compileBpfInstructions('ip and udp', LINKTYPE.LINUX_SLL2, 1500))
  const fixed = insns(buildSocketFilter({ ...cooked, expr: 'ip and udp' }))
  t.is(raw[0]![3], 0, 'libpcap reads the SLL2 protocol field at 0')
  t.is(fixed[0]![3], 0xfffff000, 'the kernel gives it as SKF_AD_PROTOCOL')
  // The IPv4 protocol byte: 20 (SLL2) + 9 in libpcap's program, 9 from the network header in the kernel's.
  t.true(raw.some(([code, , , k]) => code === 0x30 && k === 29))
  t.true(fixed.some(([code, , , k]) => code === 0x30 && k === 9))
  t.true(insns(buildSocketFilter({ ...cooked, expr: 'inbound' })).some(([, , , k]) => k === 0xfffff004), 'packet type via SKF_AD_PKTTYPE')
  t.throws(() => buildSocketFilter({ ...cooked, expr: 'ether[8:2] = 778', iface: 'gre1' }), {
    message: 'filter "ether[8:2] = 778" reads SLL2 header byte 8 on gre1, which a kernel filter cannot see (only the protocol, interface index and packet type)',
  })
  t.throws(() => buildSocketFilter({ ...base, expr: 'udp port' }), { code: 'ECONFIG', message: /^eth0: bad filter "udp port" for link type ETHERNET: / })
})

test('interface hardware types map to libpcap\'s link types', (t) => {
  t.deepEqual(interfaceLinktype(ARPHRD.ETHER), { linktype: LINKTYPE.ETHERNET, mode: 'raw' })
  t.deepEqual(interfaceLinktype(ARPHRD.LOOPBACK), { linktype: LINKTYPE.ETHERNET, mode: 'raw' })
  for (const raw of [ARPHRD.NONE, ARPHRD.TUNNEL, ARPHRD.SIT]) t.deepEqual(interfaceLinktype(raw), { linktype: LINKTYPE.RAW, mode: 'raw' })
  for (const cooked of [ARPHRD.IPGRE, ARPHRD.IP6GRE, ARPHRD.TUNNEL6, ARPHRD.PPP, ARPHRD.ATM, 0x1234]) t.deepEqual(interfaceLinktype(cooked), { linktype: LINKTYPE.LINUX_SLL2, mode: 'cooked' })
  t.deepEqual(interfaceLinktype(ARPHRD.NETLINK), { linktype: 253, mode: 'dgram' })
  t.deepEqual(interfaceLinktype(ARPHRD.IEEE80211_RADIOTAP), { linktype: 127, mode: 'raw' })
})

test('pcap-zmq-send iface: flags resolve, with defaults as tcpdump\'s', (t) => {
  const o = parseSendArgs(['iface:eth0,eth1,eth0', 'tcp://127.0.0.1:1234'])
  t.deepEqual(o.source, { kind: 'iface', ifaces: ['eth0', 'eth1'] })
  t.like(o.capture!.ring, { snaplen: 262144, promisc: true, blockSize: 1 << 20, blockCount: 32, frameSize: 2048, blockTimeoutMs: 10, direction: 'both', fanout: undefined })
  t.false(o.capture!.captureOwnTraffic)
  const p = parseSendArgs(['iface:eth0', 'tcp://127.0.0.1:1234', '--no-promisc', '-s', '128', '--fanout', '7', '--direction', 'IN', '--capture-ports', '80,443', '--ignore-ports', '22', '--pcap-mode', 'Allow', '--bpf', 'ip', '--ring-block-size', '64', '--ring-blocks', '4', '--capture-own-traffic'])
  t.like(p.capture!.ring, { snaplen: 128, promisc: false, fanout: 7, direction: 'in', blockSize: 65536, blockCount: 4 })
  t.deepEqual(p.capture!.filter, { bpf: 'ip', capturePorts: [80, 443], ignorePorts: [22], pcapMode: 'allow' })
  t.true(p.capture!.captureOwnTraffic)
})

test('pcap-zmq-send iface: mistakes are one line each', (t) => {
  const ep = 'tcp://127.0.0.1:1234'
  const bad: Array<[string[], string | RegExp]> = [
    [['iface:', ep], /^bad source "iface:": expected iface:NAME/],
    [['iface:a,,b', ep], /^bad source/],
    [['iface:averyveryverylongname', ep], /^bad source/],
    [['0', ep, '--bpf', 'udp'], '--bpf is for iface: sources'],
    [['-', ep, '--snaplen', '100'], '--snaplen is for iface: sources'],
    [['iface:eth0', ep, '--ring-block-size', '3'], '--ring-block-size expects an integer >= 4, got 3'],
    [['iface:eth0', ep, '--ring-block-size', '12'], /^--ring-block-size expects a power of two KiB/],
    [['iface:eth0', ep, '--ring-block-size', '256'], '--ring-block-size 256 KiB cannot hold a 262144-byte frame (--snaplen): use 512 or more'],
    [['iface:eth0', ep, '--snaplen', '300000'], /^--snaplen expects an integer >= 1 <= 262144/],
    [['iface:eth0', ep, '--direction', 'sideways'], '--direction expects in, out or both, got "sideways"'],
    [['iface:eth0', ep, '--pcap-mode', 'maybe'], '--pcap-mode expects allow, deny or all, got "maybe"'],
    [['iface:eth0', ep, '--fanout', '70000'], /^--fanout expects an integer >= 0 <= 65535/],
    [['iface:eth0', ep, '--capture-ports', '80,x'], /^--capture-ports expects ports/],
  ]
  for (const [args, message] of bad) t.throws(() => parseSendArgs(args), { code: 'EUSAGE', message }, args.join(' '))
})

import { spawn } from 'node:child_process'
import { fixL4Checksum, ipv4, ipv6, udp } from './packet-builder.js'
import { sh, uniqueName } from './env.js'
import { createNetns, type Netns } from './netns.js'
import type { ReadPacket } from './pipeline.js'

/**
 * Two namespaces joined by a veth pair that carries nothing but a test's own traffic, so a
 * capture can be held to the interface's counters exactly: neighbours are static (no ARP, no
 * neighbour discovery), ICMPv6 is dropped on the way out (no DAD, MLD or router solicitations)
 * and UDP on the way in (no port unreachables, whose rate limit would make counts vary). All of
 * it is in place before the link comes up.
 */
export interface SilentPair {
  a: Netns
  b: Netns
  va: string
  vb: string
  macA: Buffer
  macB: Buffer
  a4: string
  b4: string
  a6: string
  b6: string
  remove: () => void
}

export function silentPair(mtu = 9000): SilentPair {
  const a = createNetns('pzpfa')
  const b = createNetns('pzpfb')
  const remove = () => { a.remove(); b.remove() }
  try {
    const va = uniqueName('fa')
    const vb = uniqueName('fb')
    sh('ip', ['link', 'add', va, 'netns', a.name, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', vb, 'netns', b.name, 'mtu', String(mtu)])
    const p = { a, b, va, vb, a4: '198.18.7.1', b4: '198.18.7.2', a6: '2001:db8:7::1', b6: '2001:db8:7::2', remove, macA: mac(a, va), macB: mac(b, vb) }
    for (const [ns, dev, my4, my6, peer4, peer6, peerMac] of [[a, va, p.a4, p.a6, p.b4, p.b6, p.macB], [b, vb, p.b4, p.b6, p.a4, p.a6, p.macA]] as const) {
      ns.exec('ip6tables', ['-A', 'OUTPUT', '-p', 'icmpv6', '-j', 'DROP'])
      ns.exec('iptables', ['-A', 'INPUT', '-p', 'udp', '-j', 'DROP'])
      ns.exec('ip6tables', ['-A', 'INPUT', '-p', 'udp', '-j', 'DROP'])
      ns.exec('ip', ['addr', 'add', `${my4}/24`, 'dev', dev])
      ns.exec('ip', ['-6', 'addr', 'add', `${my6}/64`, 'dev', dev, 'nodad'])
      const lladdr = [...peerMac].map((x) => x.toString(16).padStart(2, '0')).join(':')
      ns.exec('ip', ['link', 'set', dev, 'up'])
      ns.exec('ip', ['neigh', 'replace', peer4, 'lladdr', lladdr, 'dev', dev, 'nud', 'permanent'])
      ns.exec('ip', ['-6', 'neigh', 'replace', peer6, 'lladdr', lladdr, 'dev', dev, 'nud', 'permanent'])
    }
    return p
  } catch (err) {
    remove()
    throw err
  }
}

function mac(ns: Netns, dev: string): Buffer {
  const info = JSON.parse(ns.exec('ip', ['-j', 'link', 'show', 'dev', dev])) as Array<{ address: string }>
  return Buffer.from(info[0]!.address.split(':').map((x) => parseInt(x, 16)))
}

export interface LinkCounters { rxPackets: number; txPackets: number; rxBytes: number; txBytes: number }

/** The interface's own counters (what `ip -s link` shows). */
export function linkCounters(ns: Netns, dev: string): LinkCounters {
  const s = (JSON.parse(ns.exec('ip', ['-s', '-j', 'link', 'show', 'dev', dev])) as Array<{ stats64: { rx: { packets: number; bytes: number }; tx: { packets: number; bytes: number } } }>)[0]!.stats64
  return { rxPackets: s.rx.packets, txPackets: s.tx.packets, rxBytes: s.rx.bytes, txBytes: s.tx.bytes }
}

export function counterDelta(before: LinkCounters, after: LinkCounters): LinkCounters {
  return { rxPackets: after.rxPackets - before.rxPackets, txPackets: after.txPackets - before.txPackets, rxBytes: after.rxBytes - before.rxBytes, txBytes: after.txBytes - before.txBytes }
}

/** Ethernet header from `src` to `dst` with `tags` ([TPID, TCI] outermost first) before `type`. */
export function ether(dst: Buffer, src: Buffer, type: number, payload: Buffer, tags: Array<[number, number]> = []): Buffer {
  const types = [...tags.map(([tpid]) => tpid), type]
  const h = Buffer.alloc(14 + 4 * tags.length)
  dst.copy(h, 0)
  src.copy(h, 6)
  h.writeUInt16BE(types[0]!, 12)
  tags.forEach(([, tci], i) => { h.writeUInt16BE(tci, 14 + 4 * i); h.writeUInt16BE(types[i + 1]!, 16 + 4 * i) })
  return Buffer.concat([h, payload])
}

/** An IPv4 or IPv6 UDP packet of `total` bytes (IP header included), checksums right, numbered in its payload. */
export function udpPacket(src: string, dst: string, sport: number, dport: number, total: number, seq: number): Buffer {
  const v6 = src.includes(':')
  const payload = Buffer.alloc(total - (v6 ? 48 : 28))
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + seq) & 0xff
  if (payload.length >= 4) payload.writeUInt32BE(seq, 0)
  const pkt = v6 ? ipv6(17, udp(sport, dport, payload), { src, dst }) : ipv4(17, udp(sport, dport, payload), { src, dst })
  return fixL4Checksum(pkt, 0, v6 ? 40 : 20, 17, 6)
}

/**
 * Sends `frames` whole from `dev` in `ns` through an AF_PACKET socket (the kernel adds nothing,
 * so what leaves is exactly these bytes), paced to `bytesPerSec`, then `udp` datagrams through
 * the kernel's own stack. Resolves when all are out.
 */
export interface UdpFlow { src: string; dst: string; sport: number; dport: number; sizes: number[]; count: number; tag: number }

export function sendTraffic(ns: Netns, dev: string, frames: Buffer[], flows: UdpFlow[] = [], bytesPerSec = 40e6): Promise<void> {
  const code = `
import socket, struct, sys, json, time
cfg = json.loads(sys.argv[1])
data = sys.stdin.buffer.read()
sent = 0
t0 = time.monotonic()
def pace(n):
    global sent
    sent += n
    ahead = t0 + sent / cfg['rate'] - time.monotonic()
    if ahead > 0.002: time.sleep(ahead)
raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
raw.bind((cfg['dev'], 0))
o = 0
while o < len(data):
    (l,) = struct.unpack_from('!I', data, o); o += 4
    raw.send(data[o:o + l]); o += l
    pace(l)
for f in cfg['flows']:
    fam = socket.AF_INET6 if ':' in f['src'] else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    s.bind((f['src'], f['sport']))
    head = 48 if fam == socket.AF_INET6 else 28
    for size in f['sizes']:
        for i in range(f['count']):
            n = size - head
            body = struct.pack('!HHI', f['tag'], size, i) + bytes((k * 7 + i) & 0xff for k in range(max(0, n - 8)))
            s.sendto(body[:n], (f['dst'], f['dport']))
            pace(size)
    s.close()
`
  const input = Buffer.concat(frames.flatMap((f) => { const l = Buffer.alloc(4); l.writeUInt32BE(f.length); return [l, f] }))
  return new Promise((resolve, reject) => {
    const p = spawn('ip', ['netns', 'exec', ns.name, 'python3', '-c', code, JSON.stringify({ dev, flows, rate: bytesPerSec })], { stdio: ['pipe', 'ignore', 'pipe'] })
    let err = ''
    p.stderr.on('data', (d: Buffer) => { err += d.toString() })
    p.on('exit', (c) => (c === 0 ? resolve() : reject(new Error(`traffic in ${ns.name} exited ${c}: ${err}`))))
    p.stdin.end(input)
  })
}

/** The UDP payload a flow's datagram number `i` of IP size `size` carries (as sendTraffic builds it). */
export function flowPayload(f: UdpFlow, size: number, i: number): Buffer {
  const n = size - (f.src.includes(':') ? 48 : 28)
  const body = Buffer.alloc(Math.max(n, 8))
  body.writeUInt16BE(f.tag, 0)
  body.writeUInt16BE(size, 2)
  body.writeUInt32BE(i, 4)
  for (let k = 0; k < n - 8; k++) body[8 + k] = (k * 7 + i) & 0xff
  return body.subarray(0, n)
}

/** The UDP payload of an untagged Ethernet frame carrying IPv4 or IPv6, or null. */
export function udpPayloadOf(frame: Buffer): Buffer | null {
  const type = frame.readUInt16BE(12)
  if (type === 0x0800 && frame[23] === 17) {
    const ihl = (frame[14]! & 0x0f) * 4
    return frame.subarray(14 + ihl + 8, 14 + frame.readUInt16BE(16))
  }
  if (type === 0x86dd && frame[20] === 17) return frame.subarray(62, 54 + frame.readUInt16BE(18))
  return null
}

/** One line per packet (time, length, bytes), sorted: two captures of one run compared as multisets. */
export function packetKeys(packets: ReadPacket[], withTime = true): string[] {
  return packets.map((p) => `${withTime ? `${p.tsSec}.${String(p.tsNsec).padStart(9, '0')} ` : ''}${p.origLen} ${p.data.toString('hex')}`).sort()
}

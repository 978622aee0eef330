import test from 'ava'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fixtures, hasCommand, isRoot, ROOT_SKIP, runTool, sh, sleep, tempDir, waitFor } from './helpers/env.js'
import { createNetns, linkNetns } from './helpers/netns.js'

const script = join(fixtures, 'track', 'traffic.py')
const ok = isRoot && hasCommand('tcpdump') && hasCommand('python3')
const rootTest = ok ? test.serial : test.skip
if (!ok) test('end-to-end session tracking', (t) => { t.log(ROOT_SKIP); t.pass() })

interface Ev { [k: string]: any }

/** Capture real traffic between two namespaces with tcpdump -w on the client's veth. */
async function capture(): Promise<{ file: string; a4: string; b4: string; a6: string; b6: string; cleanup: () => void }> {
  const tmp = tempDir('pzp-track-')
  const a = createNetns('pzta')
  const b = createNetns('pztb')
  const addrs = linkNetns(a, b, 7)
  const veth = a.exec('ip', ['-o', 'link', 'show', 'type', 'veth']).split(':')[1].trim().split('@')[0]
  const file = join(tmp.dir, 'e2e.pcap')
  const dump = spawn('ip', ['netns', 'exec', a.name, 'tcpdump', '-i', veth, '--immediate-mode', '-U', '-n', '-w', file, 'not arp'], { stdio: ['ignore', 'ignore', 'pipe'] })
  let dumpErr = ''
  dump.stderr.on('data', (d: Buffer) => { dumpErr += d.toString() })
  await waitFor(() => dumpErr.includes('listening'), 10000, 'tcpdump to start')
  const srv = spawn('ip', ['netns', 'exec', b.name, 'python3', script, 'server', addrs.b4, addrs.b6], { stdio: ['ignore', 'pipe', 'inherit'] })
  let srvOut = ''
  srv.stdout.on('data', (d: Buffer) => { srvOut += d.toString() })
  await waitFor(() => srvOut.includes('ready'), 10000, 'servers')
  a.exec('python3', [script, 'client', addrs.b4, addrs.b6])
  a.exec('ping', ['-c', '1', '-W', '2', addrs.b4])
  a.exec('ping', ['-6', '-c', '1', '-W', '2', addrs.b6])
  await new Promise((r) => srv.on('exit', r))
  await sleep(300)
  dump.kill('SIGINT')
  await new Promise((r) => dump.on('exit', r))
  return { file, ...addrs, cleanup: () => { a.remove(); b.remove(); tmp.cleanup() } }
}

let cap: Awaited<ReturnType<typeof capture>> | null = null
let events: Ev[] = []
test.before(async () => {
  if (!ok) return
  cap = await capture()
  const r = runTool('track', ['-'], readFileSync(cap.file))
  if (r.status !== 0) throw new Error(`track failed: ${r.stderr}`)
  events = r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l))
})
test.after.always(() => cap?.cleanup())

const flow = (pred: (e: Ev) => boolean) => events.filter(pred)

rootTest('TCP handshake and FIN close over IPv4: NEW, ESTABLISHED, CLOSE, then DESTROY at eof', (t) => {
  const ev = flow((e) => e.dst_port === 8080 && e.dst_ip === cap!.b4)
  t.deepEqual(ev.map((e) => e.state), ['NEW', 'ESTABLISHED', 'CLOSE', 'DESTROY'])
  t.is(ev[3].reason, 'eof')
  t.true(ev[3].orig_packets + ev[3].reply_packets >= ev[2].orig_packets + ev[2].reply_packets)
  t.is(ev[0].src_ip, cap!.a4)
  t.is(ev[2].reason, 'fin')
  t.deepEqual(ev[2].payload, { host: 'e2e.example' })
  t.regex(ev[2].history, /^ShAD.*F.*f|^ShAD.*f.*F/i)
  t.is(new Set(ev.map((e) => e.session_id)).size, 1)
})

rootTest('server reset: NEW, ESTABLISHED, ABORT, then DESTROY at eof', (t) => {
  const ev = flow((e) => e.dst_port === 8081)
  t.deepEqual(ev.map((e) => e.state), ['NEW', 'ESTABLISHED', 'ABORT', 'DESTROY'])
  t.is(ev[2].reason, 'rst')
  t.true(ev[2].history.includes('r'))
})

rootTest('IPv6 TCP connection', (t) => {
  const ev = flow((e) => e.dst_port === 8080 && e.dst_ip === cap!.b6)
  t.deepEqual(ev.map((e) => e.state), ['NEW', 'ESTABLISHED', 'CLOSE', 'DESTROY'])
  t.is(ev[0].src_ip, cap!.a6)
})

rootTest('DNS query to a UDP responder: NEW with the name, REPLIED, EXPIRED at eof', (t) => {
  const ev = flow((e) => e.dst_port === 53)
  t.deepEqual(ev.map((e) => e.state), ['NEW', 'REPLIED', 'EXPIRED'])
  t.deepEqual(ev[0].payload, { dns: 'e2e.example' })
  t.is(ev[2].reason, 'eof')
  t.is(ev[2].orig_packets, 1)
  t.is(ev[2].reply_packets, 1)
})

rootTest('ICMP and ICMPv6 echo', (t) => {
  for (const [proto, dst] of [['ICMP', cap!.b4], ['ICMPv6', cap!.b6]]) {
    const ev = flow((e) => e.protocol_name === proto && e.dst_ip === dst && e.history.startsWith('D'))
    t.deepEqual(ev.map((e) => e.state), ['NEW', 'REPLIED', 'EXPIRED'], proto)
    t.is(ev[0].src_port, null)
  }
})

rootTest('every event has the contract fields in order; counts add up to the capture', (t) => {
  const keys = ['src_ip', 'dst_ip', 'src_port', 'dst_port', 'protocol_num', 'protocol_name', 'state', 'timestamp', 'session_id', 'payload',
    'sensor', 'orig_packets', 'orig_bytes', 'reply_packets', 'reply_bytes', 'first_seen', 'last_seen', 'duration', 'tcp_state', 'history', 'reason', 'community_id']
  for (const e of events) t.deepEqual(Object.keys(e), keys)
  const total = Number(sh('sh', ['-c', `tcpdump -r ${cap!.file} -n 2>/dev/null | wc -l`]).trim())
  const last = new Map<string, Ev>()
  for (const e of events) last.set(e.session_id, e)
  const counted = [...last.values()].reduce((n, e) => n + e.orig_packets + e.reply_packets, 0)
  t.is(counted, total)
})

/**
 * tshark's conversation table counts frames and frame bytes; sessions count IP bytes. On this
 * Ethernet capture every frame is 14 bytes of header plus the IP packet, so frame bytes =
 * IP bytes + 14 x packets, per direction.
 */
rootTest('same flows, packets and bytes as tshark -z conv,tcp and conv,udp', (t) => {
  if (!hasCommand('tshark')) { t.log('tshark absent'); t.pass(); return }
  for (const kind of ['tcp', 'udp']) {
    const text = sh('tshark', ['-q', '-n', '-z', `conv,${kind}`, '-r', cap!.file])
    const rows = new Map<string, number[]>()
    for (const line of text.split('\n')) {
      const m = /^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+(\d+) bytes\s+(\d+)\s+(\d+) bytes\s+(\d+)\s+(\d+) bytes/.exec(line.trim())
      if (!m) continue
      rows.set([m[1], m[2]].sort().join(' '), [+m[3], +m[4], +m[5], +m[6]])
    }
    const finals = new Map<string, Ev>()
    for (const e of events) if (e.protocol_name === kind.toUpperCase()) finals.set(e.session_id, e)
    t.is(finals.size, rows.size, `${kind} flow count`)
    for (const e of finals.values()) {
      const ep = (ip: string, port: number) => (ip.includes(':') ? `${ip}:${port}` : `${ip}:${port}`)
      const key = [ep(e.src_ip, e.src_port), ep(e.dst_ip, e.dst_port)].sort().join(' ')
      const r = rows.get(key)
      t.truthy(r, `tshark has ${key}`)
      if (!r) continue
      const packets = e.orig_packets + e.reply_packets
      const bytes = e.orig_bytes + e.reply_bytes + 14 * packets
      t.is(r[0] + r[2], packets, key)
      t.is(r[1] + r[3], bytes, key)
    }
  }
})

rootTest('community_id agrees with tshark for every TCP, UDP and echo session', (t) => {
  if (!hasCommand('tshark')) { t.log('tshark absent'); t.pass(); return }
  const out = sh('tshark', ['-n', '-r', cap!.file, '--enable-protocol', 'communityid', '-T', 'fields', '-e', 'communityid', '-Y', 'tcp or udp or icmp.type == 8 or icmpv6.type == 128'])
  const theirs = new Set(out.split('\n').map((s) => s.trim()).filter(Boolean))
  const ours = new Set(flow((e) => e.protocol_num === 6 || e.protocol_num === 17 || (e.protocol_name.startsWith('ICMP') && e.history.startsWith('D') && !e.dst_ip.startsWith('ff02'))).map((e) => e.community_id))
  t.true(theirs.size >= 6)
  t.deepEqual([...ours].sort(), [...theirs].sort())
})

/**
 * The decoders against tcpdump's own reading of the same captures: addresses, ports, protocol,
 * VLAN ids, ARP/STP/CDP/LLDP/IGMP fields and checksum verdicts must agree with `tcpdump -n -r`.
 */
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fixtures, hasCommand } from './helpers/env.js'
import { readCaptureFile } from './helpers/capture-file.js'
import { decodeSummary } from '../lib/decode/summary-decoder.js'
import { createSummary, type PacketSummary } from '../lib/decode/summary.js'
import { decodePacket, type DecodedPacket, type LayerObject } from '../lib/decode/packet.js'
import { ipv4String, ipv6String } from '../lib/decode/layers/format.js'

const FILES = [
  'dns_udp.pcap', 'tcp-handshake-nano.pcap', 'tcp_rst_diag_payload.pcap', '802.1ad_QinQ.pcap', 'ipv6-routing-header.pcap',
  'ipv6-srh-ext-header.pcap', '3560_CDP.pcap', 'LLDP_and_CDP.pcap', '802.1D_spanning_tree.pcap', 'IGMP_V2.pcap',
  'LINKTYPE_RAW_ipv6.pcap', 'LINKTYPE_IPV4.pcap', 'icmpv6-ns-nonce.pcap', 'nflog.pcap', 'quic_handshake_truncated.pcap',
  'OSPFv2_Capture_FINAL.pcapng', 'ipv6_mobility_1.pcap', 'babel_rtt.pcap', 'bgp-evpn.pcap',
]
const hasTcpdump = hasCommand('tcpdump')

/** tcpdump's output split per packet (a packet starts with its timestamp; -v continuation lines follow). */
function tcpdump(file: string, flags: string[]): string[] {
  const r = spawnSync('tcpdump', ['-n', ...flags, '-r', file], { encoding: 'utf8', maxBuffer: 32 << 20 })
  if (r.status !== 0) throw new Error(`tcpdump -r ${file} failed: ${r.stderr}`)
  const out: string[] = []
  for (const line of r.stdout.split('\n')) {
    if (/^\d\d:\d\d:\d\d\.\d+ /.test(line)) out.push(line)
    else if (out.length && line !== '') out[out.length - 1] += ` ${line.trim()}`
  }
  return out
}

/** "192.0.2.1.53" / "2001:db8::1.53" / "fe80::1" -> address and optional port. */
function splitEndpoint(s: string, v6: boolean): { addr: string; port?: number } {
  const parts = s.split('.')
  if (!v6 && parts.length === 5) return { addr: parts.slice(0, 4).join('.'), port: Number(parts[4]) }
  if (v6 && parts.length === 2) return { addr: parts[0], port: Number(parts[1]) }
  return { addr: s }
}

const layer = (p: DecodedPacket, k: string): LayerObject => p[k] as LayerObject
const summaryAddr = (s: PacketSummary, b: Buffer): string => (s.ipVersion === 4 ? ipv4String(b, 0) : ipv6String(b, 0))

for (const name of FILES) {
  test(`${name}: decoders agree with tcpdump -n`, (t) => {
    if (!hasTcpdump) { t.log('tcpdump not installed: skipped'); t.pass(); return }
    const file = join(fixtures, 'tcpdump', name)
    const { packets } = readCaptureFile(file)
    const plain = tcpdump(file, [])
    const withLink = tcpdump(file, ['-e'])
    const verbose = tcpdump(file, ['-vv'])
    t.is(packets.length, plain.length, 'same packet count as tcpdump')
    t.true(packets.length > 0)
    const s = createSummary()
    let ipChecked = 0
    packets.forEach((pk, i) => {
      const at = `${name} packet ${i + 1}`
      decodeSummary(pk.linktype, pk.data, s, true)
      const p = decodePacket(pk.linktype, pk.data)
      const line = plain[i]
      const ip = /^\S+ (IP6?) (\S+) > (\S+?):(?: (.*))?$/.exec(line)
      if (ip) {
        ipChecked++
        const v6 = ip[1] === 'IP6'
        t.is(s.ipVersion, v6 ? 6 : 4, at)
        const src = splitEndpoint(ip[2], v6), dst = splitEndpoint(ip[3], v6)
        t.is(summaryAddr(s, s.src), src.addr, `${at} source`)
        t.is(summaryAddr(s, s.dst), dst.addr, `${at} destination`)
        const ipLayer = layer(p, v6 ? 'IPv6' : 'IPv4')
        t.is(ipLayer.Source_Address, src.addr, `${at} tree source`)
        t.is(ipLayer.Destination_Address, dst.addr, `${at} tree destination`)
        const rest = ip[4] ?? ''
        // With extension headers tcpdump prints the ports after them: "RT6 (...) 5645 > 5642: UDP".
        const ports: number[] = src.port !== undefined && dst.port !== undefined ? [src.port, dst.port]
          : (/(?:^|\) )(\d+) > (\d+): /.exec(rest) ?? []).slice(1).map(Number)
        const tunnel = s.protocol === 4 || s.protocol === 41
        if (!tunnel && !s.fragment) {
          const proto = /Flags \[/.test(rest) ? 6 : /ICMP6/.test(rest) ? 58 : /ICMP /.test(rest) ? 1 : /igmp/.test(rest) ? 2 : ports.length ? 17 : -2
          if (proto !== -2) t.is(s.protocol, proto, `${at} protocol (${rest.slice(0, 40)})`)
          if (ports.length) {
            t.is(s.srcPort, ports[0], `${at} source port`)
            t.is(s.dstPort, ports[1], `${at} destination port`)
            const l4 = layer(p, s.protocol === 6 ? 'TCP' : 'UDP')
            t.is(l4.Source_Port, ports[0], `${at} tree source port`)
          }
        }
        const echo = /ICMP6?, echo (?:request|reply), id (\d+)/.exec(rest)
        if (echo) t.is(tunnel ? layer(p, 'ICMPv6').Identifier : s.srcPort, Number(echo[1]), `${at} echo id`)
        const group = /igmp v2 report (\S+)/.exec(rest)
        if (group) t.is(layer(p, 'IGMP').Group_Address, group[1], `${at} IGMP group`)
      } else {
        t.is(s.ipVersion, 0, `${at}: tcpdump saw no IP (${line.slice(16, 60)})`)
      }
      const arpReq = /ARP, Request who-has (\S+) tell (\S+),/.exec(line)
      if (arpReq) t.like(layer(p, 'ARP'), { Target_Protocol_Address: arpReq[1], Sender_Protocol_Address: arpReq[2] }, at)
      const arpRep = /ARP, Reply (\S+) is-at (\S+),/.exec(line)
      if (arpRep) t.like(layer(p, 'ARP'), { Sender_Protocol_Address: arpRep[1], Sender_Hardware_Address: arpRep[2] }, at)
      const stp = /STP 802\.1d, Config, .*bridge-id ([0-9a-f]{4}\.[0-9a-f:]{17})\.([0-9a-f]{4})/.exec(line)
      if (stp) t.like(layer(p, 'STP'), { Bridge_ID: stp[1], Port_ID: parseInt(stp[2], 16) }, at)
      const cdp = /CDPv(\d), ttl: (\d+)s, Device-ID '([^']*)'/.exec(line)
      if (cdp) t.like(layer(p, 'CDP'), { Version: Number(cdp[1]), TTL: Number(cdp[2]), Device_ID: cdp[3], Checksum_Valid: true }, at)
      const lldp = /LLDP, length \d+: (.*)$/.exec(line)
      if (lldp) t.is(layer(p, 'LLDP').System_Name, lldp[1], at)
      // tcpdump -e names every VLAN tag; the summary keeps the innermost.
      const vlans = [...withLink[i].matchAll(/vlan (\d+), p/g)].map((m) => Number(m[1]))
      t.is(s.vlan, vlans.length ? vlans[vlans.length - 1] : -1, `${at} vlan`)
      // Checksum verdicts: tcpdump -vv flags bad ones and confirms good TCP/UDP/ICMPv6 ones.
      const v = verbose[i]
      // (Inside a tunnel tcpdump checks the inner transport, which only the full tree decodes.)
      const tunnel = s.protocol === 4 || s.protocol === 41
      if (/bad (?:udp |icmp6 |igmp )?cksum|incorrect|wrong icmp cksum/.test(v)) t.is(s.checksum, -1, `${at} tcpdump says bad checksum`)
      else if (/\(correct\)|sum ok/.test(v) && !/truncated|\[\|/.test(v)) {
        if (!tunnel) t.is(s.checksum, 1, `${at} tcpdump says checksum ok`)
        const l4 = ['TCP', 'UDP', 'ICMPv6'].find((k) => p[k] !== undefined)
        if (l4) t.is(layer(p, l4).Checksum_Valid, true, `${at} tree ${l4} checksum`)
      }
    })
    t.log(`${packets.length} packets, ${ipChecked} IP packets compared`)
  })
}

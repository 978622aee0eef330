/**
 * The whole tcpdump test corpus against tcpdump itself: for every capture on a link type we decode,
 * the IP addresses and ports of every packet tcpdump prints as IP agree with decodeSummary, and so
 * do the checksum verdicts of `tcpdump -vv` (bad ones -1, confirmed ones 1). Skipped without the
 * corpus or tcpdump.
 */
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { corpusDir, hasCommand } from './helpers/env.js'
import { readCaptureFile } from './helpers/capture-file.js'
import { decodeSummary } from '../lib/decode/summary-decoder.js'
import { createSummary, type PacketSummary } from '../lib/decode/summary.js'
import { ipv4String, ipv6String } from '../lib/decode/layers/format.js'

const LINKTYPES = new Set([0, 1, 12, 14, 101, 108, 113, 228, 229, 239, 276])

/** Where we knowingly differ from tcpdump, and why. */
const KNOWN_DIFFERENCES: Record<string, string> = {
  'LINKTYPE_IPV4_invalid.pcap': 'IPv6 inside LINKTYPE_IPV4: we trust the link type, tcpdump the version nibble',
  'LINKTYPE_IPV6_invalid.pcap': 'IPv4 inside LINKTYPE_IPV6: same',
}

/** Checksum complaints of tcpdump -vv and the IP protocol they are about (0: the IPv4 header). */
const BAD: Array<[RegExp, number]> = [
  [/bad cksum [0-9a-f]+ \(->/, 0], [/Flags \[[^\]]*\], cksum 0x[0-9a-f]+ \(incorrect/, 6], [/bad udp cksum/, 17],
  [/bad icmp6 cksum/, 58], [/wrong icmp cksum/, 1], [/bad igmp cksum/, 2],
]
const OK: Array<[RegExp, number]> = [[/Flags \[[^\]]*\], cksum 0x[0-9a-f]+ \(correct\)/, 6], [/\[udp sum ok\]/, 17], [/\[icmp6 sum ok\]/, 58]]

function tcpdump(file: string, verbose: boolean): string[] {
  const r = spawnSync('tcpdump', ['-n', ...(verbose ? ['-vv'] : []), '-r', file], { encoding: 'utf8', maxBuffer: 64 << 20 })
  const out: string[] = []
  for (const line of r.stdout.split('\n')) {
    if (/^\d\d:\d\d:\d\d\.\d+ /.test(line)) out.push(line)
    else if (out.length && line !== '') out[out.length - 1] += ` ${line.trim()}`
  }
  return out
}

function endpoint(s: string, v6: boolean): [string, number | undefined] {
  const parts = s.split('.')
  if (!v6 && parts.length === 5) return [parts.slice(0, 4).join('.'), Number(parts[4])]
  if (v6 && parts.length === 2) return [parts[0], Number(parts[1])]
  return [s, undefined]
}

const text = (s: PacketSummary, b: Buffer): string => (s.ipVersion === 4 ? ipv4String(b, 0) : ipv6String(b, 0))

test('corpus: addresses, ports and checksum verdicts agree with tcpdump', (t) => {
  if (!existsSync(corpusDir) || !hasCommand('tcpdump')) { t.log('corpus or tcpdump absent: skipped'); t.pass(); return }
  const s = createSummary()
  const n = { files: 0, addresses: 0, ports: 0, bad: 0, ok: 0, countDiffers: 0 }
  for (const f of readdirSync(corpusDir).filter((x) => /\.(pcap|pcapng)$/.test(x)).sort()) {
    const file = join(corpusDir, f)
    let packets
    try { packets = readCaptureFile(file).packets } catch { continue }
    if (packets.length === 0 || !packets.every((p) => LINKTYPES.has(p.linktype)) || KNOWN_DIFFERENCES[f]) continue
    const plain = tcpdump(file, false)
    // A few captures print without one timestamped line per packet (timestamps past 2038, dumps
    // that wrap at column 0): they cannot be lined up packet by packet.
    if (plain.length !== packets.length) { n.countDiffers++; continue }
    const verbose = tcpdump(file, true)
    n.files++
    packets.forEach((p, i) => {
      decodeSummary(p.linktype, p.data, s, true)
      const at = `${f} packet ${i + 1}`
      const m = /^\S+ (IP6?) (\S+) > (\S+?):(?: |$)/.exec(plain[i])
      if (m) {
        const v6 = m[1] === 'IP6'
        const [src, sp] = endpoint(m[2], v6)
        const [dst, dp] = endpoint(m[3], v6)
        n.addresses++
        if (s.ipVersion !== (v6 ? 6 : 4) || text(s, s.src) !== src || text(s, s.dst) !== dst) {
          t.fail(`${at}: tcpdump ${src} > ${dst}, decoded IPv${s.ipVersion} ${text(s, s.src)} > ${text(s, s.dst)} (${s.error})`)
        }
        const tunnel = s.protocol === 4 || s.protocol === 41
        if (sp !== undefined && !tunnel && !s.fragment && s.error === '') {
          n.ports++
          if (s.srcPort !== sp || s.dstPort !== dp) t.fail(`${at}: tcpdump ports ${sp} > ${dp}, decoded ${s.srcPort} > ${s.dstPort}`)
        }
      }
      if (s.ipVersion === 0 || s.error !== '') return
      const v = verbose[i] ?? ''
      if (BAD.some(([re, proto]) => re.test(v) && (proto === 0 || proto === s.protocol))) {
        n.bad++
        if (s.checksum !== -1) t.fail(`${at}: tcpdump reports a bad checksum, decoded ${s.checksum}`)
      } else if (OK.some(([re, proto]) => re.test(v) && proto === s.protocol) && !BAD.some(([re]) => re.test(v))) {
        n.ok++
        if (s.checksum !== 1) t.fail(`${at}: tcpdump confirms the checksum, decoded ${s.checksum}`)
      }
    })
  }
  t.log(`${n.files} files, ${n.addresses} address pairs, ${n.ports} port pairs, ${n.bad} bad and ${n.ok} good checksum verdicts compared; ${n.countDiffers} files skipped (not one line per packet)`)
  t.true(n.addresses > 5000 && n.ports > 3000 && n.bad > 1000 && n.ok > 1500, 'the corpus was really compared')
})

/**
 * Every capture of the tcpdump test corpus (many deliberately malformed) through both decoders:
 * no exception, summary and tree agree on the IP layer, every emitted name is a documented one.
 */
import test from 'ava'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { corpusDir } from './helpers/env.js'
import { readCaptureFile } from './helpers/capture-file.js'
import { decodeSummary } from '../lib/decode/summary-decoder.js'
import { createSummary } from '../lib/decode/summary.js'
import { decodePacket, type LayerObject } from '../lib/decode/packet.js'
import { fieldsOf } from '../lib/decode/fields.js'

test('every corpus capture decodes without an exception, consistently in both decoders', (t) => {
  if (!existsSync(corpusDir)) { t.log(`${corpusDir} absent: corpus sweep skipped`); t.pass(); return }
  const files = readdirSync(corpusDir).filter((f) => /\.(pcap|pcapng|cap)$/.test(f))
  const s = createSummary()
  let packets = 0, withError = 0, unreadable = 0
  const unregistered = new Set<string>()
  const started = Date.now()
  for (const f of files) {
    let read
    try { read = readCaptureFile(join(corpusDir, f)) } catch { unreadable++; continue }
    for (const pk of read.packets) {
      packets++
      decodeSummary(pk.linktype, pk.data, s, true)
      if (s.error.startsWith('decode:')) t.fail(`${f}: summary decoder fault ${s.error}`)
      const p = decodePacket(pk.linktype, pk.data)
      if (p.error?.startsWith('decode:')) t.fail(`${f}: tree decoder fault ${p.error}`)
      if (p.error) withError++
      JSON.stringify(p)
      // The outer IP layer is the same in both decoders.
      const ip = (p.IPv4 ?? p.IPv6) as LayerObject | undefined
      if (s.ipVersion !== 0 && !ip) t.fail(`${f}: summary found IPv${s.ipVersion}, tree found no IP layer`)
      if (s.ipVersion === 4 && p.IPv4 === undefined) t.fail(`${f}: IP version mismatch`)
      const l4 = (p.TCP ?? p.UDP) as LayerObject | undefined
      if (l4 && !s.fragment && (s.protocol === 6 || s.protocol === 17) && !s.error && l4.Source_Port !== s.srcPort) {
        t.fail(`${f}: source port ${s.srcPort} vs ${String(l4.Source_Port)}`)
      }
      for (const [k, v] of Object.entries(p)) {
        if (k === 'error') continue
        const known = fieldsOf(k)
        if (!known) unregistered.add(k)
        else for (const a of Object.keys(v as object)) if (!known.includes(a)) unregistered.add(`${k}.${a}`)
      }
    }
  }
  t.deepEqual([...unregistered], [], 'every protocol and attribute emitted is in the field registry')
  t.true(packets > 5000, `corpus has packets (${packets})`)
  t.log(`${files.length} files (${unreadable} unreadable), ${packets} packets, ${withError} stopped early, ${Date.now() - started} ms`)
})

import { decodePacket, type DecodedPacket } from '../decode/packet.js'
import { decodeSummary } from '../decode/summary-decoder.js'
import { createSummary } from '../decode/summary.js'
import { compileAttributeFilter } from '../filter/attributes.js'
import { createBpfFilter, type BpfFilter } from '../filter/bpf.js'
import type { TrackConfig } from '../filter/config.js'
import { compileSessionFilter } from '../filter/session-filter.js'
import type { SessionEvent } from './session-event.js'
import { Tracker } from './tracker.js'

export interface PipelineOptions {
  config: TrackConfig
  /** --filter JSON (wins over filter.attributes in the config). */
  attributes: Record<string, unknown> | null
  packets: boolean
  dropBadChecksum: boolean
  maxSessions: number
  onEvent: (ev: SessionEvent) => void
  onPacket: (pkt: DecodedPacket) => void
  /** One-line warnings (a link type the bpf expression cannot be compiled for). */
  log?: (msg: string) => void
}

/**
 * Per packet, in order: decode the summary (checksums verified when bad ones are dropped), the
 * bpf/scapy expression, the nested attribute filter, then the session tracker (whose PokieStream
 * filters decide per session) — or, with --packets, print the decoded object instead.
 */
export class PacketPipeline {
  readonly tracker: Tracker
  readonly counters = { packets: 0, badChecksum: 0, bpfDropped: 0, attrDropped: 0, decodeErrors: 0 }
  private readonly summary = createSummary()
  private readonly bpf: BpfFilter | null
  private readonly attr: ((p: DecodedPacket) => boolean) | null

  constructor(private readonly opts: PipelineOptions) {
    const f = opts.config.filter
    // Compiles for Ethernet now (a bad expression fails at start), other link types on first sight.
    this.bpf = f.bpf === null ? null : createBpfFilter(f.bpf, opts.log ?? (() => {}))
    const attrs = opts.attributes ?? f.attributes
    this.attr = attrs ? compileAttributeFilter(attrs) : null
    const dnsPorts = new Set<number>([53, 5353, ...f.dns.ports])
    this.tracker = new Tracker(opts.onEvent, {
      maxSessions: opts.maxSessions,
      timeouts: opts.config.timeouts,
      admission: compileSessionFilter(f),
      dnsPorts,
    })
  }

  packet(linktype: number, data: Buffer, tsSec: number, tsNsec: number, origLen: number, sensor: number): void {
    this.counters.packets += 1
    if (this.bpf !== null && !this.bpf.matches(linktype, data, origLen)) {
      this.counters.bpfDropped += 1
      return
    }
    const us = tsSec * 1e6 + Math.floor(tsNsec / 1000)
    if (this.opts.packets || this.attr !== null) {
      const pkt = decodePacket(linktype, data)
      if (this.attr !== null && !this.attr(pkt)) {
        this.counters.attrDropped += 1
        return
      }
      if (this.opts.packets) {
        if (this.opts.dropBadChecksum) {
          decodeSummary(linktype, data, this.summary, true)
          if (this.summary.checksum === -1) { this.counters.badChecksum += 1; return }
        }
        this.opts.onPacket(pkt)
        return
      }
    }
    const s = this.summary
    decodeSummary(linktype, data, s, this.opts.dropBadChecksum)
    if (s.error !== '') this.counters.decodeErrors += 1
    if (s.checksum === -1 && this.opts.dropBadChecksum) {
      this.counters.badChecksum += 1
      return
    }
    this.tracker.packet(s, data, us, sensor)
  }

  close(): void {
    this.bpf?.close()
  }
}

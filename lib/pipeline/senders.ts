import { MAX_INFLIGHT_BATCHES } from '../wire/batch-sender.js'
import { formatCounters } from '../util/stats.js'

/**
 * What pcap-zmq-recv keeps per sender. Sender names and instances come from batch headers, which
 * any peer can forge, so both tables are capped: past MAX_SENDERS names, batches count in one
 * `others` entry (one report line), and sequence numbers are kept for the MAX_INSTANCES most
 * recently seen instances. 200k forged identities then cost what 1024 do.
 */
export const MAX_SENDERS = 1024
/** Several instances per name are normal (restarts, one sender process per NFLOG group). */
export const MAX_INSTANCES = 4 * MAX_SENDERS

export interface SenderCounters {
  batches: number
  packets: number
  bytes: number
  wire_bytes: number
  lost_batches: number
  /** Batches from before the last one seen (a replaced connection's queue draining). */
  late_batches: number
  /** Sequence jumps no in-flight window explains (a restart with the same instance, or a forgery). */
  restarts: number
  bad_frames: number
}

const fresh = (): SenderCounters => ({ batches: 0, packets: 0, bytes: 0, wire_bytes: 0, lost_batches: 0, late_batches: 0, restarts: 0, bad_frames: 0 })

export interface SenderTable {
  /** The entry of the sender whose raw label is `key`; undefined before add(). */
  get(key: string): SenderCounters | undefined
  /**
   * Adds the sender (`name` gives its sanitized label, for reports, asked only when it is kept);
   * past MAX_SENDERS gives the shared `others` entry instead. `added` says whether it got its own.
   */
  add(key: string, name: () => string): { counters: SenderCounters; added: boolean }
  /** By sanitized name, for frames whose header could not be decoded. */
  byName(name: string): SenderCounters | undefined
  /** One line per sender, then one for `others` if it was used. */
  report(log: (msg: string) => void): void
  /** Sender names and counters, `others` last when used. */
  entries(): Map<string, SenderCounters>
}

export function createSenderTable(): SenderTable {
  const byKey = new Map<string, SenderCounters>()
  const names = new Map<string, SenderCounters>()
  const others = fresh()
  let othersUsed = false
  const othersName = `others (senders past the first ${MAX_SENDERS})`
  return {
    get: (key) => byKey.get(key),
    add(key, nameOf) {
      if (byKey.size >= MAX_SENDERS) {
        othersUsed = true
        return { counters: others, added: false }
      }
      // Two raw labels can sanitize alike: they share the name's counters then.
      const name = nameOf()
      const c = names.get(name) ?? fresh()
      byKey.set(key, c)
      names.set(name, c)
      return { counters: c, added: true }
    },
    byName: (name) => names.get(name),
    report(log) {
      for (const [name, c] of names) log(formatCounters(`  sender ${name}`, { ...c }))
      if (othersUsed) log(formatCounters(`  ${othersName}`, { ...others }))
    },
    entries() {
      const m = new Map(names)
      if (othersUsed) m.set(othersName, others)
      return m
    },
  }
}

/** Result of seqStep besides a number of lost batches. */
export const SEQ_LATE = -1
export const SEQ_RESTART = -2

/**
 * What batch `seq` of an instance says after `prev`: the number of batches lost between them
 * (0 for the next one), SEQ_LATE for one from before `prev` (a replaced connection's queue
 * still draining: counted neither as lost nor again later), or SEQ_RESTART. A gap is plausible
 * as loss only up to MAX_INFLIGHT_BATCHES, the most one sender instance can have on the way at
 * once; a larger jump either way (a forged 4294967279 included) is a restart, not loss.
 */
export function seqStep(prev: number, seq: number): number {
  const ahead = (seq - prev) >>> 0
  if (ahead !== 0 && ahead <= MAX_INFLIGHT_BATCHES + 1) return ahead - 1
  if (((prev - seq) >>> 0) <= MAX_INFLIGHT_BATCHES) return SEQ_LATE
  return SEQ_RESTART
}

/** Last sequence number per sender instance, for the MAX_INSTANCES most recently seen. */
export interface SeqTable {
  /** Records `seq` for `instance` and returns what it says (seqStep), or 0 for a new instance. */
  step(instance: number, seq: number): number
}

export function createSeqTable(max = MAX_INSTANCES): SeqTable {
  const last = new Map<number, number>()
  return {
    step(instance, seq) {
      const prev = last.get(instance)
      const r = prev === undefined ? 0 : seqStep(prev, seq)
      if (r === SEQ_LATE) return r
      // Delete and set again: Map order is then least recently used first, the one to evict.
      if (prev !== undefined) last.delete(instance)
      else if (last.size >= max) last.delete(last.keys().next().value!)
      last.set(instance, seq)
      return r
    },
  }
}

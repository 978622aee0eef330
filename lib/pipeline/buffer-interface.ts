import type { Reply } from 'zeromq'
import { MAX_PREAMBLE_BYTES } from '../pcap/encoder.js'
import type { Ring } from '../pcap/ring.js'
import { messageOf } from '../util/errors.js'
import { collectGarbage } from '../util/gc.js'

/**
 * pcap-zmq-recv --buffer-interface: a ZMQ_REP socket that answers any request with the ring as
 * one capture (pcap-zmq-query).
 *
 * A peer that asks and never reads keeps its dump in libzmq (zero-copy: our buffer) for as long
 * as its TCP window stays shut, so without a bound every such peer pins a whole window (100 of
 * them pinned 1.7 GB). Here:
 * - a dump is at most the preamble and --buffer-window (createRing keeps no more);
 * - REP answers one request at a time, and ZMQ_SNDHWM 1 lets a peer that sends requests without
 *   reading get at most one more dump queued behind the one it is not reading;
 * - every dump libzmq still holds counts against a budget of two whole dumps; a request that
 *   would pass it gets a short "busy:" answer instead. A dump stops counting when libzmq lets go
 *   of it, which a WeakRef shows after a collection (forced, at most once a second, only when
 *   the budget looks used up): exact, whatever the peers do;
 * - ZMQ_TCP_MAXRT (TCP_USER_TIMEOUT) has the kernel drop a connection whose window stays shut for
 *   DUMP_STUCK_MS (Linux counts zero-window probing against it; measured on 6.18), which frees
 *   its dump, so a peer that never reads holds the budget for that long, not forever.
 * Worst case: the ring (window) plus the budget (two dumps), about three windows in all.
 */
export const DUMP_STUCK_MS = 30_000
/** Answers that are not a capture start with this (pcap-zmq-query prints them). */
export const BUSY_PREFIX = 'busy: '

/** Requests are a word: anything larger is not a query (and libzmq need not take it in). */
export const BUFFER_REQUEST_MAX = 4096

export const REP_OPTIONS = {
  linger: 0, sendTimeout: 1000, sendHighWaterMark: 1, maxMessageSize: BUFFER_REQUEST_MAX, tcpMaxRetransmitTimeout: DUMP_STUCK_MS,
} as const

/** Bytes of dumps libzmq may hold at once for a --buffer-window of `window` bytes. */
export function dumpBudget(window: number): number {
  return 2 * (window + MAX_PREAMBLE_BYTES)
}

const GC_EVERY_MS = 1000

export interface BufferInterfaceOptions {
  ring: Ring
  preamble: () => Buffer
  budget: number
  counters: { buffer_queries: number; buffer_busy: number }
  stopping: () => boolean
  log: (msg: string) => void
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve))
const mib = (n: number) => (n / 1048576).toFixed(1)

export async function serveBufferInterface(rep: Reply, o: BufferInterfaceOptions): Promise<void> {
  const held: Array<{ ref: WeakRef<Buffer>; bytes: number }> = []
  let lastGc = 0
  const heldBytes = () => {
    let sum = 0
    let w = 0
    for (const h of held) {
      if (h.ref.deref() === undefined) continue
      sum += h.bytes
      held[w++] = h
    }
    held.length = w
    return sum
  }
  /**
   * Builds the dump and hands it to libzmq. The buffer lives only in this frame (an async loop
   * would keep its last value in its suspended frame, and the WeakRef would never empty).
   */
  const sendDump = (pre: Buffer): Promise<void> => {
    const dump = o.ring.dump(pre)
    held.push({ ref: new WeakRef(dump), bytes: dump.length })
    return rep.send(dump)
  }
  const answer = async (): Promise<void> => {
    const pre = o.preamble()
    const size = pre.length + o.ring.bytes
    let inUse = heldBytes()
    if (inUse + size > o.budget && Date.now() - lastGc >= GC_EVERY_MS) {
      // A WeakRef read in this task keeps its target alive until the task ends: collect in the next.
      await tick()
      collectGarbage()
      lastGc = Date.now()
      await tick()
      inUse = heldBytes()
    }
    if (inUse + size > o.budget) {
      o.counters.buffer_busy += 1
      return rep.send(`${BUSY_PREFIX}${mib(inUse)} MiB of earlier dumps are still on their way to their readers (at most ${mib(o.budget)} MiB at once); try again`)
    }
    return sendDump(pre)
  }
  try {
    for await (const _req of rep) {
      o.counters.buffer_queries += 1
      await answer()
    }
  } catch (err) {
    if (!o.stopping()) o.log(`buffer interface failed: ${messageOf(err)}`)
  }
}

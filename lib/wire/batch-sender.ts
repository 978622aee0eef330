import { Dealer } from 'zeromq'
import { decodeAck, seqBefore } from './ack.js'
import type { CurveSocketOptions } from './curve.js'
import { endpointError } from './endpoint.js'

/**
 * The sender's ZeroMQ side: a DEALER connected to the receiver's ROUTER, ZMQ_SNDHWM = --zmq-buffer
 * batches and a zero send timeout, so a full queue (receiver away or slow) answers EAGAIN at once
 * and capture never waits on the network. Batches queued before the receiver is up, or while it
 * restarts, wait in that queue and go out when it connects.
 *
 * Each batch gets this socket's next sequence number (header bytes 12-15) and waits in an
 * in-flight list until the receiver acknowledges it. So the counters tell what arrived
 * (delivered), what is known lost (queued in a connection that died: a later batch was
 * acknowledged and it was not, or the socket was replaced), and what is still unconfirmed.
 */
export interface DeliveryStats {
  batchesQueued: number
  packetsQueued: number
  batchesDelivered: number
  packetsDelivered: number
  wireBytesDelivered: number
  batchesLost: number
  packetsLost: number
  /** Dropped from the in-flight list unacknowledged because it was full: fate unknown. */
  packetsUnconfirmed: number
  /** Times the socket was replaced because its queue stayed full with nothing acknowledged. */
  resets: number
}

export interface BatchSender {
  readonly stats: DeliveryStats
  /** Packets queued and not yet acknowledged or known lost. */
  readonly packetsInFlight: number
  readonly batchesInFlight: number
  /** Queues one batch of `packets` packets; false when the queue is full (nothing was queued). */
  send(msg: Buffer, packets: number): Promise<boolean>
  /**
   * Waits until every queued batch is acknowledged or known lost, or until nothing has been
   * acknowledged for `idleMs`. Resolves with the packets still unconfirmed.
   */
  settle(idleMs: number, stopped?: () => boolean): Promise<number>
  /** Milliseconds since the last acknowledgement (or since the socket opened). */
  readonly quietMs: number
  close(): void
}

/**
 * A queue that stays full this long while connected, with no acknowledgement, is replaced by a
 * fresh socket:
 * libzmq can keep counting batches that died with a killed receiver's connection against the HWM,
 * so the old pipe may never empty. What it held is counted lost.
 */
const STUCK_MS = 1000

/** In-flight list capacity beyond the HWM: batches in kernel buffers and acks on their way. */
const INFLIGHT_SLACK = 4096

/** Largest --zmq-buffer (ZMQ_SNDHWM, batches) a sender takes (lib/cli/send-options.ts). */
export const MAX_SEND_HWM = 100_000

/**
 * The most batches one sender instance can have on the way at once: its in-flight list holds
 * 2 x ZMQ_SNDHWM + INFLIGHT_SLACK. So no connection that dies can lose more in one run, and a
 * receiver takes a larger jump in sequence numbers for a restart (or a forgery), not for loss.
 */
export const MAX_INFLIGHT_BATCHES = 2 * MAX_SEND_HWM + INFLIGHT_SLACK

/**
 * `hwm` batches (ZMQ_SNDHWM) and at most `maxBytes` of batches in flight (queued and not yet
 * acknowledged), whichever comes first: the byte bound keeps memory bounded when batches are large.
 */
export async function connectBatchSender(endpoint: string, hwm: number, instance: number, maxBytes = Infinity, security: CurveSocketOptions = {}): Promise<BatchSender> {
  const stats: DeliveryStats = {
    batchesQueued: 0, packetsQueued: 0, batchesDelivered: 0, packetsDelivered: 0, wireBytesDelivered: 0,
    batchesLost: 0, packetsLost: 0, packetsUnconfirmed: 0, resets: 0,
  }
  // In-flight batches in send order, a ring of parallel arrays (no object per batch).
  const cap = hwm * 2 + INFLIGHT_SLACK
  const fSeq = new Uint32Array(cap)
  const fPackets = new Uint32Array(cap)
  const fBytes = new Float64Array(cap)
  let head = 0
  let size = 0
  let inFlightPackets = 0
  let inFlightBytes = 0
  let seq = 0
  let lastAck = Date.now()
  let fullSince = 0
  let connectedAt = 0
  let waiter: (() => void) | undefined

  const popDelivered = () => {
    stats.batchesDelivered += 1
    stats.packetsDelivered += fPackets[head]!
    stats.wireBytesDelivered += fBytes[head]!
    pop()
  }
  const popLost = () => {
    stats.batchesLost += 1
    stats.packetsLost += fPackets[head]!
    pop()
  }
  const pop = () => {
    inFlightPackets -= fPackets[head]!
    inFlightBytes -= fBytes[head]!
    head = (head + 1) % cap
    size -= 1
  }

  /** Ranges arrive in the order the receiver got the batches; the in-flight list is in send order. */
  const onAck = (ranges: number[]) => {
    lastAck = Date.now()
    for (let r = 0; r < ranges.length; r += 2) {
      const first = ranges[r]!
      const last = ranges[r + 1]!
      while (size > 0) {
        const s = fSeq[head]!
        if (seqBefore(s, first)) popLost() // a later batch came through and this one did not
        else if (!seqBefore(last, s)) popDelivered()
        else break
      }
    }
    if (size === 0) waiter?.()
  }

  const open = () => {
    const s = new Dealer({ linger: 0, sendHighWaterMark: hwm, sendTimeout: 0, reconnectInterval: 200, reconnectMaxInterval: 2000, ...security })
    try {
      s.connect(endpoint)
    } catch (err) {
      s.close()
      throw endpointError('connect', endpoint, err)
    }
    // A queue that is full because no receiver was ever there is waiting, not stuck.
    connectedAt = 0
    // Only the current socket's events count: a replaced one may still report its disconnect.
    s.events.on('connect', () => { if (s === sock) connectedAt = Date.now() })
    s.events.on('disconnect', () => { if (s === sock) connectedAt = 0 })
    void (async () => {
      try {
        for await (const [msg] of s) {
          try {
            const ack = decodeAck(msg!)
            if (ack.instance === instance) onAck(ack.ranges)
          } catch { /* not an acknowledgement from a receiver of ours: ignore */ }
        }
      } catch { /* socket closed */ }
    })()
    return s
  }
  let sock = open()

  /** zmq_send with a zero timeout: false when the queue is full. */
  const queue = async (msg: Buffer): Promise<boolean> => {
    try {
      await sock.send(msg)
      return true
    } catch (err) {
      if ((err as { code?: string }).code !== 'EAGAIN') throw err
      return false
    }
  }

  /** Appends a batch to the in-flight list and counts it queued. */
  const track = (msg: Buffer, packets: number) => {
    if (size === cap) {
      stats.packetsUnconfirmed += fPackets[head]!
      pop()
    }
    const tail = (head + size) % cap
    fSeq[tail] = seq
    fPackets[tail] = packets
    fBytes[tail] = msg.length
    size += 1
    inFlightPackets += packets
    inFlightBytes += msg.length
    stats.batchesQueued += 1
    stats.packetsQueued += packets
  }
  /** Takes back the batch just appended: ZeroMQ's queue was full. */
  const untrack = (packets: number, bytes: number) => {
    size -= 1
    inFlightPackets -= packets
    inFlightBytes -= bytes
    stats.batchesQueued -= 1
    stats.packetsQueued -= packets
  }

  return {
    stats,
    get packetsInFlight() { return inFlightPackets },
    get batchesInFlight() { return size },
    get quietMs() { return Date.now() - lastAck },
    async send(msg, packets) {
      msg.writeUInt32BE(seq, 12)
      if (!(size > 0 && inFlightBytes + msg.length > maxBytes)) {
        // On the list before it is queued: its acknowledgement can arrive before send() resolves.
        track(msg, packets)
        if (await queue(msg)) {
          fullSince = 0
          seq = (seq + 1) >>> 0
          return true
        }
        untrack(packets, msg.length)
      }
      const now = Date.now()
      if (!fullSince) fullSince = now
      else if (connectedAt && now - fullSince > STUCK_MS && now - Math.max(lastAck, connectedAt) > STUCK_MS && size > 0) {
        sock.close()
        while (size > 0) popLost()
        sock = open()
        stats.resets += 1
        fullSince = 0
        lastAck = now
      }
      return false
    },
    async settle(idleMs, stopped = () => false) {
      const start = Date.now()
      while (size > 0 && !stopped() && Date.now() - Math.max(lastAck, start) < idleMs) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 50)
          waiter = () => { clearTimeout(t); resolve() }
        })
        waiter = undefined
      }
      return inFlightPackets
    },
    close() {
      sock.close()
    },
  }
}

import { Router } from 'zeromq'
import { encodeAck, ackEncodingLength, createAckCollector, type AckCollector } from './ack.js'
import type { CurveSocketOptions } from './curve.js'
import { MAX_BATCH_MESSAGE } from './batch.js'
import { endpointError } from './endpoint.js'

/**
 * The binding side senders connect to (pcap-zmq-recv, pcap-zmq-track --pull): a ZeroMQ ROUTER, so
 * each batch can be acknowledged to the connection it came on. Acknowledgements are gathered and
 * sent every ACK_INTERVAL_MS per sender, never waited on: a sender that does not read them loses
 * them at its socket's high-water mark, and nothing here grows.
 */
export interface InletMessage {
  /** The message's frames, without the routing id. */
  frames: Buffer[]
  /** ZeroMQ routing id of the connection it came on; pass it back to delivered(). */
  peer: Buffer
}

export interface BatchInlet {
  readonly socket: Router
  messages(): AsyncIterable<InletMessage>
  /** Records that batch `seq` of sender `instance` arrived, for the next acknowledgement. */
  delivered(peer: Buffer, instance: number, seq: number): void
  close(): void
}

export const ACK_INTERVAL_MS = 20

interface Pending { peer: Buffer; instance: number; acks: AckCollector }

/**
 * What a peer can make the inlet hold. ZMQ_MAXMSGSIZE: a frame claiming more than any sender
 * builds ends its connection when its size is read, before anything is allocated. Connections
 * cost a file descriptor each, and the process's limit is raised to the hard limit at start
 * (lib/cli/run.ts). ZMQ_BACKLOG 4096 (the kernel's somaxconn caps it): with libzmq's 100, a
 * thousand connections arriving at once overflowed the accept queue and some were reset, a real
 * sender's as likely as any. ZMQ_HANDSHAKE_IVL drops a connection that has not completed the
 * ZMTP handshake within 10 s (idle sockets, random greetings: libzmq's default is 30 s), and
 * heartbeats drop one that stops answering PINGs for 30 s (a libzmq sender's I/O thread answers
 * them, however idle or busy its application is). Still held per connection: up to
 * --zmq-buffer (ZMQ_RCVHWM) messages of up to MAX_BATCH_MESSAGE while the receiver is slower
 * than that sender; bounding it in bytes would cost small-batch senders throughput.
 */
export const INLET_OPTIONS = {
  maxMessageSize: MAX_BATCH_MESSAGE,
  backlog: 4096,
  handshakeInterval: 10_000,
  heartbeatInterval: 10_000,
  heartbeatTimeout: 30_000,
} as const

export async function bindBatchInlet(endpoint: string, opts: { receiveHighWaterMark: number; security?: CurveSocketOptions }): Promise<BatchInlet> {
  const sock = new Router({ linger: 0, receiveHighWaterMark: opts.receiveHighWaterMark, sendTimeout: 0, ...INLET_OPTIONS, ...opts.security })
  try {
    await sock.bind(endpoint)
  } catch (err) {
    sock.close()
    throw endpointError('bind', endpoint, err)
  }
  const pending = new Map<string, Pending>()

  // A zeromq.js socket takes one send at a time (a second one fails with EBUSY), and a lost
  // acknowledgement would make the sender count batches that arrived as lost: queue them.
  const outbox: Buffer[][] = []
  let sending = false
  const pump = async () => {
    sending = true
    while (outbox.length > 0 && !sock.closed) {
      // ROUTER drops what it cannot queue for a peer that is gone or not reading, so this
      // resolves at once and the outbox stays short.
      await sock.send(outbox.shift()!).catch(() => {})
    }
    sending = false
  }
  const send = (p: Pending) => {
    const ack = p.acks.take()
    const msg = Buffer.allocUnsafe(ackEncodingLength(ack))
    encodeAck(ack, msg)
    outbox.push([p.peer, msg])
    if (!sending) void pump()
  }
  const flush = () => {
    if (sock.closed) return
    for (const p of pending.values()) if (!p.acks.empty) send(p)
    pending.clear()
  }
  const timer = setInterval(flush, ACK_INTERVAL_MS)
  timer.unref()

  return {
    socket: sock,
    async *messages() {
      for await (const [peer, ...frames] of sock) yield { peer: peer!, frames }
    },
    delivered(peer, instance, seq) {
      const key = peer.toString('latin1')
      let p = pending.get(key)
      if (p && p.instance !== instance) {
        send(p)
        p = undefined
      }
      if (!p) pending.set(key, (p = { peer, instance, acks: createAckCollector(instance) }))
      if (p.acks.add(seq)) send(p)
    },
    close() {
      clearInterval(timer)
      flush()
      sock.close()
    },
  }
}

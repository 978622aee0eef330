import { Push } from 'zeromq'
import { endpointError } from './endpoint.js'

/**
 * The sender's ZeroMQ side: PUSH, connect, linger 0, SNDHWM = --zmq-buffer batches and a zero send
 * timeout, so a full queue (receiver down or slow) answers EAGAIN at once and capture never waits
 * on the network.
 */
export interface BatchSender {
  /** Queues one batch message; false when the queue is full and it was dropped. */
  send(msg: Buffer): Promise<boolean>
  /** Times the socket was replaced because its queue stayed full. */
  readonly resets: number
  /** Closes, giving queued batches up to `lingerMs` to leave (0 while stopping on a signal). */
  close(lingerMs?: number): void
}

/**
 * A queue that stays full this long is replaced by a fresh socket. libzmq keeps counting batches
 * that died with a killed receiver's connection against the HWM, so after the receiver restarts
 * the old pipe can stay "full" forever; a new socket starts with an empty one. What the old queue
 * held is lost either way.
 */
const STUCK_MS = 1000

export async function connectPush(endpoint: string, hwm: number): Promise<BatchSender> {
  const open = () => {
    const s = new Push({ linger: 0, sendHighWaterMark: hwm, sendTimeout: 0, reconnectInterval: 200, reconnectMaxInterval: 2000 })
    try {
      s.connect(endpoint)
    } catch (err) {
      s.close()
      throw endpointError('connect', endpoint, err)
    }
    return s
  }
  let sock = open()
  let fullSince = 0
  let resets = 0
  return {
    get resets() { return resets },
    async send(msg) {
      try {
        await sock.send(msg)
        fullSince = 0
        return true
      } catch (err) {
        if ((err as { code?: string }).code !== 'EAGAIN') throw err
        const now = Date.now()
        if (!fullSince) fullSince = now
        else if (now - fullSince > STUCK_MS) {
          sock.close()
          sock = open()
          resets += 1
          fullSince = 0
        }
        return false
      }
    },
    close(lingerMs = 0) {
      sock.linger = lingerMs
      sock.close()
    },
  }
}

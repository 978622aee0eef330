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
  /** Closes, giving queued batches up to `lingerMs` to leave (0 while stopping on a signal). */
  close(lingerMs?: number): void
}

export async function connectPush(endpoint: string, hwm: number): Promise<BatchSender> {
  const sock = new Push({ linger: 0, sendHighWaterMark: hwm, sendTimeout: 0, reconnectInterval: 200, reconnectMaxInterval: 2000 })
  try {
    sock.connect(endpoint)
  } catch (err) {
    sock.close()
    throw endpointError('connect', endpoint, err)
  }
  return {
    async send(msg) {
      try {
        await sock.send(msg)
        return true
      } catch (err) {
        if ((err as { code?: string }).code === 'EAGAIN') return false
        throw err
      }
    },
    close(lingerMs = 0) {
      sock.linger = lingerMs
      sock.close()
    },
  }
}

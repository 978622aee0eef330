import { Subscriber } from 'zeromq'
import { EVENT_MESSAGE_MAX } from '../track/output.js'
import { messageOf, userError } from '../util/errors.js'
import { curveClientOptions, type CurveSetup } from '../wire/curve.js'
import type { EventLineReader } from './lines.js'

export interface Source {
  /** Resolves when the input ends (stdin EOF); a socket never ends on its own. */
  done: Promise<void>
  close(): void
}

/** NDJSON on stdin, read in chunks; a line may span chunks. */
export function stdinSource(reader: EventLineReader): Source {
  const stdin = process.stdin
  const done = new Promise<void>((resolve) => {
    stdin.on('data', (chunk: Buffer) => reader.push(chunk))
    stdin.on('end', () => { reader.end(); resolve() })
    stdin.on('error', () => { reader.end(); resolve() })
  })
  return { done, close: () => { stdin.pause(); stdin.destroy() } }
}

const ENDPOINT_RE = /^(tcp|ipc|inproc|pgm|epgm|ws|wss):\/\/.+/

/**
 * ZMQ_SUB connected to pcap-zmq-track --publish, subscribed to everything. Each frame is one
 * or more complete NDJSON lines. The receive high-water mark is raised because the runner never
 * stops reading (it spills to the spool), so losses can only happen at the publisher's HWM.
 * ZMQ_MAXMSGSIZE is the largest message pcap-zmq-track publishes: a frame claiming more is not
 * from it, and ends the connection before anything is allocated for it.
 */
export async function zmqSource(endpoint: string, reader: EventLineReader, warn: (m: string) => void, curve?: CurveSetup): Promise<Source> {
  if (!ENDPOINT_RE.test(endpoint)) {
    throw userError(`bad endpoint ${JSON.stringify(endpoint)}: expected - (stdin) or tcp://host:port, ipc://path`)
  }
  const sub = new Subscriber({ receiveHighWaterMark: 100_000, maxMessageSize: EVENT_MESSAGE_MAX, ...curveClientOptions(curve) })
  try {
    sub.connect(endpoint)
  } catch (err) {
    sub.close()
    throw userError(`cannot connect to ${endpoint}: ${messageOf(err)}`)
  }
  sub.subscribe()
  let closed = false
  const done = (async () => {
    try {
      for await (const frames of sub) {
        for (const f of frames) reader.pushMessage(f)
      }
    } catch (err) {
      if (!closed) warn(`receive on ${endpoint} failed: ${messageOf(err)}`)
    }
  })()
  return {
    // A subscriber has no end of input: only a signal stops it.
    done: done.then(() => new Promise<void>(() => {})),
    close: () => { closed = true; if (!sub.closed) sub.close() },
  }
}

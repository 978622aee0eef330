import { connect, type Socket } from 'node:net'
import { randomBytes } from 'node:crypto'

/**
 * A hostile ZMTP 3.0 peer on a raw TCP socket (RFC 23/ZMTP): the NULL mechanism greeting, a
 * READY command with any Socket-Type, then whatever frames a test wants, including ones no
 * libzmq peer would send: a size header claiming gigabytes followed by a trickle, random
 * greetings, random bodies. It never has to read what the other side sends (pause()), which is
 * how a peer pins the other side's queues.
 */
export interface ZmtpPeer {
  readonly socket: Socket
  /** The other side's greeting and READY have arrived (messages may be sent). */
  readonly ready: Promise<void>
  /** One message: its frames, with MORE on all but the last. */
  send(frames: Array<Buffer | string>): Promise<void>
  /** Raw bytes on the wire, for frames built by hand. */
  write(bytes: Buffer): Promise<void>
  /** Stop reading: the kernel buffers fill and the sender's window closes. */
  pause(): void
  /** Bytes received so far. */
  readonly received: number
  readonly closed: boolean
  destroy(): void
}

export const FLAG_MORE = 0x01
export const FLAG_LONG = 0x02
export const FLAG_COMMAND = 0x04

/** The 64-byte greeting: signature, version 3.0, mechanism NULL, as-server 0, filler. */
export function greeting(): Buffer {
  const g = Buffer.alloc(64)
  g[0] = 0xff
  g[9] = 0x7f
  g[10] = 3
  g[11] = 0
  g.write('NULL', 12, 'latin1')
  return g
}

/** A frame header: short (1-byte size) below 256, else long (8-byte size); `size` may lie. */
export function frameHeader(size: number | bigint, flags = 0): Buffer {
  const n = BigInt(size)
  if (n < 256n && (flags & FLAG_LONG) === 0) return Buffer.from([flags, Number(n)])
  const h = Buffer.alloc(9)
  h[0] = flags | FLAG_LONG
  h.writeBigUInt64BE(n, 1)
  return h
}

export function frame(body: Buffer, flags = 0): Buffer {
  return Buffer.concat([frameHeader(body.length, flags), body])
}

/** READY with Socket-Type (and an Identity when given), as a command frame. */
export function readyCommand(socketType: string, identity?: Buffer): Buffer {
  const prop = (name: string, value: Buffer) => {
    const len = Buffer.alloc(4)
    len.writeUInt32BE(value.length, 0)
    return Buffer.concat([Buffer.from([name.length]), Buffer.from(name, 'latin1'), len, value])
  }
  const body = Buffer.concat([
    Buffer.from([5]), Buffer.from('READY', 'latin1'),
    prop('Socket-Type', Buffer.from(socketType, 'latin1')),
    ...(identity ? [prop('Identity', identity)] : []),
  ])
  return frame(body, FLAG_COMMAND)
}

/**
 * Connects and performs the handshake as `socketType` (DEALER for a sender, SUB, REQ). `ready`
 * resolves once the other side's greeting and READY are in: a NULL-mechanism peer that gets a
 * message before it has sent its own READY takes it for a handshake command and drops us.
 */
export function zmtpConnect(port: number, socketType = 'DEALER', host = '127.0.0.1'): ZmtpPeer {
  const socket = connect(port, host)
  socket.setNoDelay(true)
  let received = 0
  let closed = false
  let inbox = Buffer.alloc(0)
  let handshaken = false
  let resolveReady!: () => void
  let rejectReady!: (e: Error) => void
  const ready = new Promise<void>((res, rej) => { resolveReady = res; rejectReady = rej })
  ready.catch(() => {})
  socket.on('connect', () => {
    socket.write(greeting())
    socket.write(readyCommand(socketType))
  })
  socket.on('data', (d: Buffer) => {
    received += d.length
    if (handshaken) return
    inbox = Buffer.concat([inbox, d])
    // Greeting (64 bytes), then the READY command frame (short or long).
    if (inbox.length < 66) return
    const flags = inbox[64]!
    const long = (flags & FLAG_LONG) !== 0
    const headerLen = long ? 9 : 2
    if (inbox.length < 64 + headerLen) return
    const size = long ? Number(inbox.readBigUInt64BE(65)) : inbox[65]!
    if (inbox.length < 64 + headerLen + size) return
    handshaken = true
    inbox = Buffer.alloc(0)
    resolveReady()
  })
  socket.on('error', () => {})
  socket.on('close', () => {
    closed = true
    if (!handshaken) rejectReady(new Error('closed before the handshake completed'))
  })
  const write = (bytes: Buffer) => new Promise<void>((resolve) => {
    if (closed || socket.destroyed) return resolve()
    socket.write(bytes, () => resolve())
  })
  return {
    socket,
    ready,
    write,
    send: (frames) => write(Buffer.concat(frames.map((f, i) => frame(Buffer.isBuffer(f) ? f : Buffer.from(f), i < frames.length - 1 ? FLAG_MORE : 0)))),
    pause: () => socket.pause(),
    get received() { return received },
    get closed() { return closed },
    destroy: () => socket.destroy(),
  }
}

/** A connection that sends a random greeting-sized blob (and more random bytes) instead of ZMTP. */
export function randomGreeting(port: number, host = '127.0.0.1'): Socket {
  const s = connect(port, host)
  s.on('error', () => {})
  s.on('connect', () => s.write(randomBytes(64 + Math.floor(Math.random() * 512))))
  return s
}

/**
 * Streams a frame that claims `claimed` bytes and then sends `chunk` bytes every `everyMs`
 * until stopped or the connection closes. Resolves with how many body bytes went out.
 */
export function trickleHugeFrame(peer: ZmtpPeer, claimed: bigint, chunk = 64 * 1024, everyMs = 10): { stop: () => void; sent: () => number } {
  let sent = 0
  let timer: NodeJS.Timeout | undefined
  const body = Buffer.alloc(chunk, 0x5a)
  void peer.ready.then(async () => {
    await peer.write(frameHeader(claimed))
    timer = setInterval(() => {
      if (peer.closed) { clearInterval(timer); return }
      // Only while the kernel takes it: the point is what the receiver holds, not our own buffers.
      if (peer.socket.writableLength > 4 * chunk) return
      peer.socket.write(body)
      sent += chunk
    }, everyMs)
  }, () => {})
  return { stop: () => { if (timer) clearInterval(timer) }, sent: () => sent }
}

import type { Publisher } from 'zeromq'

/**
 * Largest event message published (ZMQ_MAXMSGSIZE of pcap-zmq-plugin's SUB): lines are batched
 * into messages of about 64 KiB, and while a send is in flight up to this much waits; more is
 * dropped and counted (pubDropped), as is a single line longer than this.
 */
export const EVENT_MESSAGE_MAX = 16 << 20
/** The same bound in UTF-16 units, as lines are measured: a unit is at most 3 bytes of UTF-8. */
const EVENT_MESSAGE_UNITS = Math.floor(EVENT_MESSAGE_MAX / 3)

/**
 * Where events go: NDJSON lines on stdout (with backpressure: callers await `drained()` when
 * `congested`), and/or a PUB socket that gets several lines per message. A closed stdout
 * (EPIPE, e.g. `| head`) ends stdout output quietly; `closed` tells the caller to stop.
 */
export class EventOutput {
  private lines: string[] = []
  private bytes = 0
  private pubLines: string[] = []
  private pubBytes = 0
  private pubBusy = false
  congested = false
  closed = false
  private waiters: Array<() => void> = []
  readonly counters = { events: 0, pubMessages: 0, pubDropped: 0 }

  constructor(private readonly stdout: NodeJS.WritableStream | null, private pub: Publisher | null, private readonly onClosed: () => void) {
    stdout?.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') {
        this.closed = true
        this.wake()
        onClosed()
      } else throw err
    })
    stdout?.on('drain', () => {
      this.congested = false
      this.wake()
    })
  }

  write(obj: unknown): void {
    this.writeJson(JSON.stringify(obj))
  }

  /** One line already serialized (session events have their own serializer). */
  writeJson(json: string): void {
    const line = json + '\n'
    this.counters.events += 1
    if (this.stdout && !this.closed) {
      this.lines.push(line)
      this.bytes += line.length
      if (this.bytes >= 65536) this.flushStdout()
    }
    if (this.pub) {
      if (line.length > EVENT_MESSAGE_UNITS) {
        this.counters.pubDropped += 1
        return
      }
      if (this.pubBytes + line.length > EVENT_MESSAGE_UNITS) {
        this.flushPub()
        // Still sending the last message: what waited is dropped rather than grow past the bound.
        if (this.pubLines.length) {
          this.counters.pubDropped += this.pubLines.length
          this.pubLines = []
          this.pubBytes = 0
        }
      }
      this.pubLines.push(line)
      this.pubBytes += line.length
      if (this.pubBytes >= 65536) this.flushPub()
    }
  }

  /** Push out what is buffered (call after each input chunk or batch). */
  flush(): void {
    this.flushStdout()
    this.flushPub()
  }

  /** The PUB socket was bound anew (a key left --curve-allow): later events go out on this one. */
  replacePublisher(pub: Publisher): void {
    this.pub = pub
    this.pubBusy = false
  }

  private flushStdout(): void {
    if (!this.stdout || this.lines.length === 0) return
    const text = this.lines.join('')
    this.lines = []
    this.bytes = 0
    if (this.closed) return
    if (!this.stdout.write(text)) this.congested = true
  }

  private flushPub(): void {
    if (!this.pub || this.pubLines.length === 0) return
    // One send in flight: keep batching (write() bounds it); a PUB never blocks, so this is short.
    if (this.pubBusy) return
    const msg = this.pubLines.join('')
    this.pubLines = []
    this.pubBytes = 0
    this.pubBusy = true
    this.counters.pubMessages += 1
    this.pub.send(msg).then(
      () => { this.pubBusy = false; if (this.pubLines.length) this.flushPub() },
      () => { this.pubBusy = false; this.counters.pubDropped += 1 },
    )
  }

  private wake(): void {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }

  /** Resolves when stdout can take more (or is closed). */
  drained(): Promise<void> {
    if (!this.congested || this.closed) return Promise.resolve()
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  /** Flush everything and wait until stdout and the PUB socket took it. */
  async end(): Promise<void> {
    this.flush()
    while (this.pubBusy || this.pubLines.length) {
      await new Promise((r) => setTimeout(r, 5))
      if (!this.pubBusy) this.flushPub()
    }
    if (this.stdout && !this.closed) {
      await new Promise<void>((resolve) => {
        if ((this.stdout as NodeJS.WritableStream).write('', () => resolve())) return
        this.stdout?.once('drain', () => resolve())
      })
    }
  }
}

import type { Publisher } from 'zeromq'

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

  constructor(private readonly stdout: NodeJS.WritableStream | null, private readonly pub: Publisher | null, private readonly onClosed: () => void) {
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
    const line = JSON.stringify(obj) + '\n'
    this.counters.events += 1
    if (this.stdout && !this.closed) {
      this.lines.push(line)
      this.bytes += line.length
      if (this.bytes >= 65536) this.flushStdout()
    }
    if (this.pub) {
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
    if (this.pubBusy) {
      // One send in flight: keep batching; a subscriber-less PUB never blocks, so this is short.
      if (this.pubBytes > 16 << 20) {
        this.counters.pubDropped += this.pubLines.length
        this.pubLines = []
        this.pubBytes = 0
      }
      return
    }
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

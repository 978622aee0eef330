import type { Counters } from './counters.js'
import { isSessionEvent, type SessionEvent } from './event.js'

/** The three kinds of bad input, each warned about once. */
export type BadKind = 'not_json' | 'too_long' | 'wrong_type'

/**
 * NDJSON splitter for session events. Lines longer than `maxLine` bytes are skipped without being
 * buffered whole (a hostile sender cannot make us hold an unbounded line); lines that are not
 * JSON, or JSON that is not a session event, are counted and skipped. The first of each kind is
 * reported through `warn`, the rest only counted.
 */
export class EventLineReader {
  private partial: Buffer[] = []
  private partialLen = 0
  private skipping = false
  private readonly warned = new Set<BadKind>()

  constructor(
    private readonly maxLine: number,
    private readonly counters: Counters,
    private readonly onEvent: (ev: SessionEvent) => void,
    private readonly warn: (kind: BadKind, message: string) => void,
  ) {}

  /** Feed a chunk of a stream (stdin); a line may span chunks. */
  push(chunk: Buffer): void {
    let start = 0
    for (;;) {
      const nl = chunk.indexOf(10, start)
      if (nl < 0) break
      if (this.skipping) {
        this.skipping = false
      } else if (this.partialLen > 0) {
        const len = this.partialLen + nl - start
        if (len > this.maxLine) this.bad('too_long', `line of ${len} bytes over the ${this.maxLine}-byte limit`)
        else {
          this.partial.push(chunk.subarray(start, nl))
          this.line(Buffer.concat(this.partial).toString('utf8'))
        }
      } else if (nl - start > this.maxLine) {
        this.bad('too_long', `line of ${nl - start} bytes over the ${this.maxLine}-byte limit`)
      } else if (nl > start) {
        this.line(chunk.toString('utf8', start, nl))
      }
      this.partial.length = 0
      this.partialLen = 0
      start = nl + 1
    }
    if (start < chunk.length && !this.skipping) {
      const rest = chunk.length - start
      if (this.partialLen + rest > this.maxLine) {
        this.bad('too_long', `line over the ${this.maxLine}-byte limit`)
        this.partial.length = 0
        this.partialLen = 0
        this.skipping = true
      } else {
        // Copy: the caller may reuse its chunk buffer.
        this.partial.push(Buffer.from(chunk.subarray(start)))
        this.partialLen += rest
      }
    }
  }

  /** A message that is complete in itself (one ZeroMQ frame): a missing final newline is implied. */
  pushMessage(msg: Buffer): void {
    this.push(msg)
    this.end()
  }

  /** End of stream: a final line without newline still counts. */
  end(): void {
    if (this.partialLen > 0 && !this.skipping) this.line(Buffer.concat(this.partial).toString('utf8'))
    this.partial.length = 0
    this.partialLen = 0
    this.skipping = false
  }

  private line(text: string): void {
    let v: unknown
    try {
      v = JSON.parse(text)
    } catch {
      // Blank lines (e.g. CRLF endings) are not worth a warning.
      if (text.trim() === '') return
      this.bad('not_json', `line is not JSON: ${JSON.stringify(text.slice(0, 60))}`)
      return
    }
    if (!isSessionEvent(v)) {
      this.bad('wrong_type', `not a session event (the ten fields with their types): ${text.slice(0, 80)}`)
      return
    }
    this.onEvent(v)
  }

  private bad(kind: BadKind, message: string): void {
    if (kind === 'not_json') this.counters.badJson++
    else if (kind === 'too_long') this.counters.badLong++
    else this.counters.badType++
    if (!this.warned.has(kind)) {
      this.warned.add(kind)
      this.warn(kind, `${message} (skipped; further ${kind.replace('_', ' ')} lines are only counted)`)
    }
  }
}

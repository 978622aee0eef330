import { accessSync, closeSync, constants, openSync, rmSync, statSync } from 'node:fs'
import { framing, outputError } from './sink-common.js'
import { fileNamer, fileSink } from './sink-file.js'
import { streamSink } from './sink-stream.js'

export { strftime } from './sink-file.js'

/**
 * Where the pcap stream goes: a FIFO (Snort, tcpdump or tshark reading it), a file (optionally
 * rotated like tcpdump -C/-G/-W) or stdout.
 *
 * Headers: an output gets its header when it is opened, as with tcpdump -w, once the link type is
 * known (--linktype, pcapng, else the first packet's). An output closed without any packet is
 * given a pcap header of --linktype or LINKTYPE_RAW (pcapng: its section header and one interface
 * of that type), so every file, rotated or empty, is a valid capture.
 *
 * Files and write errors: when a write fails (ENOSPC, EIO) the file is cut back (ftruncate) to its
 * last complete chunk, so it stays a valid capture of everything written before the error; the
 * error is logged and counted (write_errors), and packets are dropped and counted (write_failed)
 * while the output is failing, never queued. Every second a fresh file is tried, with the next
 * name tcpdump -C would use (file1, file2..., or the next -C/-G/-W name when rotating); a file that
 * holds no packet yet is started over instead. Writing resumes there with a new header, and a file
 * that saw an error is never written to again, so no reader meets a partial record mid-file.
 *
 * FIFO: while no reader has it open, packets are not held back for it (they still go to --publish
 * and the buffer interface) and are counted (no_reader). When a reader opens it, we attach and put
 * a fresh FIFO (same mode and owner) in its place: the kernel keeps a pipe's unread bytes for as
 * long as our write end is open, so a reader reopening the same pipe (a supervisor restarting
 * Snort) would read what the previous reader left, then records from mid-stream. With its own pipe
 * the next reader waits in open() until the current one has gone (POLLERR on our end), then starts
 * with a header. A header is never written into a stream a reader already holds; a reader more than
 * --max-pending MiB behind loses whole chunks (slow_reader). When the FIFO cannot be replaced (no
 * write permission on its directory) the old behaviour stays and is logged once.
 *
 * stdout: a reader that goes away (EPIPE) stops the receiver, like tcpdump -w - | head; any other
 * write error stops it too, as a failure (stdout cannot be reopened).
 */
export interface SinkOptions {
  path: string
  format: 'pcap' | 'pcapng'
  /** --linktype; also the link type of the header an output that got no packet is closed with. */
  linktype?: number
  /** What a new reader or file gets first; undefined while the pcap link type is not known yet. */
  preamble: () => Buffer | undefined
  /** Rotate files after this many bytes (tcpdump -C, in units of 1,000,000 bytes there). */
  rotateBytes: number
  rotateSeconds: number
  /** Keep at most this many rotated files, reusing names in a ring (tcpdump -W). */
  rotateCount: number
  /** Bytes a reader may fall behind before whole chunks are dropped for it. */
  maxPending: number
  /** How long a failing file output waits before trying a fresh file (1 s). */
  retryMs?: number
  log: (msg: string) => void
}

export interface SinkStats {
  opens: number
  readerGone: number
  /** Packets not written because no reader had the FIFO open. */
  noReader: number
  /** Packets not written because the reader was more than maxPending behind. */
  slowReader: number
  /** Failed writes, opens and retries of the output. */
  writeErrors: number
  /** Packets lost to write errors: in a failed write, or arriving while the output was failing. */
  writeFailed: number
  files: number
}

export interface Sink {
  stats: SinkStats
  /**
   * Opens the output: the first file (with its header when the link type is known), stdout, or
   * the wait for a FIFO reader. The path was checked by openSink; write() starts it if needed.
   */
  start(): void
  /**
   * Writes a chunk holding `packets` whole packets; `preface` (new pcapng interfaces) goes before
   * it unless the preamble, which already holds them, was just written. True when the chunk
   * reached the output, false when its packets were counted as lost (no_reader, slow_reader,
   * write_failed).
   */
  write(chunk: Buffer, packets: number, preface?: Buffer): Promise<boolean>
  /** True once stdout has gone: the receiver should stop, like tcpdump -w - | head. */
  readonly closed: boolean
  /** Set when stdout failed with something other than EPIPE: the receiver should fail with it. */
  readonly failure: string | undefined
  close(): Promise<void>
}

/**
 * Checks that the output can be written, without creating or truncating anything (a user error
 * naming it, code EOUTPUT, if not); start() then opens it.
 */
export function openSink(opts: SinkOptions): Sink {
  const kind: 'fifo' | 'file' | 'stdout' = opts.path === '-' ? 'stdout' : statSync(opts.path, { throwIfNoEntry: false })?.isFIFO() ? 'fifo' : 'file'
  const stats: SinkStats = { opens: 0, readerGone: 0, noReader: 0, slowReader: 0, writeErrors: 0, writeFailed: 0, files: 0 }
  if (kind === 'fifo') {
    try { accessSync(opts.path, constants.W_OK) } catch (err) { throw outputError(opts.path, err) }
  } else if (kind === 'file') {
    probeFile(fileNamer(opts).next(false))
  }
  const frame = framing(opts)
  return kind === 'file' ? fileSink(opts, stats, frame) : streamSink(kind, opts, stats, frame)
}

/** Opens without O_TRUNC, so a mistake found later (an endpoint that cannot be bound) costs no data. */
function probeFile(name: string): void {
  const existed = statSync(name, { throwIfNoEntry: false }) !== undefined
  let fd: number
  try { fd = openSync(name, constants.O_WRONLY | constants.O_CREAT) } catch (err) { throw outputError(name, err) }
  closeSync(fd)
  if (!existed) rmSync(name, { force: true })
}


import { createCaptureReader, type CapturePacket } from '../pcap/reader.js'
import { isPipeError, messageOf, userError, type PipeError } from '../util/errors.js'

export interface CaptureInputResult {
  /** Records the reader could not use (counted in the final counters). */
  badRecords: number
  /** Why the input was not a whole capture (code EINPUT, exit 1), or null. */
  error: PipeError | null
}

/**
 * Feeds a pcap/pcapng stream (stdin) to `onPacket` chunk by chunk; `afterChunk` flushes output
 * and returns true to stop reading. Problems with the input become one error line each, worded
 * like tcpdump -r's (which also exits 1 for every one of them): empty input, not a capture file
 * (naming its first bytes), a truncated file header, a truncated record and where it starts.
 * The error is returned, not thrown, so that the caller reports the sessions of every packet
 * read before the problem first.
 */
export async function readCaptureInput(
  input: NodeJS.ReadableStream,
  label: string,
  onPacket: (p: CapturePacket) => void,
  afterChunk: () => Promise<boolean>,
  stopping: () => boolean,
): Promise<CaptureInputResult> {
  const reader = createCaptureReader(onPacket)
  let bytesIn = 0
  // The first bytes, for the magic number in the message.
  let head = Buffer.alloc(0)
  const fail = (why: string): CaptureInputResult => ({ badRecords: reader.stats.badRecords, error: userError(`${label}: ${why}`, 'EINPUT') })
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      if (head.length < 4) head = Buffer.concat([head, chunk.subarray(0, 4 - head.length)])
      bytesIn += chunk.length
      reader.push(chunk)
      if (await afterChunk()) break
    }
  } catch (err) {
    if (stopping()) return { badRecords: reader.stats.badRecords, error: null }
    if (isPipeError(err) && err.code === 'EPCAPMAGIC') return fail(notCapture(head))
    // EISDIR, EIO...: the stream itself failed.
    if (isPipeError(err) && /^E[A-Z]+$/.test(err.code)) return fail(`cannot read: ${messageOf(err)}`)
    throw err
  }
  if (stopping()) return { badRecords: reader.stats.badRecords, error: null }
  if (bytesIn === 0) return fail('empty input, no pcap or pcapng file header')
  try {
    reader.end()
  } catch (err) {
    if (!isPipeError(err) || err.code !== 'EPCAPSHORT') throw err
    return fail(head.length === 4 && !isCaptureMagic(head) ? notCapture(head) : `truncated file header (only ${bytesIn} bytes)`)
  }
  const why = reader.stats.error
  if (why === '') return { badRecords: reader.stats.badRecords, error: null }
  // The reader counts the bytes of the incomplete last record; it starts that far before the end.
  const tail = /^truncated capture: (\d+) bytes/.exec(why)
  if (tail) return fail(`truncated record at byte ${bytesIn - Number(tail[1])} (after ${reader.stats.packets} packets)`)
  return fail(why)
}

function notCapture(head: Buffer): string {
  return `not a pcap or pcapng stream (magic 0x${head.toString('hex')})`
}

/**
 * Whether four bytes open a pcap or pcapng stream, asked of the reader itself (a 24-byte header
 * with this magic either parses or is refused as EPCAPMAGIC), so the magic numbers stay there.
 * For input shorter than a file header, which the reader only calls truncated.
 */
function isCaptureMagic(head: Buffer): boolean {
  try {
    createCaptureReader(() => {}).push(Buffer.concat([head, Buffer.alloc(20)]))
    return true
  } catch (err) {
    if (isPipeError(err) && err.code === 'EPCAPMAGIC') return false
    throw err
  }
}

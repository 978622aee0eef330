import { LINKTYPE } from './linktypes.js'
import { pcapHeader, pcapngInterface, pcapngSectionHeader } from './writer.js'
import { errnos, strerror } from '../native/libc.js'
import { messageOf, userError } from '../util/errors.js'
import type { SinkOptions } from './sink.js'

/** What an output holds so far: nothing, a pcapng section header without interfaces, a full header. */
export type HeaderState = 'none' | 'section' | 'complete'
export const EMPTY = Buffer.alloc(0)

/** `cannot write PATH: no such file or directory`: the one line the runner prints. */
export function outputError(name: string, err: unknown) {
  return userError(`cannot write ${name}: ${reason(err)}`, 'EOUTPUT')
}

/** "no such file or directory" rather than Node's "ENOENT: no such file or directory, open '...'". */
export function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  const errno = code ? (errnos as Record<string, number | undefined>)[code] : undefined
  return errno ? strerror(errno) : messageOf(err)
}

export interface Framing {
  /** The preamble, when known, for a fresh output, and what it makes of the output. */
  opening(): { buf: Buffer; state: HeaderState } | undefined
  /** What goes before a chunk on an output in `state`, and its state after; undefined: nothing can go yet. */
  lead(state: HeaderState, preface: Buffer | undefined, packets: number): { bufs: Buffer[]; state: HeaderState } | undefined
  /** What an output closed in `state` still needs to be a valid capture. */
  completion(state: HeaderState): Buffer
}

export function framing(opts: SinkOptions): Framing {
  const fallback = opts.linktype ?? LINKTYPE.RAW
  // pcapng: the section header's own length says whether interface blocks follow it.
  const stateOf = (pre: Buffer): HeaderState =>
    opts.format === 'pcapng' && pre.length <= pre.readUInt32LE(4) ? 'section' : 'complete'
  const emptyIdb = () => pcapngInterface(fallback, 'none', 'no packets were written to this file')
  return {
    opening() {
      const pre = opts.preamble()
      return pre ? { buf: pre, state: stateOf(pre) } : undefined
    },
    lead(state, preface, packets) {
      const more = preface !== undefined && preface.length > 0
      let bufs: Buffer[]
      let next = state
      if (state === 'none') {
        const pre = opts.preamble()
        if (!pre) return undefined
        bufs = [pre]
        next = stateOf(pre)
      } else {
        bufs = more ? [preface] : []
      }
      // pcapng packets come with their interfaces: in the preamble, this preface or an earlier one.
      return { bufs, state: more || packets > 0 ? 'complete' : next }
    },
    completion(state) {
      if (state === 'complete') return EMPTY
      if (opts.format === 'pcap') return opts.preamble() ?? pcapHeader(fallback)
      if (state === 'section') return emptyIdb()
      const pre = opts.preamble() ?? pcapngSectionHeader('pcap-zmq-recv')
      return stateOf(pre) === 'complete' ? pre : Buffer.concat([pre, emptyIdb()])
    },
  }
}


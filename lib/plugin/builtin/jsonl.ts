import { closeSync, existsSync, fstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { userError } from '../../util/errors.js'
import type { Plugin } from '../types.js'

export interface JsonlOptions {
  path: string
  /** Rotate when the file would grow past this many bytes (0: never). */
  maxBytes: number
  /** Rotated files kept: path.1 (newest) ... path.N. */
  keep: number
}

/**
 * The built-in `jsonl` plugin: appends each event as one JSON line, one write per batch. When
 * the next batch would take the file past maxBytes it is renamed to path.1 (older ones shift up,
 * the oldest beyond `keep` is removed) and a new file is started.
 */
export function createJsonlPlugin(opts: JsonlOptions): Plugin {
  let fd: number
  try {
    fd = openSync(opts.path, 'a')
  } catch (err) {
    throw userError(`cannot open ${opts.path} for appending: ${(err as Error).message}`, 'ECONFIG')
  }
  let size = fstatSync(fd).size

  function rotate(): void {
    closeSync(fd)
    rmSync(`${opts.path}.${opts.keep}`, { force: true })
    for (let i = opts.keep - 1; i >= 1; i--) {
      if (existsSync(`${opts.path}.${i}`)) renameSync(`${opts.path}.${i}`, `${opts.path}.${i + 1}`)
    }
    if (opts.keep > 0) renameSync(opts.path, `${opts.path}.1`)
    else rmSync(opts.path, { force: true })
    fd = openSync(opts.path, 'a')
    size = 0
  }

  return {
    name: 'jsonl',
    batched: true,
    deliver(events, n, p) {
      let text = ''
      for (let i = 0; i < n; i++) text += JSON.stringify(events[i]) + '\n'
      const data = Buffer.from(text)
      if (opts.maxBytes > 0 && size > 0 && size + data.length > opts.maxBytes) rotate()
      writeSync(fd, data)
      size += data.length
      p.done = n
    },
    async close() {
      closeSync(fd)
    },
  }
}

import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

let gc: (() => void) | undefined

/**
 * A full garbage collection now. Buffers handed to ZeroMQ are zero-copy: they stay referenced
 * until libzmq has put them into the kernel (or dropped them with their connection), and only a
 * collection shows that (a WeakRef that empties). The buffer interface asks for one when its
 * budget looks used up, rarely, rather than keep refusing dumps that were long delivered. The
 * flag works for contexts created after it is set, hence the fresh context.
 */
export function collectGarbage(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc')
    gc = runInNewContext('gc') as () => void
  }
  gc()
}

import { codedError } from '../../util/errors.js'
import { pokieStreamView, type SessionEvent } from '../event.js'
import type { Plugin, PluginContext } from '../types.js'
import { ChildHost } from './child.js'

/**
 * exec:CMD plugins: any program reading NDJSON events on stdin (run by /bin/sh). An event counts
 * as delivered once it is written into the program's stdin pipe (there is no acknowledgement, so
 * what a program had not read when it died is lost with it); if the program exits, the next
 * delivery fails and restarts it, and a program that stops reading times out and is killed.
 */
export function loadExecPlugin(command: string, ctx: PluginContext): Plugin {
  const host = new ChildHost('/bin/sh', ['-c', command], process.env, false)
  const view = ctx.fields === 'pokiestream'
  host.start()
  return {
    name: `exec:${command}`,
    batched: false,
    async deliver(events: SessionEvent[], n, p) {
      if (!host.running) {
        // Restart now, but fail this attempt: the batch is retried after the backoff, so a
        // program that keeps exiting is not restarted in a tight loop.
        const why = host.reason
        host.start()
        throw codedError(`exec plugin ${why}; started it again`, 'EPLUGINDEAD')
      }
      let text = ''
      for (let i = 0; i < n; i++) text += JSON.stringify(view ? pokieStreamView(events[i]) : events[i]) + '\n'
      await host.write(text)
      p.done = n
    },
    abort() { host.kill() },
    close() { return host.stop(4000) },
  }
}

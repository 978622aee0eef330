import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { codedError, userError } from '../../util/errors.js'
import { pokieStreamView, type SessionEvent } from '../event.js'
import type { Plugin, PluginContext } from '../types.js'
import { ChildHost } from './child.js'

/**
 * runner.py ships in lib/plugin/ (tsc copies no .py files): found next to this module when run
 * from source, or at the same place under the repository root when run from dist/.
 */
export function pythonRunnerPath(): string {
  const candidates = [
    fileURLToPath(new URL('../runner.py', import.meta.url)),
    fileURLToPath(new URL('../../../../lib/plugin/runner.py', import.meta.url)),
  ]
  const found = candidates.find((p) => existsSync(p))
  if (!found) throw userError(`cannot find the Python plugin runner (looked in ${candidates.join(', ')})`, 'EINSTALL')
  return found
}

/**
 * Python plugins: runner.py under python3 imports the file and calls its receiver (async or
 * not) per event; every batch is acknowledged on fd 3, so a raise, a crash or a hang is a failed
 * delivery that the runner retries, with exactly the events the plugin did not accept.
 */
export async function loadPythonPlugin(file: string, ctx: PluginContext): Promise<Plugin> {
  const path = resolve(file)
  if (!existsSync(path)) throw userError(`plugin file not found: ${file}`, 'ECONFIG')
  const host = new ChildHost('python3', [pythonRunnerPath(), path], {
    ...process.env,
    PCAP_ZMQ_PLUGIN_CONFIG: JSON.stringify(ctx.config),
    PCAP_ZMQ_PLUGIN_PASS_CONFIG: ctx.passConfig ? '1' : '0',
    PYTHONDONTWRITEBYTECODE: '1',
  }, true)

  async function start(): Promise<void> {
    host.start()
    const first = await host.nextAck()
    if (first === 'ready') return
    const why = first === null ? host.reason : first.replace(/^fail /, '')
    host.kill()
    throw codedError(`Python plugin ${file}: ${why}`, 'EPLUGINLOAD')
  }

  try {
    await start()
  } catch (err) {
    throw userError((err as Error).message, 'ECONFIG')
  }

  const view = ctx.fields === 'pokiestream'
  return {
    name: file,
    batched: false,
    async deliver(events: SessionEvent[], n, p) {
      if (!host.running) await start()
      let text = '['
      for (let i = 0; i < n; i++) text += (i ? ',' : '') + JSON.stringify(view ? pokieStreamView(events[i]) : events[i])
      const ack = host.nextAck()
      await host.write(text + ']\n')
      const line = await ack
      if (line === null) throw codedError(`Python plugin ${host.reason}`, 'EPLUGINDEAD')
      const m = /^(ok|err) (\d+) ?(.*)$/.exec(line)
      if (!m) throw codedError(`Python plugin runner said ${JSON.stringify(line)}`, 'EPLUGINPROTO')
      p.done = Math.min(n, Number(m[2]))
      if (m[1] === 'err') throw codedError(`Python plugin: ${m[3]}`, 'EPLUGINFAIL')
    },
    abort() { host.kill() },
    close() { return host.stop(2000) },
  }
}

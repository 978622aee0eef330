import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { sleep } from './env.js'
import { atWorkerEnd, untrackPath } from './reaper.js'

/**
 * A store server (influxd, clickhouse-server) run as this worker's child in its own temp dir:
 * start() spawns it and waits until `ready` answers, kill() is an outage (SIGKILL, as a crash:
 * no shutdown, the data directory as the crash left it), destroy() kills it and removes the dir.
 */
export interface StoreProcess {
  start: () => Promise<void>
  kill: () => Promise<void>
  destroy: () => void
}

export function storeProcess(dir: string, cmd: string, args: string[], ready: () => Promise<boolean>, what: string): StoreProcess {
  let child: ChildProcess | null = null
  const log = join(dir, 'stdout.log')
  const killNow = () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  const destroyNow = () => {
    killNow()
    child = null
    rmSync(dir, { recursive: true, force: true })
    untrackPath(dir)
  }
  const forget = atWorkerEnd(destroyNow)
  return {
    async start() {
      const fd = openSync(log, 'a')
      const c = spawn(cmd, args, { cwd: dir, stdio: ['ignore', fd, fd] })
      closeSync(fd)
      child = c
      const deadline = Date.now() + 30000
      for (;;) {
        if (c.exitCode !== null || c.signalCode !== null) throw new Error(`${what} exited at start (${c.exitCode ?? c.signalCode}); see ${log}`)
        if (await ready().catch(() => false)) return
        if (Date.now() > deadline) throw new Error(`${what} did not answer within 30 s; see ${log}`)
        await sleep(100)
      }
    },
    async kill() {
      const c = child
      if (!c || c.exitCode !== null || c.signalCode !== null) return
      const gone = new Promise((r) => c.once('exit', r))
      c.kill('SIGKILL')
      await gone
      child = null
    },
    destroy() {
      forget()
      destroyNow()
    },
  }
}

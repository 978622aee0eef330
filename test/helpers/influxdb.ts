import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, isRoot } from './env.js'
import { trackPath } from './reaper.js'
import { storeProcess } from './store-server.js'
import { influxConfig } from './store-configs.js'

/** Debian's influxdb package (1.6). */
export const INFLUXD = '/usr/bin/influxd'

/** Why the InfluxDB tests cannot run here, or null when they can. */
export function influxSkipReason(): string | null {
  if (!isRoot) return 'needs root (runs as the suite does, as root); run the test command as root'
  if (!existsSync(INFLUXD)) return `${INFLUXD} not found (apt-get install influxdb)`
  return null
}

export interface InfluxServer {
  url: string
  /** InfluxQL against `db`; the series of the first statement as rows of column -> value (times in ns). */
  query: (db: string, q: string) => Promise<Record<string, unknown>[]>
  /** SIGKILL: an outage with no clean shutdown. */
  kill: () => Promise<void>
  /** Again on the same data directory and port. */
  start: () => Promise<void>
  destroy: () => void
}

/**
 * A throwaway influxd: meta, data and WAL in a fresh temp dir, HTTP and its RPC bind address on
 * free loopback ports, reporting and the internal monitor store off.
 */
export async function startInflux(): Promise<InfluxServer> {
  const dir = mkdtempSync(join(tmpdir(), 'pzp-influx-'))
  trackPath(dir)
  const [http, rpc] = [await freePort(), await freePort()]
  const conf = join(dir, 'influxdb.conf')
  writeFileSync(conf, influxConfig(dir, http, rpc))
  const url = `http://127.0.0.1:${http}`
  const ready = async () => (await fetch(`${url}/ping`)).status === 204
  const proc = storeProcess(dir, INFLUXD, ['-config', conf], ready, 'influxd')
  await proc.start()
  return {
    url,
    async query(db, q) {
      const u = new URL(`${url}/query`)
      u.searchParams.set('db', db)
      u.searchParams.set('q', q)
      u.searchParams.set('epoch', 'ns')
      const res = await fetch(u)
      const body = await res.json() as { results?: { error?: string; series?: { columns: string[]; values: unknown[][] }[] }[]; error?: string }
      const r = body.results?.[0]
      if (!res.ok || body.error || r?.error) throw new Error(`influx query ${q}: ${body.error ?? r?.error ?? res.status}`)
      const s = r?.series?.[0]
      return s ? s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]]))) : []
    },
    kill: proc.kill,
    start: proc.start,
    destroy: proc.destroy,
  }
}

import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, isRoot } from './env.js'
import { trackPath } from './reaper.js'
import { storeProcess } from './store-server.js'
import { CLICKHOUSE_USERS, clickhouseConfig } from './store-configs.js'

/** Debian's clickhouse-server package (18.16). */
export const CLICKHOUSE = '/usr/sbin/clickhouse-server'

/** Why the ClickHouse tests cannot run here, or null when they can. */
export function clickhouseSkipReason(): string | null {
  if (!isRoot) return 'needs root (runs as the suite does, as root); run the test command as root'
  if (!existsSync(CLICKHOUSE)) return `${CLICKHOUSE} not found (apt-get install clickhouse-server)`
  return null
}

export interface ClickHouseServer {
  url: string
  /** A query; with FORMAT JSONEachRow in it, the rows parsed. */
  query: (sql: string) => Promise<Record<string, unknown>[]>
  kill: () => Promise<void>
  start: () => Promise<void>
  destroy: () => void
}

/**
 * A throwaway clickhouse-server: config.xml and users.xml generated in a fresh temp dir that
 * also holds its data, tmp and logs; HTTP and native ports on free loopback ports, small caches,
 * UTC, one passwordless default user reachable from 127.0.0.1 only.
 */
export async function startClickHouse(): Promise<ClickHouseServer> {
  const dir = mkdtempSync(join(tmpdir(), 'pzp-ch-'))
  trackPath(dir)
  const [http, tcp] = [await freePort(), await freePort()]
  writeFileSync(join(dir, 'config.xml'), clickhouseConfig(dir, http, tcp))
  writeFileSync(join(dir, 'users.xml'), CLICKHOUSE_USERS)
  const url = `http://127.0.0.1:${http}`
  const ready = async () => (await (await fetch(`${url}/ping`)).text()).startsWith('Ok')
  const proc = storeProcess(dir, CLICKHOUSE, [`--config-file=${join(dir, 'config.xml')}`], ready, 'clickhouse-server')
  await proc.start()
  return {
    url,
    async query(sql) {
      const res = await fetch(url, { method: 'POST', body: sql })
      const text = await res.text()
      if (!res.ok) throw new Error(`clickhouse query ${sql}: ${text.slice(0, 300)}`)
      return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)
    },
    kill: proc.kill,
    start: proc.start,
    destroy: proc.destroy,
  }
}

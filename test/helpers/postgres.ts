import { spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { freePort, isRoot } from './env.js'
import { atWorkerEnd, trackPath, untrackPath } from './reaper.js'

/** Debian's postgresql-15 server binaries. */
export const PG_BIN = '/usr/lib/postgresql/15/bin'

/** Why the PostgreSQL tests cannot run here, or null when they can. */
export function postgresSkipReason(): string | null {
  if (!isRoot) return 'needs root (starts PostgreSQL as the postgres user); run the test command as root'
  if (!existsSync(join(PG_BIN, 'initdb')) || !existsSync(join(PG_BIN, 'pg_ctl'))) {
    return `PostgreSQL 15 server binaries not found in ${PG_BIN} (apt-get install postgresql-15)`
  }
  if (spawnSync('id', ['-u', 'postgres']).status !== 0) return 'no postgres system user (installed with the postgresql package)'
  return null
}

export interface PgServer {
  url: string
  port: number
  /** pg_ctl start (again): same data directory, same port. */
  start: () => void
  /** pg_ctl stop -m fast: connections are cut, as when a server goes away. */
  stop: () => void
  query: <T = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<T[]>
  destroy: () => void
}

function asPostgres(args: string[]): void {
  // initdb refuses to run as root, so every server command runs as the postgres user.
  const r = spawnSync('runuser', ['-u', 'postgres', '--', ...args], { encoding: 'utf8', timeout: 60000 })
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`)
}

/**
 * A throwaway PostgreSQL server: data directory and unix-socket directory in a fresh temp dir
 * owned by postgres, listening on 127.0.0.1 on a free port, trust authentication.
 */
export async function startPostgres(): Promise<PgServer> {
  const dir = mkdtempSync(join(tmpdir(), 'pzp-pg-'))
  trackPath(dir)
  const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim())
  const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim())
  chownSync(dir, uid, gid)
  const data = join(dir, 'data')
  const port = await freePort()
  asPostgres([join(PG_BIN, 'initdb'), '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'])
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`
  const start = () => asPostgres([join(PG_BIN, 'pg_ctl'), '-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', 'start'])
  const stop = () => asPostgres([join(PG_BIN, 'pg_ctl'), '-D', data, '-m', 'fast', '-w', 'stop'])
  const destroy = () => {
    try { stop() } catch { /* already stopped */ }
    rmSync(dir, { recursive: true, force: true })
    untrackPath(dir)
  }
  // pg_ctl's server is not our child: stop it even when the worker is stopped before after().
  const forget = atWorkerEnd(destroy)
  start()
  const url = `postgresql://postgres@127.0.0.1:${port}/postgres`
  return {
    url,
    port,
    start,
    stop,
    async query<T>(sql: string, params: unknown[] = []) {
      const c = new pg.Client({ connectionString: url })
      await c.connect()
      try {
        return (await c.query(sql, params)).rows as T[]
      } finally {
        await c.end()
      }
    },
    destroy() {
      forget()
      destroy()
    },
  }
}


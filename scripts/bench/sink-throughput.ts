/**
 * Event sinks: events/s through pcap-zmq-plugin (stdin NDJSON, run to exit) into PostgreSQL,
 * InfluxDB and ClickHouse, each a throwaway server on loopback in a temp dir, configured as the
 * tests configure theirs (test/helpers/store-configs.ts; PostgreSQL with fsync=off); needs root
 * and the Debian packages, and a store that cannot start is skipped with the reason. Start-up
 * (module loading, the first connection, creating the table) is measured with a short input and
 * subtracted. Not a test: `npm run build`, then `node dist/scripts/bench/sink-throughput.js [events]`.
 * Prints a Markdown table.
 */
import { spawn, spawnSync } from 'node:child_process'
import { closeSync, createReadStream, existsSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CLICKHOUSE_USERS, clickhouseConfig, influxConfig } from '../../test/helpers/store-configs.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const bin = join(root, 'bin', 'pcap-zmq-plugin.js')
const N = Number(process.argv[2] ?? 300_000)
const SESSIONS = 5000
const work = mkdtempSync(join(tmpdir(), 'pzp-bench-'))

/** `n` events of SESSIONS sessions in the pcap-zmq-track format, in one NDJSON file. */
function writeEvents(n: number, name: string): string {
  const path = join(work, name)
  const fd = openSync(path, 'w')
  const t0 = Date.UTC(2026, 10, 23, 9)
  let buf = ''
  for (let i = 0; i < n; i++) {
    const s = i % SESSIONS
    const k = Math.floor(i / SESSIONS)
    const iso = new Date(t0 + i).toISOString()
    buf += JSON.stringify({
      src_ip: '10.0.0.1', dst_ip: '192.0.2.7', src_port: 40000 + (s % 20000), dst_port: 443, protocol_num: 6,
      protocol_name: 'TCP', state: k === 0 ? 'NEW' : 'ESTABLISHED', timestamp: iso.replace('Z', '000'),
      session_id: `0190a5b2-0000-7000-8000-${String(s).padStart(12, '0')}`, payload: null, sensor: 'bench',
      orig_packets: k + 1, orig_bytes: 60 * (k + 1), reply_packets: k, reply_bytes: 60 * k, first_seen: iso,
      last_seen: iso, duration: 0.5, tcp_state: 'ESTABLISHED', history: 'ShAD', reason: null, community_id: '1:bench',
    }) + '\n'
    if (buf.length > 1 << 20) { writeSync(fd, buf); buf = '' }
  }
  writeSync(fd, buf)
  closeSync(fd)
  return path
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A loopback TCP port free right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0))
    })
  })
}

async function until(ready: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30000
  while (!(await ready().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what} did not start within 30 s`)
    await sleep(100)
  }
}

interface Server { args: (table: string) => string[]; destroy: () => void }

/** A server process of ours in `dir`, killed and its dir removed by destroy(). */
function child(dir: string, cmd: string, args: string[]): () => void {
  const c = spawn(cmd, args, { cwd: dir, stdio: 'ignore' })
  return () => { c.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }) }
}

const PG_BIN = '/usr/lib/postgresql/15/bin'
const asPostgres = (args: string[]) => {
  const r = spawnSync('runuser', ['-u', 'postgres', '--', ...args], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${args[0]}: ${r.stderr}`)
}

const stores: { name: string; start: () => Promise<Server> }[] = [
  {
    name: 'postgres (upsert per session)',
    async start() {
      if (!existsSync(join(PG_BIN, 'pg_ctl'))) throw new Error(`no ${PG_BIN}/pg_ctl`)
      const dir = mkdtempSync(join(tmpdir(), 'pzp-bench-pg-'))
      spawnSync('chown', ['postgres:postgres', dir])
      const port = await freePort()
      asPostgres([join(PG_BIN, 'initdb'), '-D', join(dir, 'data'), '-U', 'postgres', '--auth=trust', '--no-sync'])
      asPostgres([join(PG_BIN, 'pg_ctl'), '-D', join(dir, 'data'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, '-l', join(dir, 'log'), '-w', 'start'])
      const url = `postgresql://postgres@127.0.0.1:${port}/postgres`
      return {
        args: (t) => ['postgres', '--pg-url', url, '--pg-table', t],
        destroy: () => {
          try { asPostgres([join(PG_BIN, 'pg_ctl'), '-D', join(dir, 'data'), '-m', 'fast', '-w', 'stop']) } catch { /* gone */ }
          rmSync(dir, { recursive: true, force: true })
        },
      }
    },
  },
  {
    name: 'influxdb (a point per event)',
    async start() {
      if (!existsSync('/usr/bin/influxd')) throw new Error('no /usr/bin/influxd')
      const dir = mkdtempSync(join(tmpdir(), 'pzp-bench-influx-'))
      const [http, rpc] = [await freePort(), await freePort()]
      writeFileSync(join(dir, 'influxdb.conf'), influxConfig(dir, http, rpc))
      const destroy = child(dir, '/usr/bin/influxd', ['-config', join(dir, 'influxdb.conf')])
      const url = `http://127.0.0.1:${http}`
      await until(async () => (await fetch(`${url}/ping`)).status === 204, 'influxd')
      return { args: (t) => ['influxdb', '--influx-url', url, '--influx-db', t], destroy }
    },
  },
  {
    name: 'clickhouse (a row per event)',
    async start() {
      if (!existsSync('/usr/sbin/clickhouse-server')) throw new Error('no /usr/sbin/clickhouse-server')
      const dir = mkdtempSync(join(tmpdir(), 'pzp-bench-ch-'))
      const [http, tcp] = [await freePort(), await freePort()]
      writeFileSync(join(dir, 'config.xml'), clickhouseConfig(dir, http, tcp))
      writeFileSync(join(dir, 'users.xml'), CLICKHOUSE_USERS)
      const destroy = child(dir, '/usr/sbin/clickhouse-server', [`--config-file=${join(dir, 'config.xml')}`])
      const url = `http://127.0.0.1:${http}`
      await until(async () => (await (await fetch(`${url}/ping`)).text()).startsWith('Ok'), 'clickhouse-server')
      return { args: (t) => ['clickhouse', '--ch-url', url, '--ch-table', t], destroy }
    },
  },
]

function run(args: string[], input: string): Promise<{ s: number; counters: string; code: number | null }> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint()
    const child = spawn(process.execPath, [bin, '-', ...args, '--spool-dir', join(work, 'spool')], { stdio: ['pipe', 'ignore', 'pipe'] })
    let err = ''
    child.stderr.on('data', (d: Buffer) => { err += d.toString() })
    createReadStream(input).pipe(child.stdin)
    child.on('exit', (code) => resolve({
      s: Number(process.hrtime.bigint() - t0) / 1e9, code, counters: err.split('\n').filter((l) => l.includes('received=')).pop() ?? err,
    }))
  })
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US')
const events = writeEvents(N, 'events.ndjson')
const small = writeEvents(100, 'small.ndjson')
const rows: string[] = []
try {
  for (const st of stores) {
    let server
    try {
      server = await st.start()
    } catch (err) {
      rows.push(`| ${st.name} | - | skipped: ${(err as Error).message} |`)
      continue
    }
    try {
      const base = (await run(server.args('warmup'), small)).s
      const r = await run(server.args('bench'), events)
      const ok = r.code === 0 && r.counters.includes(`delivered=${N}`)
      const rate = N / (r.s - base)
      process.stderr.write(`${st.name}: ${fmt(rate)} events/s (${r.counters})\n`)
      rows.push(`| ${st.name} | ${fmt(rate)} | default batch; ${ok ? 'all delivered' : `NOT all delivered: ${r.counters}`} |`)
    } finally {
      server.destroy()
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true })
}
process.stdout.write(`\n${new Date().toISOString()} · ${N.toLocaleString('en-US')} events, ${SESSIONS} sessions · node ${process.version}\n\n`)
process.stdout.write('| store | events/s | note |\n| --- | ---: | --- |\n')
for (const r of rows) process.stdout.write(`${r}\n`)

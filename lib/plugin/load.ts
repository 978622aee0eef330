import { existsSync } from 'node:fs'
import { dirname, extname, isAbsolute, join } from 'node:path'
import { userError } from '../util/errors.js'
import { createJsonlPlugin } from './builtin/jsonl.js'
import { createPlainPlugin } from './builtin/plain.js'
import { createClickHousePlugin, probeClickHouse } from './builtin/clickhouse.js'
import { createInfluxPlugin, probeInflux } from './builtin/influxdb.js'
import { createPostgresPlugin, probePostgres } from './builtin/postgres.js'
import { loadExecPlugin } from './kinds/exec.js'
import { loadJsPlugin } from './kinds/js.js'
import { loadLuaPlugin } from './kinds/lua.js'
import { loadPythonPlugin } from './kinds/python.js'
import type { Plugin, PluginContext } from './types.js'

export const BUILTINS = ['plain', 'jsonl', 'postgres', 'influxdb', 'clickhouse'] as const

export interface BuiltinFlags {
  out?: string
  rotateBytes?: number
  keep?: number
  pgUrl?: string
  pgTable?: string
  influxUrl?: string
  influxDb?: string
  influxMeasurement?: string
  chUrl?: string
  chDatabase?: string
  chTable?: string
  chUser?: string
  chPassword?: string
  rdns?: boolean
  color: boolean
}

export type PluginKind = 'builtin' | 'js' | 'lua' | 'python' | 'exec'

/** Which loader a plugin spec needs: exec:CMD, a built-in name, or a file by its extension. */
export function pluginKind(spec: string): PluginKind {
  if (spec.startsWith('exec:')) return 'exec'
  if ((BUILTINS as readonly string[]).includes(spec)) return 'builtin'
  const ext = extname(spec).toLowerCase()
  if (ext === '.lua') return 'lua'
  if (ext === '.py') return 'python'
  if (['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts'].includes(ext)) return 'js'
  throw userError(`unsupported plugin ${JSON.stringify(spec)}: expected a .js/.ts/.lua/.py file, exec:CMD, or one of ${BUILTINS.join(', ')}`)
}

/**
 * A relative plugin.path from config.yaml is found as PokieStream finds it (from the current
 * directory), and failing that next to the config file.
 */
export function resolvePluginPath(spec: string, configFile?: string): string {
  if (isAbsolute(spec) || existsSync(spec) || !configFile) return spec
  const near = join(dirname(configFile), spec)
  return existsSync(near) ? near : spec
}

function opt<T>(flag: T | undefined, cfg: Record<string, unknown> | undefined, key: string): T | undefined {
  return flag !== undefined ? flag : (cfg?.[key] as T | undefined)
}

export async function loadPlugin(spec: string, ctx: PluginContext, builtin: Record<string, Record<string, unknown>>, flags: BuiltinFlags): Promise<Plugin> {
  const kind = pluginKind(spec)
  if (kind === 'exec') {
    const cmd = spec.slice(5).trim()
    if (!cmd) throw userError('exec: needs a command, e.g. exec:"jq -c ."')
    return loadExecPlugin(cmd, ctx)
  }
  if (kind === 'lua') return loadLuaPlugin(spec, ctx)
  if (kind === 'python') return loadPythonPlugin(spec, ctx)
  if (kind === 'js') return loadJsPlugin(spec, ctx)
  if (spec === 'plain') {
    const rdns = opt(flags.rdns, builtin.plain, 'rdns') ?? true
    return createPlainPlugin({ rdns: rdns !== false, color: flags.color })
  }
  if (spec === 'jsonl') {
    const path = opt(flags.out, builtin.jsonl, 'path')
    if (typeof path !== 'string' || !path) throw userError('jsonl needs a file: --out FILE or plugin.jsonl.path in the config')
    const maxBytes = Number(opt(flags.rotateBytes, builtin.jsonl, 'max_bytes') ?? 0)
    const keep = Number(opt(flags.keep, builtin.jsonl, 'keep') ?? 5)
    if (!Number.isInteger(maxBytes) || maxBytes < 0) throw userError('jsonl max_bytes must be a non-negative integer')
    if (!Number.isInteger(keep) || keep < 0) throw userError('jsonl keep must be a non-negative integer')
    return createJsonlPlugin({ path, maxBytes, keep })
  }
  if (spec === 'influxdb') return loadInflux(ctx, builtin.influxdb, flags)
  if (spec === 'clickhouse') return loadClickHouse(ctx, builtin.clickhouse, flags)
  const url = opt(flags.pgUrl, builtin.postgres, 'url')
  if (typeof url !== 'string' || !url) throw userError('postgres needs a connection string: --pg-url URL or plugin.postgres.url in the config')
  const table = String(opt(flags.pgTable, builtin.postgres, 'table') ?? 'sessions')
  const plugin = createPostgresPlugin({ url, table, warn: ctx.warn })
  await probePostgres(url, ctx.warn)
  return plugin
}

/** A string option from a flag or the config section, else `fallback`; anything but a string is a mistake. */
function strOpt(flag: string | undefined, cfg: Record<string, unknown> | undefined, key: string, where: string, fallback?: string): string | undefined {
  const v = opt<unknown>(flag, cfg, key) ?? fallback
  if (v !== undefined && typeof v !== 'string') throw userError(`${where}.${key} must be a string`, 'ECONFIG')
  return v
}

async function loadInflux(ctx: PluginContext, cfg: Record<string, unknown> | undefined, flags: BuiltinFlags): Promise<Plugin> {
  const w = 'plugin.influxdb'
  const url = strOpt(flags.influxUrl, cfg, 'url', w, 'http://127.0.0.1:8086') as string
  const db = strOpt(flags.influxDb, cfg, 'db', w, 'pcap_zmq') as string
  const measurement = strOpt(flags.influxMeasurement, cfg, 'measurement', w, 'sessions') as string
  const plugin = createInfluxPlugin({ url, db, measurement, warn: ctx.warn })
  await probeInflux(url, ctx.warn)
  return plugin
}

async function loadClickHouse(ctx: PluginContext, cfg: Record<string, unknown> | undefined, flags: BuiltinFlags): Promise<Plugin> {
  const w = 'plugin.clickhouse'
  const url = strOpt(flags.chUrl, cfg, 'url', w, 'http://127.0.0.1:8123') as string
  const database = strOpt(flags.chDatabase, cfg, 'database', w, 'default') as string
  const table = strOpt(flags.chTable, cfg, 'table', w, 'sessions') as string
  const user = strOpt(flags.chUser, cfg, 'user', w)
  const password = strOpt(flags.chPassword, cfg, 'password', w)
  const plugin = createClickHousePlugin({ url, database, table, user, password, warn: ctx.warn })
  await probeClickHouse(url, user, password, ctx.warn)
  return plugin
}

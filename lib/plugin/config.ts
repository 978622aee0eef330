import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { messageOf, userError } from '../util/errors.js'

/** The part of config.yaml this tool reads; every other key (iface, filter, ...) is kept for plugins. */
export interface PluginConfig {
  /** The whole document (PokieStream's `config:` wrapper removed), handed to plugins. */
  all: Record<string, unknown>
  path: string | null
  passConfig: boolean
  queueSize: number | null
  /** Options for the built-ins, from plugin.jsonl / plugin.postgres / plugin.influxdb / plugin.clickhouse / plugin.plain. */
  builtin: Record<string, Record<string, unknown>>
  /** pcap-zmq-plugin's own options given under plugin: by their long names (spool-dir, batch, ...). */
  options: Record<string, unknown>
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Reads a PokieStream-style config.yaml: either `config: {plugin: {path, pass_config}, ...}` as
 * PokieStream writes it, or the same keys at the top level. Unknown keys are allowed (the same
 * file also configures other tools). With no file, PokieStream's defaults.
 */
export function loadPluginConfig(file: string | undefined, optionKeys: readonly string[] = []): PluginConfig {
  let doc: unknown = {}
  if (file !== undefined) {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (err) {
      throw userError(`cannot read config ${file}: ${messageOf(err)}`, 'ECONFIG')
    }
    try {
      doc = parse(text) ?? {}
    } catch (err) {
      throw userError(`config ${file} is not valid YAML: ${messageOf(err).split('\n')[0]}`, 'ECONFIG')
    }
    if (!isObj(doc)) throw userError(`config ${file}: expected a mapping at the top level`, 'ECONFIG')
    if (isObj(doc.config)) doc = doc.config
  }
  const where = file ?? 'config'
  const all = doc as Record<string, unknown>
  const plugin = all.plugin ?? {}
  if (!isObj(plugin)) throw userError(`${where}: plugin must be a mapping (path, pass_config)`, 'ECONFIG')
  const path = plugin.path ?? null
  if (path !== null && typeof path !== 'string') throw userError(`${where}: plugin.path must be a string`, 'ECONFIG')
  const pass = plugin.pass_config ?? false
  if (typeof pass !== 'boolean') throw userError(`${where}: plugin.pass_config must be true or false`, 'ECONFIG')
  const q = all.queue_size ?? null
  if (q !== null && !(typeof q === 'number' && Number.isInteger(q) && q > 0)) {
    throw userError(`${where}: queue_size must be a positive integer`, 'ECONFIG')
  }
  const builtin: Record<string, Record<string, unknown>> = {}
  for (const name of ['plain', 'jsonl', 'postgres', 'influxdb', 'clickhouse']) {
    const v = plugin[name]
    if (v === undefined || v === null) continue
    if (!isObj(v)) throw userError(`${where}: plugin.${name} must be a mapping`, 'ECONFIG')
    builtin[name] = v
  }
  const options: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(plugin)) {
    const key = k.replace(/_/g, '-')
    if (k !== 'pass_config' && optionKeys.includes(key) && v !== null) options[key] = v
  }
  // PokieStream merges its defaults before plugins see the config; so do we.
  all.plugin = { ...plugin, path: path === null ? null : path.trim(), pass_config: pass }
  return { all, path: path === null ? null : path.trim(), passConfig: pass, queueSize: q, builtin, options }
}

/** "64M", "1G", "500k", "1048576" -> bytes. */
export function parseBytes(v: string | number, what: string): number {
  if (typeof v === 'number') return v
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMgG]?)i?[bB]?$/.exec(v.trim())
  if (!m) throw userError(`${what}: expected a size like 64M or 1G, got ${JSON.stringify(v)}`)
  const mult = { '': 1, k: 1 << 10, m: 1 << 20, g: 1 << 30 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g']
  return Math.floor(Number(m[1]) * mult)
}

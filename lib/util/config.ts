import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { messageOf, userError } from './errors.js'

/**
 * Reads a YAML config whose keys are the tool's long flag names (either spelling: `zmq-buffer` or
 * `zmq_buffer`). Unknown keys are refused naming the key, so a typo never silently does nothing.
 */
export function loadFlagConfig(path: string, known: readonly string[]): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw userError(`cannot read config ${path}: ${messageOf(err)}`, 'ECONFIG')
  }
  let doc: unknown
  try {
    doc = parse(text)
  } catch (err) {
    throw userError(`config ${path} is not valid YAML: ${messageOf(err).split('\n')[0]}`, 'ECONFIG')
  }
  if (doc == null) return {}
  if (typeof doc !== 'object' || Array.isArray(doc)) throw userError(`config ${path} must be a mapping of option: value`, 'ECONFIG')
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    const key = k.replace(/_/g, '-')
    if (!known.includes(key)) throw userError(`config ${path}: unknown key "${k}" (known: ${known.join(', ')})`, 'ECONFIG')
    out[key] = v
  }
  return out
}

/** Applies config values under flags the user did not give on the command line (flags win). */
export function mergeConfig<T extends Record<string, unknown>>(argv: T, explicit: Set<string>, config: Record<string, unknown>): T {
  for (const [k, v] of Object.entries(config)) {
    if (!explicit.has(k)) (argv as Record<string, unknown>)[k] = v
  }
  return argv
}

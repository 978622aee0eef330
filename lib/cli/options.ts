import { userError } from '../util/errors.js'
import { parseMetricsAddress } from '../util/metrics.js'
import { fromArgv } from './run.js'

/** Shared checks for flag and config values: one line naming the option and what it expects. */
export function num(name: string, v: unknown, { min = -Infinity, max = Infinity, int = false } = {}): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max || (int && !Number.isInteger(n))) {
    const range = `${min > -Infinity ? ` >= ${min}` : ''}${max < Infinity ? ` <= ${max}` : ''}`
    throw userError(`--${name} expects ${int ? 'an integer' : 'a number'}${range}, got ${JSON.stringify(v)}`, 'EUSAGE')
  }
  return n
}

export function bool(name: string, v: unknown): boolean {
  if (typeof v === 'boolean') return v
  if (v === 'true' || v === 'yes' || v === 1) return true
  if (v === 'false' || v === 'no' || v === 0) return false
  throw userError(`--${name} expects true or false, got ${JSON.stringify(v)}`, 'EUSAGE')
}

export function str(name: string, v: unknown): string {
  v = fromArgv(v)
  if (typeof v === 'string') return v
  if (typeof v === 'number') return String(v)
  throw userError(`--${name} expects a string, got ${JSON.stringify(v)}`, 'EUSAGE')
}

/** --metrics HOST:PORT, checked now so a typo is one line before anything starts. */
export function metricsAddress(v: unknown): string | undefined {
  if (v === undefined) return undefined
  const s = str('metrics', v)
  parseMetricsAddress(s)
  return s
}

/** A positional argument, or the config file's key of the same meaning (systemd units pass only -c FILE). */
export function positional(given: unknown, fromConfig: unknown, name: string, key: string): unknown {
  if (given !== undefined) return given
  if (fromConfig !== undefined) return fromConfig
  throw userError(`${name} is missing: give it on the command line or as ${key}: in the config file (--help)`, 'EUSAGE')
}

export const MiB = 1048576

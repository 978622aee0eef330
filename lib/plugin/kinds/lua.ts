import { existsSync, readFileSync } from 'node:fs'
import { LuaFactory, type LuaEngine } from 'wasmoon'
import { messageOf, userError } from '../../util/errors.js'
import { pokieStreamView, type SessionEvent } from '../event.js'
import type { Plugin, PluginContext } from '../types.js'

/**
 * Lua values from JSON: nil for null (wasmoon cannot push a JS null inside a table, and
 * PokieStream's plugins test absent fields with `~= nil`), tables for objects and arrays.
 */
function toLua(v: unknown): unknown {
  if (v === null || v === undefined) return undefined
  if (Array.isArray(v)) return v.map(toLua)
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {}
    for (const k in v as Record<string, unknown>) {
      const x = (v as Record<string, unknown>)[k]
      if (x !== null && x !== undefined) out[k] = toLua(x)
    }
    return out
  }
  return v
}

// Lua's own print semantics (tostring of every argument, tab separated) written to our stdout.
const PRINT_SHIM = `
local __write = __pzp_write
function print(...)
  local n = select('#', ...)
  local parts = {}
  for i = 1, n do parts[i] = tostring((select(i, ...))) end
  __write(table.concat(parts, "\\t") .. "\\n")
end
__pzp_write = nil
`

/**
 * Lua plugins in a real Lua 5.4 VM (wasmoon): a global receiver(event, config?) as in
 * PokieStream, optional receiver_batch(events, config?), init(config) and close(). Calls are
 * synchronous; a Lua error() is a failed delivery.
 */
export async function loadLuaPlugin(file: string, ctx: PluginContext): Promise<Plugin> {
  if (!existsSync(file)) throw userError(`plugin file not found: ${file}`, 'ECONFIG')
  const engine: LuaEngine = await new LuaFactory().createEngine({ injectObjects: false, enableProxy: false })
  engine.global.set('__pzp_write', (s: string) => { process.stdout.write(String(s)) })
  await engine.doString(PRINT_SHIM)
  try {
    await engine.doString(readFileSync(file, 'utf8'))
  } catch (err) {
    engine.global.close()
    throw userError(`cannot load Lua plugin ${file}: ${messageOf(err)}`, 'ECONFIG')
  }
  const receiver = engine.global.get('receiver') as ((e: unknown, c?: unknown) => unknown) | null
  if (typeof receiver !== 'function') {
    engine.global.close()
    throw userError(`Lua plugin ${file} does not define a global receiver(event, config) function`, 'ECONFIG')
  }
  const batchFn = engine.global.get('receiver_batch') as ((e: unknown, c?: unknown) => unknown) | null
  const init = engine.global.get('init') as ((c: unknown) => unknown) | null
  const closeFn = engine.global.get('close') as (() => unknown) | null
  const luaConfig = toLua(ctx.config)
  if (typeof init === 'function') {
    try { init(luaConfig) } catch (err) {
      throw userError(`Lua plugin ${file}: init failed: ${messageOf(err)}`, 'EPLUGININIT')
    }
  }
  const view = ctx.fields === 'pokiestream'
  const pass = ctx.passConfig
  return {
    name: file,
    batched: typeof batchFn === 'function',
    deliver(events: SessionEvent[], n, p) {
      if (typeof batchFn === 'function') {
        const arr = new Array(n)
        for (let i = 0; i < n; i++) arr[i] = toLua(view ? pokieStreamView(events[i]) : events[i])
        if (pass) batchFn(arr, luaConfig)
        else batchFn(arr)
        p.done = n
        return
      }
      for (let i = 0; i < n; i++) {
        const ev = toLua(view ? pokieStreamView(events[i]) : events[i])
        if (pass) receiver(ev, luaConfig)
        else receiver(ev)
        p.done++
      }
    },
    async close() {
      try { if (typeof closeFn === 'function') closeFn() } finally { engine.global.close() }
    },
  }
}

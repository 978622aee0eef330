import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { messageOf, userError } from '../../util/errors.js'
import { pokieStreamView, type SessionEvent } from '../event.js'
import type { Plugin, PluginContext, Progress } from '../types.js'

type Receiver = (event: SessionEvent, config?: unknown) => unknown
type BatchReceiver = (events: SessionEvent[], config?: unknown) => unknown

interface PluginModule {
  receiver?: unknown
  receiverBatch?: unknown
  init?: unknown
  close?: unknown
  default?: unknown
}

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function'

/** Imports a .js/.mjs/.cjs module directly, a .ts/.mts/.cts one through tsx. */
async function importModule(path: string): Promise<PluginModule> {
  if (/\.[mc]?ts$/.test(path)) {
    const { tsImport } = await import('tsx/esm/api')
    return (await tsImport(pathToFileURL(path).href, import.meta.url)) as PluginModule
  }
  return (await import(pathToFileURL(path).href)) as PluginModule
}

/**
 * JS/TS plugins: PokieStream's contract (receiver(event, config?) with config only when
 * plugin.pass_config is true) plus optional receiverBatch(events, config?), init(config), close().
 * receiver may be sync or async; a sync receiver is called without an await in between, which is
 * what lets a no-op plugin run at hundreds of thousands of events per second.
 */
export async function loadJsPlugin(file: string, ctx: PluginContext): Promise<Plugin> {
  const path = resolve(file)
  if (!existsSync(path)) throw userError(`plugin file not found: ${file}`, 'ECONFIG')
  let mod: PluginModule
  try {
    mod = await importModule(path)
  } catch (err) {
    throw userError(`cannot load plugin ${file}: ${messageOf(err)}`, 'ECONFIG')
  }
  // A CommonJS module arrives as { default: module.exports }.
  if (typeof mod.receiver !== 'function' && mod.default && typeof mod.default === 'object') mod = mod.default as PluginModule
  if (typeof mod.receiver !== 'function') {
    throw userError(`plugin ${file} does not export a receiver(event, config?) function`, 'ECONFIG')
  }
  const receiver = mod.receiver as Receiver
  const batchReceiver = typeof mod.receiverBatch === 'function' ? (mod.receiverBatch as BatchReceiver) : null
  if (typeof mod.init === 'function') {
    try {
      await (mod.init as (c: unknown) => unknown)(ctx.config)
    } catch (err) {
      throw userError(`plugin ${file}: init failed: ${messageOf(err)}`, 'EPLUGININIT')
    }
  }
  const { passConfig, config } = ctx
  const view = ctx.fields === 'pokiestream'
  const closeHook = typeof mod.close === 'function' ? (mod.close as () => unknown) : null

  async function finish(events: SessionEvent[], n: number, p: Progress, pending: PromiseLike<unknown>): Promise<void> {
    await pending
    p.done++
    for (let i = p.done; i < n; i++) {
      if (p.cancelled) return
      const ev = view ? pokieStreamView(events[i]) : events[i]
      const r = passConfig ? receiver(ev, config) : receiver(ev)
      if (isThenable(r)) await r
      p.done++
    }
  }

  return {
    name: file,
    batched: batchReceiver !== null,
    deliver(events, n, p) {
      if (batchReceiver) {
        const batch = events.slice(0, n).map(view ? pokieStreamView : (e) => e)
        const r = passConfig ? batchReceiver(batch, config) : batchReceiver(batch)
        if (isThenable(r)) return Promise.resolve(r).then(() => { p.done = n })
        p.done = n
        return
      }
      for (let i = 0; i < n; i++) {
        const ev = view ? pokieStreamView(events[i]) : events[i]
        const r = passConfig ? receiver(ev, config) : receiver(ev)
        if (isThenable(r)) return finish(events, n, p, r)
        p.done++
      }
    },
    async close() {
      if (closeHook) await closeHook()
    },
  }
}

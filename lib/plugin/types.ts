import type { SessionEvent } from './event.js'

/** How far one delivery call got; the runner reads it after a failure or timeout. */
export interface Progress {
  /** Events at the start of the batch the plugin has accepted. */
  done: number
  /** Set by the runner on timeout: the plugin must not go on with the rest of the batch. */
  cancelled: boolean
}

/**
 * A loaded plugin, whatever its kind. `deliver` hands events [0, n) over in order, advancing
 * `progress.done` as each is accepted, and throws (or rejects) at the first failure.
 */
export interface Plugin {
  /** For messages: the file, command or built-in name. */
  name: string
  /** True when the plugin takes a whole batch in one call (receiverBatch, postgres, jsonl). */
  batched: boolean
  /** Events per call when --batch is not given (stores that take large batches say so). */
  defaultBatch?: number
  deliver(events: SessionEvent[], n: number, progress: Progress): void | Promise<void>
  /** After a timeout: stop the plugin's work (child plugins are killed and restarted on demand). */
  abort?(): void
  close(): Promise<void>
}

/** What every loader gets. */
export interface PluginContext {
  /** The whole configuration (config.yaml's content, `config:` wrapper removed, defaults merged). */
  config: Record<string, unknown>
  /** PokieStream's plugin.pass_config: give `config` to receiver as its second argument. */
  passConfig: boolean
  /** 'pokiestream' = only the ten PokieStream fields; 'all' = every field of the event. */
  fields: 'pokiestream' | 'all'
  /** Where messages go (stderr, prefixed by the tool name). */
  warn: (message: string) => void
}

import { curveFlags, resolveCurve } from './curve-options.js'
import { metricsAddress } from './options.js'
import { baseParser, runCli } from './run.js'
import { parseBytes } from '../plugin/config.js'
import { main, type PluginOptions } from '../plugin/main.js'
import { userError } from '../util/errors.js'

const NAME = 'pcap-zmq-plugin'

// yargs turns a bare `-` positional into an empty string; keep it recognisable.
const STDIN = '\u0000stdin'

export async function parsePluginArgs(argv: string[]): Promise<PluginOptions> {
  const a = await curveFlags(baseParser(NAME, argv.map((x) => (x === '-' ? STDIN : x))), { binds: false, connects: true })
    .usage('$0 <source> [plugin]\n\nHands session events (NDJSON from pcap-zmq-track) to a plugin; what the plugin does not accept is spooled on disk and retried.')
    .command('$0 <source> [plugin]', false)
    .positional('source', { type: 'string', describe: '- for NDJSON on stdin, or the endpoint of pcap-zmq-track --publish (tcp://..., ipc://...)' })
    .positional('plugin', { type: 'string', describe: 'file.js|.ts|.lua|.py, exec:CMD, or a built-in: plain, jsonl, postgres (default: plugin.path from the config, else plain)' })
    .option('config', { alias: 'c', type: 'string', describe: 'PokieStream-style config.yaml (plugin.path, plugin.pass_config, queue_size)' })
    .option('pass-config', { type: 'boolean', describe: 'give the config to receiver as its second argument (plugin.pass_config)' })
    .option('fields', { choices: ['pokiestream', 'all'] as const, describe: 'event fields plugins get (default: pokiestream for .py plugins, all otherwise)' })
    .option('batch', { type: 'number', describe: 'events per receiverBatch call (default 256; postgres 500)' })
    .option('batch-ms', { type: 'number', default: 0, describe: 'wait up to this long for a batch to fill' })
    .option('queue', { type: 'number', describe: 'in-memory queue size in events (default queue_size from the config, else 10000)' })
    .option('plugin-timeout', { type: 'number', default: 10, describe: 'seconds a plugin call may go without progress before it counts as failed' })
    .option('spool-dir', { type: 'string', default: '.pcap-zmq-plugin-spool', describe: 'directory for undelivered events (kept across restarts)' })
    .option('spool-max', { type: 'string', default: '1G', describe: 'spool size cap; over it the oldest segments are dropped and counted' })
    .option('max-line', { type: 'string', default: '1M', describe: 'longest accepted input line; longer ones are counted and skipped' })
    .option('drain-timeout', { type: 'number', describe: 'at end of input, stop retrying after this many seconds (events stay in the spool)' })
    .option('metrics', { type: 'string', describe: 'serve Prometheus metrics on HOST:PORT (GET /metrics)' })
    .option('retry-max', { type: 'number', default: 5, describe: 'longest wait between retries, seconds (backoff starts at 0.1 s)' })
    .option('out', { alias: 'o', type: 'string', describe: 'jsonl: file to append to (plugin.jsonl.path)' })
    .option('rotate-bytes', { type: 'string', describe: 'jsonl: rotate the file at this size (plugin.jsonl.max_bytes)' })
    .option('keep', { type: 'number', describe: 'jsonl: rotated files to keep (plugin.jsonl.keep, default 5)' })
    .option('pg-url', { type: 'string', describe: 'postgres: connection string (plugin.postgres.url)' })
    .option('pg-table', { type: 'string', describe: 'postgres: table name (plugin.postgres.table, default sessions)' })
    .option('rdns', { type: 'boolean', describe: 'plain: reverse DNS of the destination (default on; --no-rdns)' })
    .option('color', { type: 'boolean', default: !process.env.NO_COLOR, describe: 'plain: colours per state (--no-color, or NO_COLOR)' })
    .parseAsync()
  const pos = (v: number | undefined, flag: string, min = 1) => {
    if (v !== undefined && (!Number.isFinite(v) || v < min)) throw userError(`--${flag} must be a number >= ${min}`)
    return v
  }
  if (a.batch !== undefined && !Number.isInteger(a.batch)) throw userError('--batch must be a whole number')
  if (a.queue !== undefined && !Number.isInteger(a.queue)) throw userError('--queue must be a whole number')
  return {
    source: a.source === STDIN ? '-' : String(a.source),
    curve: resolveCurve((k) => (a as Record<string, unknown>)[k], NAME, { binds: false, connects: a.source !== STDIN }),
    plugin: a.plugin,
    config: a.config,
    passConfig: a['pass-config'],
    fields: a.fields,
    batch: pos(a.batch, 'batch'),
    batchMs: pos(a['batch-ms'], 'batch-ms', 0) as number,
    queue: pos(a.queue, 'queue'),
    timeoutMs: (pos(a['plugin-timeout'], 'plugin-timeout', 0.01) as number) * 1000,
    spoolDir: a['spool-dir'],
    spoolMax: parseBytes(a['spool-max'], '--spool-max'),
    maxLine: parseBytes(a['max-line'], '--max-line'),
    drainTimeoutMs: a['drain-timeout'] === undefined ? undefined : (pos(a['drain-timeout'], 'drain-timeout', 0) as number) * 1000,
    retryMinMs: 100,
    retryMaxMs: (pos(a['retry-max'], 'retry-max', 0.1) as number) * 1000,
    metrics: metricsAddress(a.metrics),
    builtin: {
      out: a.out,
      rotateBytes: a['rotate-bytes'] === undefined ? undefined : parseBytes(a['rotate-bytes'], '--rotate-bytes'),
      keep: a.keep,
      pgUrl: a['pg-url'],
      pgTable: a['pg-table'],
      rdns: a.rdns,
      color: a.color,
    },
  }
}

await runCli(NAME, parsePluginArgs, main)

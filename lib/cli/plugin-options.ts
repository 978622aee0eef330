import { CURVE_GROUP_TITLE, curveOptions, resolveCurve } from './curve-options.js'
import { configKeys, configOptions, findOption, givenFlags, LOGGING_GROUP_TITLE, loggingOptions, optionLines, optionReader, yamlValue, templateHeader, type ToolSpec } from './option-table.js'
import { toolParser } from './tool-parser.js'
import { bool, metricsAddress, num, str } from './options.js'
import { loadPluginConfig, parseBytes } from '../plugin/config.js'
import type { PluginOptions } from '../plugin/main.js'
import { userError } from '../util/errors.js'

export const NAME = 'pcap-zmq-plugin'

// yargs turns a bare `-` positional into an empty string; keep it recognisable.
const STDIN = '\u0000stdin'

const CONFIG_NOTE = 'PokieStream\'s config.yaml (plugin: path, pass_config; queue_size; optionally under a top-level config:), the built-ins\' options under plugin.plain, plugin.jsonl, plugin.postgres, plugin.influxdb and plugin.clickhouse, and any long option of this tool under plugin: (spool-dir, batch, ...); options on the command line win.'

export const PLUGIN_TOOL: ToolSpec = {
  name: NAME,
  summary: 'hand session events from pcap-zmq-track to a plugin, spooling what it does not accept',
  synopsis: `${NAME} [options] SOURCE [PLUGIN]`,
  description: ['Hands session events (NDJSON from pcap-zmq-track) to a plugin: JavaScript or TypeScript, Lua, Python (PokieStream\'s interface), any program (exec:CMD), or a built-in. What the plugin does not accept is spooled on disk and retried, in order, until it does.'],
  positionals: [
    { name: 'SOURCE', describe: '- for NDJSON on stdin, or the endpoint of pcap-zmq-track --publish (tcp://..., ipc://...)' },
    { name: 'PLUGIN', describe: 'file.js|.ts|.lua|.py, exec:CMD, or a built-in: plain, jsonl, postgres, influxdb, clickhouse (default: plugin.path from the config, else plain)' },
  ],
  configNote: CONFIG_NOTE,
  groups: [
    {
      title: 'Plugin',
      options: [
        { name: 'pass-config', type: 'boolean', default: false, configKey: 'plugin.pass_config', describe: 'give the config to receiver as its second argument' },
        { name: 'fields', type: 'string', defaultText: 'pokiestream for .py plugins, all otherwise', describe: 'event fields plugins get: pokiestream (PokieStream\'s ten) or all' },
        { name: 'batch', type: 'number', defaultText: '256; postgres 500; influxdb and clickhouse 5000; 1 for plugins without receiverBatch', describe: 'events per receiverBatch call' },
        { name: 'batch-ms', type: 'number', default: 0, describe: 'wait up to this many ms for a batch to fill' },
        { name: 'plugin-timeout', type: 'number', default: 10, describe: 'seconds a plugin call may go without progress before it counts as failed' },
        { name: 'retry-max', type: 'number', default: 5, describe: 'longest wait between retries, seconds (backoff starts at 0.1 s)' },
      ],
    },
    {
      title: 'Queue and spool',
      options: [
        { name: 'queue', type: 'number', default: 10000, configKey: 'queue_size', describe: 'in-memory queue size in events' },
        { name: 'spool-dir', type: 'string', default: '.pcap-zmq-plugin-spool', describe: 'directory for undelivered events (kept across restarts)' },
        { name: 'spool-max', type: 'string', default: '1G', describe: 'spool size cap; over it the oldest segments are dropped and counted' },
        { name: 'max-line', type: 'string', default: '1M', describe: 'longest accepted input line; longer ones are counted and skipped' },
        { name: 'drain-timeout', type: 'number', describe: 'at end of input, stop retrying after this many seconds (events stay in the spool)' },
      ],
    },
    {
      title: 'Built-in plugins',
      options: [
        { name: 'out', alias: 'o', type: 'string', configKey: 'plugin.jsonl.path', describe: 'jsonl: file to append to' },
        { name: 'rotate-bytes', type: 'string', configKey: 'plugin.jsonl.max_bytes', describe: 'jsonl: rotate the file at this size' },
        { name: 'keep', type: 'number', default: 5, configKey: 'plugin.jsonl.keep', describe: 'jsonl: rotated files to keep' },
        { name: 'pg-url', type: 'string', configKey: 'plugin.postgres.url', describe: 'postgres: connection string' },
        { name: 'pg-table', type: 'string', default: 'sessions', configKey: 'plugin.postgres.table', describe: 'postgres: table name' },
        { name: 'rdns', type: 'boolean', default: true, configKey: 'plugin.plain.rdns', describe: 'plain: reverse DNS of the destination' },
        { name: 'color', type: 'boolean', defaultText: 'on unless NO_COLOR is set', cliOnly: true, describe: 'plain: colours per state' },
      ],
    },
    {
      title: 'InfluxDB sink',
      options: [
        { name: 'influx-url', type: 'string', default: 'http://127.0.0.1:8086', configKey: 'plugin.influxdb.url', describe: 'influxdb: HTTP API of InfluxDB 1.x (user:password@ for authentication)' },
        { name: 'influx-db', type: 'string', default: 'pcap_zmq', configKey: 'plugin.influxdb.db', describe: 'influxdb: database (created if missing)' },
        { name: 'influx-measurement', type: 'string', default: 'sessions', configKey: 'plugin.influxdb.measurement', describe: 'influxdb: measurement' },
      ],
    },
    {
      title: 'ClickHouse sink',
      options: [
        { name: 'ch-url', type: 'string', default: 'http://127.0.0.1:8123', configKey: 'plugin.clickhouse.url', describe: 'clickhouse: HTTP interface (user:password@ for authentication)' },
        { name: 'ch-database', type: 'string', default: 'default', configKey: 'plugin.clickhouse.database', describe: 'clickhouse: database (created if missing)' },
        { name: 'ch-table', type: 'string', default: 'sessions', configKey: 'plugin.clickhouse.table', describe: 'clickhouse: table (a ReplacingMergeTree, created if missing)' },
        { name: 'ch-user', type: 'string', configKey: 'plugin.clickhouse.user', describe: 'clickhouse: user (instead of the one in the URL)' },
        { name: 'ch-password', type: 'string', configKey: 'plugin.clickhouse.password', describe: 'clickhouse: password (better in the config file than on the command line)' },
      ],
    },
    { title: CURVE_GROUP_TITLE, options: curveOptions({ binds: false, connects: true }) },
    { title: LOGGING_GROUP_TITLE, options: loggingOptions() },
    { title: 'Configuration', options: configOptions(CONFIG_NOTE) },
  ],
}

/** --print-config: PokieStream's layout, the built-ins' sections, and this tool's options under plugin:. */
export function pluginConfigTemplate(): string {
  const d = (n: string) => yamlValue(findOption(PLUGIN_TOOL, n).default as string | number | boolean)
  const out = [
    ...templateHeader(PLUGIN_TOOL),
    'config:',
    '  # In-memory queue size in events (--queue).',
    `  queue_size: ${d('queue')}`,
    '  plugin:',
    '    # A .js/.ts/.lua/.py file (relative to this file), exec:CMD, or plain, jsonl, postgres, influxdb, clickhouse.',
    '    # path: plain',
    '    # Give this config to receiver as its second argument (--pass-config).',
    `    pass_config: ${d('pass-config')}`,
    '    plain:',
    '      # Reverse DNS of the destination (--rdns).',
    `      rdns: ${d('rdns')}`,
    '    jsonl:',
    '      # File to append to (--out).',
    '      # path: /var/lib/pcap-zmq-pipe/sessions.jsonl',
    '      # Rotate the file at this many bytes (--rotate-bytes; 0 = never).',
    '      # max_bytes: 104857600',
    '      # Rotated files to keep (--keep).',
    `      keep: ${d('keep')}`,
    '    postgres:',
    '      # Connection string (--pg-url).',
    '      # url: postgres://user@localhost/db',
    '      # Table name (--pg-table).',
    `      table: ${d('pg-table')}`,
    '    influxdb:',
    '      # HTTP API of InfluxDB 1.x (--influx-url; user:password@ for authentication).',
    `      url: ${d('influx-url')}`,
    '      # Database, created if missing (--influx-db).',
    `      db: ${d('influx-db')}`,
    '      # Measurement (--influx-measurement).',
    `      measurement: ${d('influx-measurement')}`,
    '    clickhouse:',
    '      # HTTP interface (--ch-url; user:password@ for authentication).',
    `      url: ${d('ch-url')}`,
    '      # Database, created if missing (--ch-database).',
    `      database: ${d('ch-database')}`,
    '      # Table, a ReplacingMergeTree created if missing (--ch-table).',
    `      table: ${d('ch-table')}`,
    '      # User and password, instead of those in the URL (--ch-user, --ch-password).',
    '      # user: default',
    '      # password: secret',
  ]
  for (const g of PLUGIN_TOOL.groups) {
    const lines = optionLines(g.options.filter((o) => !o.configKey), '    ')
    if (lines.length > 0) out.push(`    ## ${g.title}`, ...lines)
  }
  return `${out.join('\n')}\n`
}

export async function parsePluginArgs(argv: string[]): Promise<PluginOptions> {
  const a = await toolParser(PLUGIN_TOOL, argv.map((x) => (x === '-' ? STDIN : x)), pluginConfigTemplate)
    .command('$0 [source] [plugin]', false)
    .parseAsync()
  const argvRec = a as Record<string, unknown>
  if (a.source === undefined) throw userError('SOURCE is missing: - for NDJSON on stdin, or the endpoint of pcap-zmq-track --publish (--help)', 'EUSAGE')
  const cfg = loadPluginConfig(typeof a.config === 'string' ? a.config : undefined, configKeys(PLUGIN_TOOL))
  const { get, raw } = optionReader(PLUGIN_TOOL, argvRec, cfg.options)
  const int = (k: string, min: number) => {
    const v = raw(k)
    return v === undefined ? undefined : num(k, v, { min, int: true })
  }
  const fields = raw('fields')
  if (fields !== undefined && fields !== 'pokiestream' && fields !== 'all') throw userError(`--fields expects pokiestream or all, got ${JSON.stringify(fields)}`, 'EUSAGE')
  const drain = raw('drain-timeout')
  const rotate = raw('rotate-bytes')
  const onCommandLine = givenFlags(argvRec)
  const given = (k: string) => (onCommandLine.has(k) ? argvRec[k] : undefined)
  const givenStr = (k: string) => (given(k) === undefined ? undefined : str(k, given(k)))
  return {
    source: a.source === STDIN ? '-' : String(a.source),
    curve: resolveCurve(raw, NAME, { binds: false, connects: a.source !== STDIN }),
    plugin: a.plugin === undefined ? undefined : str('PLUGIN', a.plugin),
    config: typeof a.config === 'string' ? a.config : undefined,
    passConfig: given('pass-config') === undefined ? undefined : bool('pass-config', given('pass-config')),
    fields: fields as 'pokiestream' | 'all' | undefined,
    batch: int('batch', 1),
    batchMs: num('batch-ms', get('batch-ms'), { min: 0 }),
    queue: given('queue') === undefined ? undefined : num('queue', given('queue'), { min: 1, int: true }),
    timeoutMs: num('plugin-timeout', get('plugin-timeout'), { min: 0.01 }) * 1000,
    spoolDir: str('spool-dir', get('spool-dir')),
    spoolMax: parseBytes(str('spool-max', get('spool-max')), '--spool-max'),
    maxLine: parseBytes(str('max-line', get('max-line')), '--max-line'),
    drainTimeoutMs: drain === undefined ? undefined : num('drain-timeout', drain, { min: 0 }) * 1000,
    retryMinMs: 100,
    retryMaxMs: num('retry-max', get('retry-max'), { min: 0.1 }) * 1000,
    statsInterval: num('stats-interval', get('stats-interval'), { min: 0 }),
    debug: bool('debug', get('debug')),
    metrics: metricsAddress(raw('metrics')),
    builtin: {
      out: given('out') === undefined ? undefined : str('out', given('out')),
      rotateBytes: rotate === undefined ? undefined : parseBytes(str('rotate-bytes', rotate), '--rotate-bytes'),
      keep: given('keep') === undefined ? undefined : num('keep', given('keep'), { min: 0, int: true }),
      pgUrl: given('pg-url') === undefined ? undefined : str('pg-url', given('pg-url')),
      pgTable: given('pg-table') === undefined ? undefined : str('pg-table', given('pg-table')),
      influxUrl: givenStr('influx-url'),
      influxDb: givenStr('influx-db'),
      influxMeasurement: givenStr('influx-measurement'),
      chUrl: givenStr('ch-url'),
      chDatabase: givenStr('ch-database'),
      chTable: givenStr('ch-table'),
      chUser: givenStr('ch-user'),
      chPassword: givenStr('ch-password'),
      rdns: given('rdns') === undefined ? undefined : bool('rdns', given('rdns')),
      color: a.color === undefined ? !process.env.NO_COLOR : bool('color', a.color),
    },
  }
}

import type { Argv } from 'yargs'

/**
 * One table per tool describes every option once; the yargs parser, the help groups, the
 * --print-config template and the man page are all made from it, so they cannot disagree.
 */
export interface OptionSpec {
  name: string
  alias?: string
  type: 'string' | 'number' | 'boolean'
  describe: string
  /** The default as the config file holds it: the template writes `name: default` uncommented. */
  default?: string | number | boolean
  /** The default in words, when it follows from other options or the input. */
  defaultText?: string
  /** Only on the command line (-c itself, --print-config, the list flags): not a config key. */
  cliOnly?: boolean
  /** Where the config file holds this option, when not under its own name (track, plugin). */
  configKey?: string
  /**
   * The template shows the default commented out: the option's presence means something (the
   * capture options are refused for sources other than iface:).
   */
  commentedDefault?: boolean
}

export interface OptionGroup {
  title: string
  options: OptionSpec[]
}

export interface PositionalSpec {
  name: string
  describe: string
  /** The config key that may stand in for it (systemd units pass only -c FILE). */
  configKey?: string
}

export interface ToolSpec {
  name: string
  /** One line: what the tool does (man page NAME section, help). */
  summary: string
  synopsis: string
  /** Paragraphs after the synopsis in help and the man page's DESCRIPTION. */
  description: string[]
  positionals: PositionalSpec[]
  groups: OptionGroup[]
  /** How -c FILE is read, for the template's header and the man page. */
  configNote: string
}

/** The options every long-running tool shares, in the same words everywhere. */
export const LOGGING_GROUP_TITLE = 'Logging and statistics'

export function loggingOptions(): OptionSpec[] {
  return [
    { name: 'debug', type: 'boolean', default: false, describe: 'verbose operation: what was opened, bound and connected, every rate change' },
    { name: 'stats-interval', type: 'number', default: 0, describe: 'print counters, with the rate of each since the last line, every N seconds on stderr (0 = only on SIGUSR1 and at exit)' },
    { name: 'metrics', type: 'string', describe: 'serve Prometheus metrics on HOST:PORT (GET /metrics)' },
  ]
}

export function configOptions(configNote: string): OptionSpec[] {
  return [
    { name: 'config', alias: 'c', type: 'string', cliOnly: true, describe: configNote },
    { name: 'print-config', type: 'boolean', cliOnly: true, describe: 'print a commented YAML config with every option and its default, and exit (-c reads it back unchanged)' },
  ]
}

export function allOptions(tool: ToolSpec): OptionSpec[] {
  return tool.groups.flatMap((g) => g.options)
}

export function findOption(tool: ToolSpec, name: string): OptionSpec {
  const o = allOptions(tool).find((s) => s.name === name)
  if (!o) throw new Error(`${tool.name}: no option ${name} in its table`)
  return o
}

/** The long option names a config file may hold (and the positionals' keys). */
export function configKeys(tool: ToolSpec): string[] {
  return [
    ...allOptions(tool).filter((o) => !o.cliOnly && !o.configKey).map((o) => o.name),
    ...tool.positionals.flatMap((p) => (p.configKey ? [p.configKey] : [])),
  ]
}

export function defaultWords(o: OptionSpec): string | undefined {
  if (o.defaultText !== undefined) return o.defaultText
  if (o.default === undefined) return undefined
  if (o.type === 'boolean') return o.default ? 'on' : 'off'
  return o.default === '' ? '""' : String(o.default)
}

/**
 * Adds the table to a yargs parser, one help group per table group. Defaults go into the
 * description only: a yargs default would look as if given, and config values could never apply.
 * Choices are checked where the option is resolved, for config values too and in one line; yargs'
 * own check is case-sensitive and several lines long.
 */
export function defineOptions<T>(parser: Argv<T>, tool: ToolSpec): Argv<T> {
  let p = parser
  for (const g of tool.groups) {
    for (const o of g.options) {
      const d = defaultWords(o)
      const negate = o.type === 'boolean' && o.default === true ? `; --no-${o.name} to turn off` : ''
      p = p.option(o.name, {
        alias: o.alias,
        type: o.type,
        describe: `${o.describe}${d !== undefined ? ` [default: ${d}${negate}]` : ''}`,
      })
    }
    p = p.group(g.options.map((o) => o.name), `${g.title}:`)
  }
  return p.group(['help', 'version'], 'Help:')
}

/** Help's usage text: synopsis, description and positionals. */
export function usageText(tool: ToolSpec): string {
  const pos = tool.positionals.map((p) => `${p.name}: ${p.describe}`).join('\n')
  return [tool.synopsis.replace(tool.name, '$0'), ...tool.description, pos].filter((s) => s !== '').join('\n\n')
}

/**
 * Option values by long name: the command line's when given there, else the config file's, else
 * the table's default. `raw` leaves the default out, for checks of whether an option was set at all.
 */
export function optionReader(tool: ToolSpec, argv: Record<string, unknown>, cfg: Record<string, unknown>): { get: (k: string) => unknown; raw: (k: string) => unknown } {
  const given = givenFlags(argv)
  const defaults = new Map(allOptions(tool).map((o) => [o.name, o.default]))
  const raw = (k: string): unknown => (given.has(k) ? argv[k] : cfg[k])
  return { raw, get: (k) => raw(k) ?? defaults.get(k) }
}

/** The flags present in argv (given on the command line), so config values only fill the rest. */
export function givenFlags(argv: Record<string, unknown>): Set<string> {
  return new Set(Object.keys(argv).filter((k) => k !== '_' && k !== '$0' && argv[k] !== undefined && !/[A-Z]/.test(k)))
}

/** --print-config: printed before anything else is required, like --help. */
export function printConfigFlag<T>(parser: Argv<T>, template: () => string): Argv<T> {
  return parser.middleware((argv) => {
    if (!argv['print-config']) return
    process.stdout.write(template())
    process.exit(0)
  }, true)
}

const YAML_PLAIN = /^[A-Za-z0-9_./:+-]+$/

export function yamlValue(v: string | number | boolean): string {
  if (typeof v !== 'string') return String(v)
  // Quoted unless it cannot be read as anything but this string.
  return YAML_PLAIN.test(v) && !/^(true|false|yes|no|null|~|[-+]?[0-9.]+(e[-+]?[0-9]+)?)$/i.test(v) ? v : JSON.stringify(v)
}

/** Comment lines of at most ~96 columns. */
export function commentLines(text: string, indent: string): string[] {
  const out: string[] = []
  let line = ''
  for (const word of text.split(/\s+/)) {
    if (line && line.length + word.length + 1 > 92 - indent.length) {
      out.push(`${indent}# ${line}`)
      line = word
    } else line = line ? `${line} ${word}` : word
  }
  if (line) out.push(`${indent}# ${line}`)
  return out
}

/**
 * The YAML lines for options of one group: a comment per option, then `key: default` when the
 * default is a plain value, or the key commented out when it is unset or computed.
 */
export function optionLines(options: OptionSpec[], indent: string, keyOf: (o: OptionSpec) => string = (o) => o.name): string[] {
  const out: string[] = []
  for (const o of options) {
    if (o.cliOnly) continue
    out.push(...commentLines(`${o.describe}${o.defaultText !== undefined ? ` (default: ${o.defaultText})` : ''}`, indent))
    if (o.default === undefined) out.push(`${indent}# ${keyOf(o)}:`)
    else out.push(`${indent}${o.commentedDefault ? '# ' : ''}${keyOf(o)}: ${yamlValue(o.default)}`)
  }
  return out
}

/** The template's opening comment, the same for every tool. */
export function templateHeader(tool: ToolSpec): string[] {
  return commentLines(`${tool.name} configuration: ${tool.summary}. Read with ${tool.name} -c FILE: ${tool.configNote} ` +
    'Every option is listed with its default; a commented-out key is unset by default (or, where it shows a value, set only for the sources that use it).', '')
}

/** The template for tools whose config keys are their long flags (send, recv, query). */
export function flatConfigTemplate(tool: ToolSpec): string {
  const out = templateHeader(tool)
  for (const p of tool.positionals) {
    if (!p.configKey) continue
    out.push('', ...commentLines(`${p.name}: ${p.describe}`, ''), `# ${p.configKey}:`)
  }
  for (const g of tool.groups) {
    const lines = optionLines(g.options, '')
    if (lines.length > 0) out.push('', `## ${g.title}`, ...lines)
  }
  return `${out.join('\n')}\n`
}

const roff = (s: string) => s.replace(/\\/g, '\\e').replace(/-/g, '\\-').replace(/^\./, '\\&.').replace(/^'/, '\\&\'')

/** A man page (man(7) macros) from the same table as --help. */
export function manPage(tool: ToolSpec, version: string, seeAlso: string[]): string {
  const out = [
    `.TH ${tool.name.toUpperCase()} 1 "" "pcap-zmq-pipe ${version}" "User Commands"`,
    '.SH NAME',
    `${roff(tool.name)} \\- ${roff(tool.summary)}`,
    '.SH SYNOPSIS',
    `.B ${roff(tool.name)}`,
    roff(tool.synopsis.slice(tool.name.length).trim()),
    '.SH DESCRIPTION',
    ...tool.description.flatMap((d) => ['.PP', ...d.split('\n').map(roff)]),
  ]
  if (tool.positionals.length > 0) {
    out.push('.SH ARGUMENTS')
    for (const p of tool.positionals) out.push('.TP', `.I ${p.name}`, roff(p.describe))
  }
  out.push('.SH OPTIONS')
  for (const g of tool.groups) {
    out.push('.SS', roff(g.title))
    for (const o of g.options) {
      const flag = `${o.alias ? `\\-${o.alias}, ` : ''}\\-\\-${roff(o.name)}${o.type === 'boolean' ? '' : ` \\fI${o.type === 'number' ? 'N' : 'VALUE'}\\fR`}`
      const d = defaultWords(o)
      out.push('.TP', `.B ${flag}`, `${roff(o.describe)}${d !== undefined ? ` (default: ${roff(d)})` : ''}`)
    }
  }
  out.push('.TP', '.B \\-h, \\-\\-help', 'show help and exit', '.TP', '.B \\-V, \\-\\-version', 'show the version and exit')
  out.push('.SH CONFIGURATION', roff(`-c FILE: ${tool.configNote} --print-config prints every key with its default.`))
  out.push('.SH EXIT STATUS', '0 success; 1 a runtime failure (nothing delivered, an output that cannot be written); 2 a usage or configuration mistake; 70 an internal error.')
  out.push('.SH SEE ALSO', ...seeAlso.map((s, i) => `.BR ${roff(s)} (1)${i < seeAlso.length - 1 ? ',' : ''}`))
  return `${out.join('\n')}\n`
}

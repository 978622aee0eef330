import { MAX_SHARDS, parseShard } from '../wire/batch-shards.js'
import { emptyConfig, loadConfig } from '../filter/config.js'
import { NAME, type TrackOptions } from '../track/main.js'
import { PROTOCOL_VALUES } from '../filter/config.js'
import { defaultTimeouts } from '../track/timeouts.js'
import { TCP_STATE_NAMES } from '../track/tcp-states.js'
import { userError } from '../util/errors.js'
import { checkEndpoint } from '../wire/endpoint.js'
import { bool, metricsAddress, num, str } from './options.js'
import { listFlags, listOptions } from './list-flags.js'
import { CURVE_GROUP_TITLE, curveOptions, resolveCurve } from './curve-options.js'
import { commentLines, configKeys, configOptions, findOption, LOGGING_GROUP_TITLE, loggingOptions, optionLines, optionReader, templateHeader, type ToolSpec } from './option-table.js'
import { toolParser } from './tool-parser.js'
import { CAPTURE_GROUP_TITLE, captureOptions, parseIfaceSource, resolveCapture } from './capture-options.js'
import { lookupUser } from '../util/privileges.js'

const STDIN = '\u0000stdin'

const CONFIG_NOTE = 'PokieStream\'s config.yaml (iface, filter: ...; optionally under a top-level config:), with a track: section for timeouts, limits and any long option of this tool (publish, stats-interval, ...); options on the command line win.'

export const TRACK_TOOL: ToolSpec = {
  name: NAME,
  summary: 'decode packets and emit conntrack-like session events as NDJSON',
  synopsis: `${NAME} [options] [SRC]`,
  description: [
    'Decode packets from a capture on stdin, an interface or a ZeroMQ stream (pcap-zmq-recv --publish, or pcap-zmq-send with --pull) and emit session events: NEW, UPDATE, CLOSE/ABORT and DESTROY for TCP as conntrack follows it, idle expiry for UDP and the rest, each with a UUIDv7 session id and a Community ID.',
    'With no SRC, -c config.yaml captures the config\'s iface, as PokieStream does.',
  ],
  positionals: [{ name: 'SRC', describe: '- (pcap/pcapng on stdin), iface:eth0[,eth1] (AF_PACKET) or a ZeroMQ endpoint (SUB connect; --pull binds a socket senders connect to)' }],
  configNote: CONFIG_NOTE,
  groups: [
    {
      title: 'Input',
      options: [
        { name: 'pull', type: 'boolean', default: false, describe: 'bind SRC for pcap-zmq-send to connect to (batches acknowledged)' },
        { name: 'shard', type: 'string', describe: 'K/N: subscribe to shard K (0 to N-1) of a stream published with pcap-zmq-recv --shards N; N trackers, one per shard, see every session whole in one of them' },
        { name: 'sensor', type: 'string', configKey: 'track.sensor', describe: 'sensor name for events from stdin or an interface (batches carry their own)' },
        { name: 'drop-bad-checksum', type: 'boolean', default: false, describe: 'verify checksums and skip packets with a bad one' },
      ],
    },
    // The config's kernel filter is PokieStream's filter.bpf (or filter.scapy), not a track: key.
    { title: CAPTURE_GROUP_TITLE, options: captureOptions(false).map((o) => (o.name === 'bpf' ? { ...o, configKey: 'filter.bpf' } : o)) },
    {
      title: 'Sessions and filters',
      options: [
        { name: 'max-sessions', type: 'number', default: 1_000_000, configKey: 'track.max_sessions', describe: 'live session bound; when full, the session closest to expiring is evicted' },
        { name: 'filter', type: 'string', cliOnly: true, describe: 'nested attribute filter as JSON, e.g. {"TCP":{"Destination_Port":80}} (in the config: filter.attributes)' },
      ],
    },
    {
      title: 'Output',
      options: [
        { name: 'packets', type: 'boolean', default: false, describe: 'print decoded packets instead of session events' },
        { name: 'publish', type: 'string', describe: 'also publish events on a PUB socket bound here (for pcap-zmq-plugin)' },
        { name: 'stdout', type: 'boolean', defaultText: 'on unless --publish', describe: 'NDJSON on stdout' },
      ],
    },
    { title: 'Privileges', options: [{ name: 'user', alias: 'u', type: 'string', describe: 'iface: drop privileges to this user once the rings are set up' }] },
    { title: CURVE_GROUP_TITLE, options: curveOptions({ binds: true, connects: true }) },
    { title: LOGGING_GROUP_TITLE, options: loggingOptions() },
    { title: 'Configuration and lists', options: [...configOptions(CONFIG_NOTE), ...listOptions()] },
  ],
}

/** --print-config: PokieStream's layout with every key at its default, and this tool's options under track:. */
export function trackConfigTemplate(): string {
  const t = defaultTimeouts()
  const tcp = TCP_STATE_NAMES.slice(1).map((n, i) => `${n.toLowerCase()}: ${t.tcp[i + 1]}`).join(', ')
  const ports = [...t.udpPorts].map(([p, s]) => `${p}: ${s}`).join(', ')
  const out = [
    ...templateHeader(TRACK_TOOL),
    'config:',
    '  # What to capture when no SRC is given, as PokieStream does (one or more names, comma-separated).',
    '  # iface: eth0',
    '  filter:',
    '    # true: a session must match every filter set below; false: any of them.',
    '    strict: false',
    `    # Protocols to report (${PROTOCOL_VALUES.join(', ')}); unset: all.`,
    '    # protocol: [tcp, udp]',
    '    # Source and destination addresses or CIDRs; unset: any.',
    '    # source: [10.0.0.0/8]',
    '    # destination: [192.0.2.0/24]',
    '    # Ports, either end; unset: any.',
    '    # port: [80, 443]',
    '    payload:',
    '      dns:',
    '        # Report DNS queries whose name matches (globs) on these ports.',
    '        enabled: false',
    '        ports: []',
    '        match: []',
    '    # Kernel or libpcap filter, tcpdump syntax (filter.scapy is the same key).',
    '    # bpf: not port 22',
    '    # Nested attribute filter, e.g. {TCP: {Destination_Port: 80}}.',
    '    # attributes:',
    '  track:',
    ...commentLines('live session bound; when full, the session closest to expiring is evicted', '    '),
    `    max_sessions: ${findOption(TRACK_TOOL, 'max-sessions').default}`,
    ...commentLines('sensor name for events from stdin or an interface (batches carry their own)', '    '),
    '    # sensor: ids-1',
    '    # Idle timeouts, seconds: TCP per conntrack state, UDP (per responder port), ICMP, other protocols.',
    '    timeouts:',
    `      tcp: {${tcp}}`,
    `      udp: ${t.udp}`,
    `      udp_ports: {${ports}}`,
    `      icmp: ${t.icmp}`,
    `      other: ${t.other}`,
  ]
  for (const g of TRACK_TOOL.groups) {
    const lines = optionLines(g.options.filter((o) => !o.configKey), '    ')
    if (lines.length > 0) out.push(`    ## ${g.title}`, ...lines)
  }
  return `${out.join('\n')}\n`
}

/** Parses pcap-zmq-track's flags into TrackOptions (config loaded and checked here). */
export async function parseTrackArgs(argv: string[]): Promise<TrackOptions> {
  // yargs reads a lone "-" as an empty string: carry it through under a placeholder.
  const a = await listFlags(toolParser(TRACK_TOOL, argv.map((x) => (x === '-' ? STDIN : x)), trackConfigTemplate))
    .command('$0 [src]', false)
    .parseAsync()
  const argvRec = a as Record<string, unknown>
  const config = typeof a.config === 'string' ? loadConfig(a.config, configKeys(TRACK_TOOL)) : emptyConfig()
  const { get: opt, raw } = optionReader(TRACK_TOOL, argvRec, config.options)
  // As PokieStream runs: `-c config.yaml` alone captures the config's iface.
  if (a.src === undefined && config.iface === null) throw userError('SRC is missing: -, iface:NAME or a ZeroMQ endpoint, or iface: in the config (--help)', 'EUSAGE')
  const src = a.src === undefined ? `iface:${config.iface}` : a.src === STDIN ? '-' : str('SRC', a.src)
  const ifaces = parseIfaceSource(src)
  if (src !== '-' && !ifaces) checkEndpoint(src, 'source')
  const pull = bool('pull', opt('pull'))
  if (pull && (src === '-' || ifaces)) throw userError(`--pull needs an endpoint to bind as SRC, not ${src}`, 'EUSAGE')
  // On an interface the config's bpf/scapy filter is the kernel's, unless --bpf is given.
  const get = (k: string): unknown => (k === 'bpf' && raw('bpf') === undefined && ifaces ? config.filter.bpf ?? undefined : raw(k))
  const capture = resolveCapture(get, ifaces)
  const userOpt = raw('user')
  const user = userOpt === undefined ? undefined : str('user', userOpt)
  if (user !== undefined && !ifaces) throw userError('--user is for iface: sources (nothing else needs root)', 'EUSAGE')
  if (user !== undefined) lookupUser(user)
  let attributes: Record<string, unknown> | null = null
  if (typeof a.filter === 'string') {
    try {
      attributes = JSON.parse(a.filter) as Record<string, unknown>
    } catch (err) {
      throw userError(`--filter is not valid JSON: ${(err as Error).message}`, 'EUSAGE')
    }
  }
  const shardOpt = raw('shard')
  let shard: { index: number; count: number } | null = null
  if (shardOpt !== undefined) {
    shard = parseShard(str('shard', shardOpt))
    if (shard === null) throw userError(`--shard expects K/N with 0 <= K < N <= ${MAX_SHARDS}, like 0/4, got ${JSON.stringify(String(shardOpt))}`, 'EUSAGE')
    if (src === '-' || ifaces || pull) throw userError('--shard subscribes to one shard of a pcap-zmq-recv --publish --shards stream: SRC must be that endpoint (and not --pull)', 'EUSAGE')
  }
  const pubOpt = raw('publish')
  const publish = pubOpt === undefined ? null : checkEndpoint(str('publish', pubOpt), '--publish')
  const stdout = raw('stdout')
  const sensor = raw('sensor')
  return {
    source: src,
    pull,
    shard,
    config,
    attributes,
    packets: bool('packets', opt('packets')),
    publish,
    stdout: stdout === undefined ? publish === null : bool('stdout', stdout),
    maxSessions: num('max-sessions', raw('max-sessions') ?? config.maxSessions ?? opt('max-sessions'), { min: 1, max: 50_000_000, int: true }),
    dropBadChecksum: bool('drop-bad-checksum', opt('drop-bad-checksum')),
    statsInterval: num('stats-interval', opt('stats-interval'), { min: 0 }),
    debug: bool('debug', opt('debug')),
    sensor: sensor === undefined ? config.sensor : str('sensor', sensor),
    curve: resolveCurve(get, NAME, { binds: pull || publish !== null, connects: src !== '-' && !ifaces && !pull }),
    capture,
    user,
    metrics: metricsAddress(raw('metrics')),
  }
}

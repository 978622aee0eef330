import { emptyConfig, loadConfig } from '../filter/config.js'
import { NAME, runTrack, type TrackOptions } from '../track/main.js'
import { userError } from '../util/errors.js'
import { checkEndpoint } from '../wire/endpoint.js'
import { bool, metricsAddress, num, str } from './options.js'
import { listFlags } from './list-flags.js'
import { curveFlags, resolveCurve } from './curve-options.js'
import { captureFlags, parseIfaceSource, resolveCapture } from './capture-options.js'
import { lookupUser } from '../util/privileges.js'
import { baseParser, runCli } from './run.js'

const STDIN = '\u0000stdin'

/** Parses pcap-zmq-track's flags into TrackOptions (config loaded and checked here). */
export async function parseTrackArgs(argv: string[]): Promise<TrackOptions> {
  // yargs reads a lone "-" as an empty string: carry it through under a placeholder.
  const a = await listFlags(captureFlags(curveFlags(baseParser(NAME, argv.map((x) => (x === '-' ? STDIN : x))), { binds: true, connects: true }), false))
    .usage('$0 SRC [options]\n\nSRC: - (pcap/pcapng on stdin), iface:eth0[,eth1] (capture with AF_PACKET) or a ZeroMQ endpoint (SUB connect; --pull binds a socket senders connect to)')
    .command('$0 [src]', 'track sessions from a packet stream', (y) => y.positional('src', { type: 'string', describe: '-, iface:NAME or ZeroMQ endpoint' }))
    .option('config', { alias: 'c', type: 'string', describe: 'config.yaml (PokieStream filter keys, track: timeouts)' })
    .option('filter', { type: 'string', describe: 'nested attribute filter as JSON, e.g. {"TCP":{"Destination_Port":80}}' })
    .option('packets', { type: 'boolean', default: false, describe: 'print decoded packets instead of session events' })
    .option('publish', { type: 'string', describe: 'also publish events on a PUB socket bound here' })
    .option('stdout', { type: 'boolean', describe: 'NDJSON on stdout (default: on unless --publish)' })
    .option('pull', { type: 'boolean', default: false, describe: 'bind SRC for pcap-zmq-send to connect to (batches acknowledged)' })
    .option('max-sessions', { type: 'number', describe: 'live session bound; the least recently seen is evicted (default 1000000)' })
    .option('drop-bad-checksum', { type: 'boolean', default: false, describe: 'verify checksums and skip packets with a bad one' })
    .option('stats-interval', { type: 'number', default: 0, describe: 'print counters to stderr every N seconds' })
    .option('metrics', { type: 'string', describe: 'serve Prometheus metrics on HOST:PORT (GET /metrics)' })
    .option('sensor', { type: 'string', describe: 'sensor name for events from stdin or an interface (batches carry their own)' })
    .option('user', { alias: 'u', type: 'string', describe: 'iface: drop privileges to this user once the rings are set up' })
    .parseAsync()
  const config = typeof a.config === 'string' ? loadConfig(a.config) : emptyConfig()
  // As PokieStream runs: `-c config.yaml` alone captures the config's iface.
  if (a.src === undefined && config.iface === null) throw userError('SRC is missing: -, iface:NAME or a ZeroMQ endpoint, or iface: in the config (--help)', 'EUSAGE')
  const src = a.src === undefined ? `iface:${config.iface}` : a.src === STDIN ? '-' : str('SRC', a.src)
  const ifaces = parseIfaceSource(src)
  if (src !== '-' && !ifaces) checkEndpoint(src, 'source')
  if (a.pull && (src === '-' || ifaces)) throw userError(`--pull needs an endpoint to bind as SRC, not ${src}`, 'EUSAGE')
  // On an interface the config's bpf/scapy filter is the kernel's, unless --bpf is given.
  const get = (k: string): unknown => (k === 'bpf' && a.bpf === undefined && ifaces ? config.filter.bpf ?? undefined : (a as Record<string, unknown>)[k])
  const capture = resolveCapture(get, ifaces)
  const user = a.user === undefined ? undefined : str('user', a.user)
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
  const publish = typeof a.publish === 'string' ? checkEndpoint(a.publish, '--publish') : null
  return {
    source: src,
    pull: bool('pull', a.pull),
    config,
    attributes,
    packets: bool('packets', a.packets),
    publish,
    stdout: a.stdout === undefined ? publish === null : bool('stdout', a.stdout),
    maxSessions: num('max-sessions', a['max-sessions'] ?? config.maxSessions ?? 1_000_000, { min: 1, max: 50_000_000, int: true }),
    dropBadChecksum: bool('drop-bad-checksum', a['drop-bad-checksum']),
    statsInterval: num('stats-interval', a['stats-interval'], { min: 0 }),
    sensor: typeof a.sensor === 'string' ? a.sensor : config.sensor,
    curve: resolveCurve(get, NAME, { binds: bool('pull', a.pull) || publish !== null, connects: src !== '-' && !ifaces && !a.pull }),
    capture,
    user,
    metrics: metricsAddress(a.metrics),
  }
}

// Unconditionally, as every tool: npm's bin symlinks and npx run it under other names.
await runCli(NAME, parseTrackArgs, runTrack, { acceptsConnections: (o) => o.pull })

import type { RecvOptions } from '../pipeline/recv.js'
import { LINKTYPE, linktypeFromName } from '../pcap/linktypes.js'
import { MAX_BUFFER_WINDOW_MIB } from '../pcap/ring.js'
import { loadFlagConfig } from '../util/config.js'
import { userError } from '../util/errors.js'
import { checkEndpoint } from '../wire/endpoint.js'
import { curveFlags, CURVE_KEYS, resolveCurve } from './curve-options.js'
import { baseParser } from './run.js'
import { bool, givenFlags, metricsAddress, MiB, num, positional, str } from './options.js'

export const NAME = 'pcap-zmq-recv'
const CONFIG_KEYS = [
  'format', 'linktype', 'mixed-linktypes', 'rotate-size', 'rotate-seconds', 'rotate-count', 'publish', 'buffer-interface',
  'buffer-window', 'zmq-buffer', 'max-pending', 'stats-interval', 'debug', ...CURVE_KEYS, 'src', 'dst', 'metrics',
] as const

export function resolveRecvOptions(argv: Record<string, unknown>, log: (m: string) => void = (m) => process.stderr.write(`${NAME}: ${m}\n`)): RecvOptions {
  const cfg = typeof argv.config === 'string' ? loadFlagConfig(argv.config, CONFIG_KEYS) : {}
  const given = givenFlags(argv)
  const get = (k: string): unknown => (given.has(k) ? argv[k] : cfg[k])
  const format = str('format', get('format') ?? 'pcap')
  if (format !== 'pcap' && format !== 'pcapng') throw userError(`--format expects pcap or pcapng, got "${format}"`, 'EUSAGE')
  const lt = get('linktype')
  let linktype: number | undefined
  if (lt !== undefined && lt !== 'auto') {
    linktype = linktypeFromName(str('linktype', lt))
    if (linktype === undefined || linktype < 0 || linktype > 0xffff) throw userError(`--linktype expects auto, raw, nflog, ethernet or a LINKTYPE number, got "${String(lt)}"`, 'EUSAGE')
  }
  const mixedLinktypes = bool('mixed-linktypes', get('mixed-linktypes') ?? false)
  if (mixedLinktypes && format !== 'pcapng') throw userError('--mixed-linktypes needs --format pcapng (a pcap file has one link type)', 'EUSAGE')
  if (mixedLinktypes && linktype !== undefined && linktype !== LINKTYPE.NFLOG) throw userError('--mixed-linktypes keeps each packet\'s link type: --linktype may only be auto or nflog with it', 'EUSAGE')
  const publish = get('publish')
  const bif = get('buffer-interface')
  const window = get('buffer-window')
  if (window !== undefined && bif === undefined) throw userError('--buffer-window needs --buffer-interface ENDPOINT to serve the buffer', 'EUSAGE')
  const output = str('DST', positional(argv.dst, cfg.dst, 'DST', 'dst'))
  if (output !== '-' && output.trim() === '') throw userError('DST must be a FIFO, a file or - for stdout', 'EUSAGE')
  return {
    endpoint: checkEndpoint(str('SRC', positional(argv.src, cfg.src, 'SRC', 'src')), 'listen endpoint'),
    output,
    format,
    linktype,
    mixedLinktypes,
    rotateBytes: num('rotate-size', get('rotate-size') ?? 0, { min: 0 }) * 1e6,
    rotateSeconds: num('rotate-seconds', get('rotate-seconds') ?? 0, { min: 0 }),
    rotateCount: num('rotate-count', get('rotate-count') ?? 0, { min: 0, int: true }),
    publish: publish === undefined ? undefined : checkEndpoint(str('publish', publish), '--publish'),
    bufferInterface: bif === undefined ? undefined : checkEndpoint(str('buffer-interface', bif), '--buffer-interface'),
    bufferWindow: num('buffer-window', window ?? 16, { min: 0.001, max: MAX_BUFFER_WINDOW_MIB }) * MiB,
    zmqBuffer: num('zmq-buffer', get('zmq-buffer') ?? 1000, { min: 1, int: true }),
    maxPending: num('max-pending', get('max-pending') ?? 64, { min: 1 }) * MiB,
    statsInterval: num('stats-interval', get('stats-interval') ?? 0, { min: 0 }),
    debug: bool('debug', get('debug') ?? false),
    curve: resolveCurve(get, NAME, { binds: true, connects: false }),
    metrics: metricsAddress(get('metrics')),
    log,
  }
}

export function parseRecvArgs(args: string[]): RecvOptions {
  const argv = curveFlags(baseParser(NAME, args), { binds: true, connects: false })
    .usage('$0 SRC DST\n\nReceive packet batches from any number of pcap-zmq-send and write one pcap or pcapng stream.\n\nSRC: ZeroMQ endpoint to bind, e.g. tcp://0.0.0.0:1234\nDST: a FIFO (reopened for each new reader), a file, or - for stdout\n\nSRC and DST may also come from the config file (src:, dst:), as a service\'s -c FILE gives them.')
    .command('$0 [src] [dst]', false)
    .option('format', { type: 'string', describe: 'pcap (default) or pcapng (one interface per sender and source); both carry one link type, as tcpdump and Snort need' })
    .option('linktype', { type: 'string', describe: 'output link type: auto (default: the first packet\'s; NFLOG captures as raw), raw, nflog (keep NFLOG metadata), ethernet, or a number; other packets are converted when nothing is lost, else skipped' })
    .option('mixed-linktypes', { type: 'boolean', describe: 'with --format pcapng: keep every packet\'s own link type (one interface per sender, source and link type); for tshark/Wireshark, as tcpdump, Snort and other libpcap readers refuse such files' })
    .option('rotate-size', { alias: 'C', type: 'number', describe: 'start a new file after this many million bytes (file1, file2, ...)' })
    .option('rotate-seconds', { alias: 'G', type: 'number', describe: 'start a new file every N seconds (strftime %Y%m%d%H%M%S in the name)' })
    .option('rotate-count', { alias: 'W', type: 'number', describe: 'with -C: keep a ring of N files' })
    .option('publish', { type: 'string', describe: 're-publish every batch on a PUB socket bound here (for pcap-zmq-track)' })
    .option('buffer-interface', { type: 'string', describe: 'REP endpoint: any request gets the buffered traffic back as a capture' })
    .option('buffer-window', { type: 'number', describe: 'MiB of the latest traffic kept for --buffer-interface (default 16)' })
    .option('zmq-buffer', { type: 'number', describe: 'ZMQ_RCVHWM: batches queued before senders see a full queue (default 1000)' })
    .option('max-pending', { type: 'number', describe: 'MiB a FIFO or stdout reader may fall behind before chunks are dropped for it (default 64)' })
    .option('stats-interval', { type: 'number', describe: 'print counters every N seconds (also on SIGUSR1)' })
    .option('debug', { type: 'boolean', describe: 'verbose operation' })
    .option('metrics', { type: 'string', describe: 'serve Prometheus metrics on HOST:PORT (GET /metrics)' })
    .option('config', { alias: 'c', type: 'string', describe: 'YAML file with the same keys as the long flags (flags win)' })
    .parseSync()
  return resolveRecvOptions(argv as Record<string, unknown>)
}

import type { RecvOptions } from '../pipeline/recv.js'
import { MAX_SHARDS } from '../wire/batch-shards.js'
import { LINKTYPE, linktypeFromName } from '../pcap/linktypes.js'
import { MAX_BUFFER_WINDOW_MIB } from '../pcap/ring.js'
import { userError } from '../util/errors.js'
import { checkEndpoint } from '../wire/endpoint.js'
import { CURVE_GROUP_TITLE, curveOptions, resolveCurve } from './curve-options.js'
import { configOptions, LOGGING_GROUP_TITLE, loggingOptions, type ToolSpec } from './option-table.js'
import { readFlatConfig, toolParser } from './tool-parser.js'
import { bool, metricsAddress, MiB, num, positional, str } from './options.js'

export const NAME = 'pcap-zmq-recv'

const CONFIG_NOTE = 'YAML whose keys are the long option names (rotate-size or rotate_size) and src, dst; options on the command line win.'

export const RECV_TOOL: ToolSpec = {
  name: NAME,
  summary: 'receive packet batches from any number of pcap-zmq-send and write one pcap or pcapng stream',
  synopsis: `${NAME} [options] SRC DST`,
  description: [
    'Receive packet batches from any number of pcap-zmq-send and write one pcap or pcapng stream to a FIFO (Snort, tcpdump and tshark read it), a file or stdout, and optionally re-publish them for pcap-zmq-track.',
    'SRC and DST may also come from the config file (src:, dst:), as a service\'s -c FILE gives them.',
  ],
  positionals: [
    { name: 'SRC', configKey: 'src', describe: 'ZeroMQ endpoint to bind, e.g. tcp://0.0.0.0:1234' },
    { name: 'DST', configKey: 'dst', describe: 'a FIFO (reopened for each new reader), a file, or - for stdout' },
  ],
  configNote: CONFIG_NOTE,
  groups: [
    {
      title: 'Output',
      options: [
        { name: 'format', type: 'string', default: 'pcap', describe: 'pcap, or pcapng (one interface per sender and source); both carry one link type, as tcpdump and Snort need' },
        { name: 'linktype', type: 'string', default: 'auto', describe: 'output link type: auto (the first packet\'s; NFLOG captures as raw), raw, nflog (keep NFLOG metadata), ethernet, or a number; other packets are converted when nothing is lost, else skipped' },
        { name: 'mixed-linktypes', type: 'boolean', default: false, describe: 'with --format pcapng: keep every packet\'s own link type (one interface per sender, source and link type); for tshark/Wireshark, as tcpdump, Snort and other libpcap readers refuse such files' },
        { name: 'rotate-size', alias: 'C', type: 'number', default: 0, describe: 'start a new file after this many million bytes (file1, file2, ...; 0 = never)' },
        { name: 'rotate-seconds', alias: 'G', type: 'number', default: 0, describe: 'start a new file every N seconds (strftime %Y%m%d%H%M%S in the name; 0 = never)' },
        { name: 'rotate-count', alias: 'W', type: 'number', default: 0, describe: 'with -C: keep a ring of N files (0 = keep all)' },
        { name: 'max-pending', type: 'number', default: 64, describe: 'MiB a FIFO or stdout reader may fall behind before chunks are dropped for it' },
      ],
    },
    {
      title: 'Receiving and re-publishing',
      options: [
        { name: 'zmq-buffer', type: 'number', default: 1000, describe: 'ZMQ_RCVHWM: batches queued before senders see a full queue' },
        { name: 'publish', type: 'string', describe: 're-publish every batch on a PUB socket bound here (for pcap-zmq-track)' },
        { name: 'shards', type: 'number', default: 1, describe: `with --publish: split the packets by a symmetric flow hash into this many shards (at most ${MAX_SHARDS}), each published under its topic K/N: for pcap-zmq-track --shard K/N` },
        { name: 'buffer-interface', type: 'string', describe: 'REP endpoint: any request gets the buffered traffic back as a capture (pcap-zmq-query)' },
        { name: 'buffer-window', type: 'number', defaultText: '16 (with --buffer-interface)', describe: 'MiB of the latest traffic kept for --buffer-interface' },
      ],
    },
    { title: CURVE_GROUP_TITLE, options: curveOptions({ binds: true, connects: false }) },
    { title: LOGGING_GROUP_TITLE, options: loggingOptions() },
    { title: 'Configuration', options: configOptions(CONFIG_NOTE) },
  ],
}

export function resolveRecvOptions(argv: Record<string, unknown>, log: (m: string) => void = (m) => process.stderr.write(`${NAME}: ${m}\n`)): RecvOptions {
  const { cfg, get, raw } = readFlatConfig(RECV_TOOL, argv)
  const format = str('format', get('format'))
  if (format !== 'pcap' && format !== 'pcapng') throw userError(`--format expects pcap or pcapng, got "${format}"`, 'EUSAGE')
  const lt = get('linktype')
  let linktype: number | undefined
  if (lt !== undefined && lt !== 'auto') {
    linktype = linktypeFromName(str('linktype', lt))
    if (linktype === undefined || linktype < 0 || linktype > 0xffff) throw userError(`--linktype expects auto, raw, nflog, ethernet or a LINKTYPE number, got "${String(lt)}"`, 'EUSAGE')
  }
  const mixedLinktypes = bool('mixed-linktypes', get('mixed-linktypes'))
  if (mixedLinktypes && format !== 'pcapng') throw userError('--mixed-linktypes needs --format pcapng (a pcap file has one link type)', 'EUSAGE')
  if (mixedLinktypes && linktype !== undefined && linktype !== LINKTYPE.NFLOG) throw userError('--mixed-linktypes keeps each packet\'s link type: --linktype may only be auto or nflog with it', 'EUSAGE')
  const publish = get('publish')
  const shards = num('shards', get('shards'), { min: 1, max: MAX_SHARDS, int: true })
  if (shards > 1 && publish === undefined) throw userError('--shards splits the published stream: it needs --publish ENDPOINT', 'EUSAGE')
  const bif = get('buffer-interface')
  const window = raw('buffer-window')
  if (window !== undefined && bif === undefined) throw userError('--buffer-window needs --buffer-interface ENDPOINT to serve the buffer', 'EUSAGE')
  const output = str('DST', positional(argv.dst, cfg.dst, 'DST', 'dst'))
  if (output !== '-' && output.trim() === '') throw userError('DST must be a FIFO, a file or - for stdout', 'EUSAGE')
  return {
    endpoint: checkEndpoint(str('SRC', positional(argv.src, cfg.src, 'SRC', 'src')), 'listen endpoint'),
    output,
    format,
    linktype,
    mixedLinktypes,
    rotateBytes: num('rotate-size', get('rotate-size'), { min: 0 }) * 1e6,
    rotateSeconds: num('rotate-seconds', get('rotate-seconds'), { min: 0 }),
    rotateCount: num('rotate-count', get('rotate-count'), { min: 0, int: true }),
    publish: publish === undefined ? undefined : checkEndpoint(str('publish', publish), '--publish'),
    shards,
    bufferInterface: bif === undefined ? undefined : checkEndpoint(str('buffer-interface', bif), '--buffer-interface'),
    bufferWindow: num('buffer-window', window ?? 16, { min: 0.001, max: MAX_BUFFER_WINDOW_MIB }) * MiB,
    zmqBuffer: num('zmq-buffer', get('zmq-buffer'), { min: 1, int: true }),
    maxPending: num('max-pending', get('max-pending'), { min: 1 }) * MiB,
    statsInterval: num('stats-interval', get('stats-interval'), { min: 0 }),
    debug: bool('debug', get('debug')),
    curve: resolveCurve(raw, NAME, { binds: true, connects: false }),
    metrics: metricsAddress(get('metrics')),
    log,
  }
}

export function parseRecvArgs(args: string[]): RecvOptions {
  const argv = toolParser(RECV_TOOL, args)
    .command('$0 [src] [dst]', false)
    .parseSync()
  return resolveRecvOptions(argv as Record<string, unknown>)
}

import type { SendOptions, SendSource } from '../pipeline/send.js'
import { lookupUser } from '../util/privileges.js'
import { userError } from '../util/errors.js'
import { checkEndpoint } from '../wire/endpoint.js'
import { defaultWindow } from '../wire/shaper.js'
import { listFlags, listOptions } from './list-flags.js'
import { CURVE_GROUP_TITLE, curveOptions, resolveCurve } from './curve-options.js'
import { MAX_BATCH_KIB } from '../wire/batch.js'
import { MAX_SEND_HWM } from '../wire/batch-sender.js'
import { CAPTURE_GROUP_TITLE, captureOptions, parseIfaceSource, resolveCapture } from './capture-options.js'
import { configOptions, LOGGING_GROUP_TITLE, loggingOptions, type ToolSpec } from './option-table.js'
import { readFlatConfig, toolParser } from './tool-parser.js'
import { bool, metricsAddress, MiB, num, positional, str } from './options.js'

export const NAME = 'pcap-zmq-send'

const CONFIG_NOTE = 'YAML whose keys are the long option names (zmq-buffer or zmq_buffer) and src, dst; options on the command line win.'

export const SEND_TOOL: ToolSpec = {
  name: NAME,
  summary: 'capture NFLOG groups or interfaces, or read a pcap stream, and push the packets over ZeroMQ',
  synopsis: `${NAME} [options] SRC DST [DST...]`,
  description: [
    'Capture NFLOG groups or interfaces (or read a pcap/pcapng stream) and push the packets to a ZeroMQ endpoint. Capture never waits on the network: what the queue cannot take is dropped and counted.',
    'With several DSTs each flow goes to one of them, picked by a symmetric hash of its addresses, protocol and ports (both directions alike, the same across restarts: docs/scale.md); each destination has its own queue and counters, so one that is down loses only its share.',
    'SRC and DST may also come from the config file (src:, dst:), as a service\'s -c FILE gives them.',
  ],
  positionals: [
    { name: 'SRC', configKey: 'src', describe: 'NFLOG groups (0,1 or nflog:0,1), iface:eth0[,eth1] (AF_PACKET), - for pcap/pcapng on stdin, or pcap:FILE (a FIFO is reopened when its writer restarts)' },
    { name: 'DST', configKey: 'dst', describe: 'ZeroMQ endpoint to connect to, e.g. tcp://ids.host:1234; several split the traffic by flow (in the config, a list)' },
  ],
  configNote: CONFIG_NOTE,
  groups: [
    {
      title: 'NFLOG capture',
      options: [
        { name: 'libnflog-nlbufsiz', type: 'number', default: 10, describe: 'netlink receive buffer, MiB' },
        { name: 'libnflog-nlbufsiz-max', type: 'number', defaultText: 'max(8 x nlbufsiz, 64)', describe: 'grow the buffer up to this on ENOBUFS, MiB' },
        { name: 'libnflog-qthresh', type: 'number', defaultText: 'nlbufsiz x 100', describe: 'kernel flush threshold, packets' },
        { name: 'libnflog-timeout', type: 'number', default: 0, describe: 'kernel flush timeout, seconds, in 0.01 steps (0: the next kernel tick)' },
      ],
    },
    { title: CAPTURE_GROUP_TITLE, options: captureOptions(true) },
    {
      title: 'Queue and delivery',
      options: [
        { name: 'zmq-buffer', type: 'number', defaultText: 'max(1000, qthresh / 10)', describe: 'ZMQ_SNDHWM: batches queued while the receiver is slow' },
        { name: 'zmq-buffer-size', type: 'number', default: 64, describe: 'MiB of batches queued and not yet acknowledged, at most' },
        { name: 'batch-size', type: 'number', default: 256, describe: 'largest batch before compression, KiB' },
        { name: 'delivery-timeout', type: 'number', default: 10, describe: 'replaying a file: give up after this many seconds with no batch taken or acknowledged, exit 1' },
        { name: 'sensor-id', type: 'string', default: '', describe: 'name of this sender in batches, stats and pcapng interfaces, shown as HOST/ID (empty: the host name alone)' },
      ],
    },
    {
      title: 'Rate control',
      options: [
        { name: 'rate-control', type: 'boolean', default: false, describe: 'compress above --lwm and drop the excess above --hwm' },
        { name: 'lwm', type: 'number', default: 1, describe: 'low watermark, MiB/s: compress batches above it (0 = off)' },
        { name: 'hwm', type: 'number', default: 5, describe: 'high watermark, MiB/s: drop the excess above it (0 = off)' },
        { name: 'wm-interval', type: 'number', defaultText: 'max(2 x hwm, 4 x lwm)', describe: 'recompute the rate every this many MiB' },
      ],
    },
    { title: 'Privileges', options: [{ name: 'user', alias: 'u', type: 'string', describe: 'drop privileges to this user once the sockets are open' }] },
    { title: CURVE_GROUP_TITLE, options: curveOptions({ binds: false, connects: true }) },
    { title: LOGGING_GROUP_TITLE, options: loggingOptions() },
    { title: 'Configuration and lists', options: [...configOptions(CONFIG_NOTE), ...listOptions()] },
  ],
}

/** SRC: "0,1", "nflog:0,1", "-" (pcap/pcapng on stdin), "pcap:FILE" or "iface:eth0[,eth1]". */
export function parseSource(src: string): SendSource {
  if (src === '-') return { kind: 'pcap', path: '-' }
  const ifaces = parseIfaceSource(src)
  if (ifaces) return { kind: 'iface', ifaces }
  if (src.startsWith('pcap:')) {
    const path = src.slice(5)
    if (!path) throw userError('pcap: source needs a path (pcap:FILE, or - for stdin)', 'EUSAGE')
    return { kind: 'pcap', path }
  }
  const list = src.startsWith('nflog:') ? src.slice(6) : src
  const groups = list.split(',').map((g) => g.trim())
  if (groups.some((g) => !/^\d+$/.test(g) || Number(g) > 65535)) {
    throw userError(`bad source "${src}": expected NFLOG groups 0-65535 like 0,1 (or nflog:0,1), - for a pcap on stdin, pcap:FILE, or iface:NAME[,NAME]`, 'EUSAGE')
  }
  return { kind: 'nflog', groups: [...new Set(groups.map(Number))] }
}

/** Shards a flow hash can split traffic into (pcap-zmq-recv --shards has the same bound). */
export const MAX_DESTINATIONS = 256

const nonEmpty = (v: unknown): unknown => (Array.isArray(v) && v.length === 0 ? undefined : v)

/** DST...: one endpoint or several (a YAML list in the config), each checked, none twice. */
function destinations(v: unknown): string[] {
  const list = Array.isArray(v) ? v : [v]
  const eps = list.map((d) => checkEndpoint(str('DST', d), 'destination'))
  if (eps.length > MAX_DESTINATIONS) throw userError(`${eps.length} destinations: at most ${MAX_DESTINATIONS}`, 'EUSAGE')
  const dup = eps.find((e, i) => eps.indexOf(e) !== i)
  if (dup !== undefined) throw userError(`destination ${dup} is given twice: each destination gets its own share of the flows`, 'EUSAGE')
  return eps
}

/** Flags (which win) over config file values over the original tool's defaults. */
export function resolveSendOptions(argv: Record<string, unknown>, log: (m: string) => void = (m) => process.stderr.write(`${NAME}: ${m}\n`)): SendOptions {
  const { cfg, get, raw } = readFlatConfig(SEND_TOOL, argv)
  const nlbufsiz = num('libnflog-nlbufsiz', get('libnflog-nlbufsiz'), { min: 0.0625, max: 2048 })
  const qthresh = num('libnflog-qthresh', get('libnflog-qthresh') ?? Math.floor(nlbufsiz * 100), { min: 1, int: true })
  const lwm = num('lwm', get('lwm'), { min: 0 })
  const hwm = num('hwm', get('hwm'), { min: 0 })
  if (hwm && lwm > hwm) throw userError(`--lwm (${lwm} MiB/s) must not exceed --hwm (${hwm} MiB/s)`, 'EUSAGE')
  const wm = get('wm-interval')
  const user = get('user')
  if (user !== undefined) lookupUser(str('user', user)) // fail before capture starts, not after
  const source = parseSource(str('SRC', positional(argv.src, cfg.src, 'SRC', 'src')))
  return {
    source,
    endpoints: destinations(positional(nonEmpty(argv.dst), cfg.dst, 'DST', 'dst')),
    nlbufsiz: nlbufsiz * MiB,
    nlbufsizMax: num('libnflog-nlbufsiz-max', get('libnflog-nlbufsiz-max') ?? Math.max(nlbufsiz * 8, 64), { min: nlbufsiz }) * MiB,
    qthresh,
    // 0 flushes at the kernel's next timer tick (1-10 ms by HZ): packets logged without a kernel
    // timestamp (OUTPUT, POSTROUTING) are stamped on receipt, so a long timeout would shift them.
    timeout: num('libnflog-timeout', get('libnflog-timeout'), { min: 0, max: 600 }),
    // A batch per wake-up, not per packet: a small qthresh must not shrink the queue to nothing;
    // the byte bound keeps a queue of large batches from growing past what a gateway can spare.
    zmqBuffer: num('zmq-buffer', get('zmq-buffer') ?? Math.min(MAX_SEND_HWM, Math.max(1000, Math.floor(qthresh / 10))), { min: 1, max: MAX_SEND_HWM, int: true }),
    zmqBufferBytes: num('zmq-buffer-size', get('zmq-buffer-size'), { min: 1 }) * MiB,
    rateControl: bool('rate-control', get('rate-control')),
    lwm: lwm * MiB,
    hwm: hwm * MiB,
    window: (wm === undefined ? defaultWindow(lwm, hwm) : num('wm-interval', wm, { min: 0.001 })) * MiB,
    user: user === undefined ? undefined : str('user', user),
    sensorId: str('sensor-id', get('sensor-id')),
    batchBytes: num('batch-size', get('batch-size'), { min: 1, max: MAX_BATCH_KIB }) * 1024,
    statsInterval: num('stats-interval', get('stats-interval'), { min: 0 }),
    deliveryTimeout: num('delivery-timeout', get('delivery-timeout'), { min: 0.1 }),
    debug: bool('debug', get('debug')),
    curve: resolveCurve(raw, NAME, { binds: false, connects: true }),
    metrics: metricsAddress(get('metrics')),
    capture: resolveCapture(raw, source.kind === 'iface' ? source.ifaces : null),
    log,
  }
}

export function parseSendArgs(args: string[]): SendOptions {
  const argv = listFlags(toolParser(SEND_TOOL, args))
    .command('$0 [src] [dst..]', false)
    .parseSync()
  return resolveSendOptions(argv as Record<string, unknown>)
}

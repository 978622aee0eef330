import { runSend, type SendOptions, type SendSource } from '../pipeline/send.js'
import { loadFlagConfig } from '../util/config.js'
import { lookupUser } from '../util/privileges.js'
import { userError } from '../util/errors.js'
import { checkEndpoint } from '../wire/endpoint.js'
import { defaultWindow } from '../wire/shaper.js'
import { listFlags } from './list-flags.js'
import { curveFlags, CURVE_KEYS, resolveCurve } from './curve-options.js'
import { MAX_BATCH_KIB } from '../wire/batch.js'
import { MAX_SEND_HWM } from '../wire/batch-sender.js'
import { CAPTURE_KEYS, captureFlags, parseIfaceSource, resolveCapture } from './capture-options.js'
import { baseParser } from './run.js'
import { bool, givenFlags, metricsAddress, MiB, num, positional, str } from './options.js'

export const NAME = 'pcap-zmq-send'
const CONFIG_KEYS = [
  'libnflog-nlbufsiz', 'libnflog-nlbufsiz-max', 'libnflog-qthresh', 'libnflog-timeout', 'zmq-buffer', 'zmq-buffer-size',
  'rate-control', 'lwm', 'hwm', 'wm-interval', 'user', 'sensor-id', 'batch-size', 'stats-interval', 'delivery-timeout', 'debug',
  ...CURVE_KEYS, ...CAPTURE_KEYS, 'src', 'dst', 'metrics',
] as const

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

/** Flags (which win) over config file values over the original tool's defaults. */
export function resolveSendOptions(argv: Record<string, unknown>, log: (m: string) => void = (m) => process.stderr.write(`${NAME}: ${m}\n`)): SendOptions {
  const cfg = typeof argv.config === 'string' ? loadFlagConfig(argv.config, CONFIG_KEYS) : {}
  const given = givenFlags(argv)
  const get = (k: string): unknown => (given.has(k) ? argv[k] : cfg[k])
  const nlbufsiz = num('libnflog-nlbufsiz', get('libnflog-nlbufsiz') ?? 10, { min: 0.0625, max: 2048 })
  const qthresh = num('libnflog-qthresh', get('libnflog-qthresh') ?? Math.floor(nlbufsiz * 100), { min: 1, int: true })
  const lwm = num('lwm', get('lwm') ?? 1, { min: 0 })
  const hwm = num('hwm', get('hwm') ?? 5, { min: 0 })
  if (hwm && lwm > hwm) throw userError(`--lwm (${lwm} MiB/s) must not exceed --hwm (${hwm} MiB/s)`, 'EUSAGE')
  const wm = get('wm-interval')
  const user = get('user')
  if (user !== undefined) lookupUser(str('user', user)) // fail before capture starts, not after
  const source = parseSource(str('SRC', positional(argv.src, cfg.src, 'SRC', 'src')))
  return {
    source,
    endpoint: checkEndpoint(str('DST', positional(argv.dst, cfg.dst, 'DST', 'dst')), 'destination'),
    nlbufsiz: nlbufsiz * MiB,
    nlbufsizMax: num('libnflog-nlbufsiz-max', get('libnflog-nlbufsiz-max') ?? Math.max(nlbufsiz * 8, 64), { min: nlbufsiz }) * MiB,
    qthresh,
    // 0 flushes at the kernel's next timer tick (1-10 ms by HZ): packets logged without a kernel
    // timestamp (OUTPUT, POSTROUTING) are stamped on receipt, so a long timeout would shift them.
    timeout: num('libnflog-timeout', get('libnflog-timeout') ?? 0, { min: 0, max: 600 }),
    // A batch per wake-up, not per packet: a small qthresh must not shrink the queue to nothing;
    // the byte bound keeps a queue of large batches from growing past what a gateway can spare.
    zmqBuffer: num('zmq-buffer', get('zmq-buffer') ?? Math.min(MAX_SEND_HWM, Math.max(1000, Math.floor(qthresh / 10))), { min: 1, max: MAX_SEND_HWM, int: true }),
    zmqBufferBytes: num('zmq-buffer-size', get('zmq-buffer-size') ?? 64, { min: 1 }) * MiB,
    rateControl: bool('rate-control', get('rate-control') ?? false),
    lwm: lwm * MiB,
    hwm: hwm * MiB,
    window: (wm === undefined ? defaultWindow(lwm, hwm) : num('wm-interval', wm, { min: 0.001 })) * MiB,
    user: user === undefined ? undefined : str('user', user),
    sensorId: str('sensor-id', get('sensor-id') ?? ''),
    batchBytes: num('batch-size', get('batch-size') ?? 256, { min: 1, max: MAX_BATCH_KIB }) * 1024,
    statsInterval: num('stats-interval', get('stats-interval') ?? 0, { min: 0 }),
    deliveryTimeout: num('delivery-timeout', get('delivery-timeout') ?? 10, { min: 0.1 }),
    debug: bool('debug', get('debug') ?? false),
    curve: resolveCurve(get, NAME, { binds: false, connects: true }),
    metrics: metricsAddress(get('metrics')),
    capture: resolveCapture(get, source.kind === 'iface' ? source.ifaces : null),
    log,
  }
}

export function parseSendArgs(args: string[]): SendOptions {
  const argv = listFlags(captureFlags(curveFlags(baseParser(NAME, args), { binds: false, connects: true }), true))
    .usage('$0 SRC DST\n\nCapture NFLOG groups or interfaces (or read a pcap/pcapng stream) and push the packets to a ZeroMQ endpoint.\n\nSRC: NFLOG groups (0,1 or nflog:0,1), iface:eth0[,eth1] (AF_PACKET), - for pcap/pcapng on stdin, or pcap:FILE (a FIFO is reopened when its writer restarts)\nDST: ZeroMQ endpoint to connect to, e.g. tcp://ids.host:1234\n\nSRC and DST may also come from the config file (src:, dst:), as a service\'s -c FILE gives them.')
    .command('$0 [src] [dst]', false)
    .option('libnflog-nlbufsiz', { type: 'number', describe: 'netlink receive buffer, MiB (default 10)' })
    .option('libnflog-nlbufsiz-max', { type: 'number', describe: 'grow the buffer up to this on ENOBUFS, MiB (default max(8 x nlbufsiz, 64))' })
    .option('libnflog-qthresh', { type: 'number', describe: 'kernel flush threshold, packets (default nlbufsiz x 100)' })
    .option('libnflog-timeout', { type: 'number', describe: 'kernel flush timeout, seconds, in 0.01 steps (default 0: the next kernel tick)' })
    .option('zmq-buffer', { type: 'number', describe: 'ZMQ_SNDHWM: batches queued while the receiver is slow (default max(1000, qthresh / 10))' })
    .option('zmq-buffer-size', { type: 'number', describe: 'MiB of batches queued and not yet acknowledged, at most (default 64)' })
    .option('rate-control', { type: 'boolean', describe: 'compress above --lwm and drop above --hwm' })
    .option('lwm', { type: 'number', describe: 'low watermark, MiB/s: compress batches above it (default 1, 0 = off)' })
    .option('hwm', { type: 'number', describe: 'high watermark, MiB/s: drop the excess above it (default 5, 0 = off)' })
    .option('wm-interval', { type: 'number', describe: 'recompute the rate every this many MiB (default max(2 x hwm, 4 x lwm))' })
    .option('user', { alias: 'u', type: 'string', describe: 'drop privileges to this user once the sockets are open' })
    .option('sensor-id', { type: 'string', describe: 'name of this sender in batches, stats and pcapng interfaces' })
    .option('batch-size', { type: 'number', describe: 'largest batch before compression, KiB (default 256)' })
    .option('stats-interval', { type: 'number', describe: 'print counters every N seconds (also on SIGUSR1)' })
    .option('delivery-timeout', { type: 'number', describe: 'replaying a file: give up after this many seconds with no batch taken or acknowledged, exit 1 (default 10)' })
    .option('debug', { type: 'boolean', describe: 'verbose operation' })
    .option('metrics', { type: 'string', describe: 'serve Prometheus metrics on HOST:PORT (GET /metrics)' })
    .option('config', { alias: 'c', type: 'string', describe: 'YAML file with the same keys as the long flags (flags win)' })
    .parseSync()
  return resolveSendOptions(argv as Record<string, unknown>)
}


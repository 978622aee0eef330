import type { Direction, IfaceCaptureSettings } from '../capture/afpacket.js'
import { parsePorts, type PcapMode } from '../filter/capture-expression.js'
import { pageSize } from '../native/packet.js'
import { userError } from '../util/errors.js'
import { MAX_CAPLEN } from '../wire/batch.js'
import { bool, num, str } from './options.js'
import type { OptionSpec } from './option-table.js'

/** The flags of an `iface:` source, the same on every tool that captures. */
export function captureOptions(own: boolean): OptionSpec[] {
  const o: OptionSpec[] = [
    { name: 'bpf', type: 'string', describe: 'iface: kernel filter, tcpdump syntax (compiled by libpcap for the interface\'s link type)' },
    { name: 'snaplen', alias: 's', type: 'number', default: MAX_CAPLEN, describe: 'iface: bytes kept of each packet' },
    { name: 'promisc', type: 'boolean', default: true, describe: 'iface: promiscuous mode while capturing (a membership, undone at exit)' },
    { name: 'fanout', type: 'number', describe: 'iface: PACKET_FANOUT group id 0-65535: processes with one id share the interface, each flow in one of them' },
    { name: 'direction', type: 'string', default: 'both', describe: 'iface: packets received (in), sent (out) or both' },
    { name: 'capture-ports', type: 'string', describe: 'iface: only TCP/UDP with one of these ports, e.g. 80,443' },
    { name: 'ignore-ports', type: 'string', describe: 'iface: leave out TCP/UDP with one of these ports, e.g. 22' },
    { name: 'pcap-mode', type: 'string', defaultText: 'both lists', describe: 'iface: allow (only --capture-ports), deny (only --ignore-ports) or all (neither)' },
    { name: 'ring-block-size', type: 'number', default: 1024, describe: 'iface: TPACKET_V3 block size, KiB, a power of two' },
    { name: 'ring-blocks', type: 'number', default: 32, describe: 'iface: blocks in the ring per interface' },
    { name: 'ring-frame-size', type: 'number', default: 2048, describe: 'iface: tpacket_req3 frame size, bytes' },
    { name: 'block-timeout', type: 'number', default: 10, describe: 'iface: a partly filled block is handed over after this many ms (0 = the kernel\'s)' },
  ]
  if (own) o.push({ name: 'capture-own-traffic', type: 'boolean', default: false, describe: 'iface: keep this tool\'s own ZeroMQ connections in the capture (left out by default)' })
  // Refused for other sources, so a template read back must not set them.
  return o.map((x) => ({ ...x, commentedDefault: true }))
}

export const CAPTURE_GROUP_TITLE = 'Interface capture (iface: sources)'

const CAPTURE_DEFAULTS = new Map(captureOptions(true).map((o) => [o.name, o.default]))
const dflt = (get: (k: string) => unknown, k: string): unknown => get(k) ?? CAPTURE_DEFAULTS.get(k)

/** `iface:eth0[,eth1]`: the interface names, or null when SRC is not an iface: source. */
export function parseIfaceSource(src: string): string[] | null {
  if (!src.startsWith('iface:')) return null
  const names = src.slice(6).split(',').map((s) => s.trim())
  // IFNAMSIZ is 16 with the NUL; the kernel refuses '/', ':' and whitespace in names.
  const bad = names.find((n) => n === '' || n.length > 15 || /[\s/:]/.test(n))
  if (bad !== undefined) throw userError(`bad source "${src}": expected iface:NAME[,NAME...] with interface names of 1-15 characters`, 'EUSAGE')
  return [...new Set(names)]
}

/**
 * Checks the capture flags (`get` gives flag or config values) for the interfaces of an iface:
 * source. Without one, any of them is a mistake: NFLOG rules and capture files are filtered and
 * cut where they are made.
 */
export function resolveCapture(get: (k: string) => unknown, ifaces: string[] | null): IfaceCaptureSettings | undefined {
  if (ifaces === null) {
    const given = captureOptions(true).find((o) => get(o.name) !== undefined)?.name
    if (given) throw userError(`--${given} is for iface: sources`, 'EUSAGE')
    return undefined
  }
  const snaplen = num('snaplen', dflt(get, 'snaplen'), { min: 1, max: MAX_CAPLEN, int: true })
  const blockKiB = num('ring-block-size', dflt(get, 'ring-block-size'), { min: 4, int: true })
  const page = pageSize()
  const blockSize = blockKiB * 1024
  if ((blockSize & (blockSize - 1)) !== 0 || blockSize % page !== 0) {
    throw userError(`--ring-block-size expects a power of two KiB and whole ${page / 1024} KiB pages, got ${blockKiB}`, 'EUSAGE')
  }
  // The kernel cuts a frame to its block (less the headers): keep a whole snap length in one.
  const least = Math.max(4, 2 ** Math.ceil(Math.log2((snaplen + 4096) / 1024)))
  if (blockKiB < least) throw userError(`--ring-block-size ${blockKiB} KiB cannot hold a ${snaplen}-byte frame (--snaplen): use ${least} or more`, 'EUSAGE')
  const direction = str('direction', dflt(get, 'direction')).toLowerCase()
  if (direction !== 'in' && direction !== 'out' && direction !== 'both') throw userError(`--direction expects in, out or both, got ${JSON.stringify(direction)}`, 'EUSAGE')
  const mode = get('pcap-mode')
  let pcapMode: PcapMode | undefined
  if (mode !== undefined) {
    const m = str('pcap-mode', mode).toLowerCase()
    if (m !== 'allow' && m !== 'deny' && m !== 'all') throw userError(`--pcap-mode expects allow, deny or all, got ${JSON.stringify(mode)}`, 'EUSAGE')
    pcapMode = m
  }
  const fanout = get('fanout')
  const bpf = get('bpf')
  return {
    ifaces,
    ring: {
      snaplen,
      promisc: bool('promisc', dflt(get, 'promisc')),
      blockSize,
      blockCount: num('ring-blocks', dflt(get, 'ring-blocks'), { min: 1, max: 65536, int: true }),
      // Alignment and the least size are the kernel's to check (TPACKET_ALIGNMENT), at ring setup.
      frameSize: num('ring-frame-size', dflt(get, 'ring-frame-size'), { min: 1, max: blockSize, int: true }),
      blockTimeoutMs: num('block-timeout', dflt(get, 'block-timeout'), { min: 0, max: 600000, int: true }),
      direction: direction as Direction,
      fanout: fanout === undefined ? undefined : num('fanout', fanout, { min: 0, max: 65535, int: true }),
    },
    filter: {
      bpf: bpf === undefined ? undefined : str('bpf', bpf),
      capturePorts: get('capture-ports') === undefined ? [] : parsePorts('capture-ports', get('capture-ports')),
      ignorePorts: get('ignore-ports') === undefined ? [] : parsePorts('ignore-ports', get('ignore-ports')),
      pcapMode,
    },
    captureOwnTraffic: bool('capture-own-traffic', dflt(get, 'capture-own-traffic')),
  }
}

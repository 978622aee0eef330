import { readdirSync } from 'node:fs'
import { errnos, strerror } from '../native/libc.js'
import {
  AF_PACKET, attachFilter, bind, close, createPollSet, ETH_P_ALL_BE, getsockopt, ifNameToIndex, ioctlPtr, mapRing,
  MSG_DONTWAIT, MSG_TRUNC, PACKET_ADD_MEMBERSHIP, PACKET_FANOUT, PACKET_FANOUT_HASH, PACKET_IGNORE_OUTGOING,
  PACKET_MR_PROMISC, PACKET_RX_RING, PACKET_STATISTICS, PACKET_VERSION, POLLERR, recv, setsockopt, setsockoptInt,
  SIOCGIFHWADDR, SO_ERROR, SOCK_DGRAM, SOCK_RAW, socket, SOL_PACKET, SOL_SOCKET, TPACKET_V3, type Mapping,
} from '../native/packet.js'
import { LINKTYPE, linktypeName } from '../pcap/linktypes.js'
import type { CaptureExpressionParts } from '../filter/capture-expression.js'
import { userError } from '../util/errors.js'
import { ARPHRD, arphrdName, interfaceLinktype, type CaptureMode } from './arphrd.js'
import { buildSocketFilter } from './socket-filter.js'
import {
  BLOCK_STATUS, createRingFrame, createWalkStats, FRAME_AS_IS, FRAME_ETHERNET, FRAME_SLL2, TP_STATUS_KERNEL,
  TP_STATUS_USER, walkBlock, type RingFrame, type WalkConfig, type WalkStats,
} from './tpacket.js'

export type Direction = 'in' | 'out' | 'both'

export interface AfPacketOptions {
  ifaces: string[]
  /** Largest captured frame, bytes (the filter's return value; the tag or SLL2 header counts in it). */
  snaplen: number
  /** PACKET_MR_PROMISC membership: the kernel drops it when the socket closes, unlike IFF_PROMISC. */
  promisc: boolean
  /** tpacket_req3: block size (bytes, a power of two, page multiple), block count, frame size. */
  blockSize: number
  blockCount: number
  frameSize: number
  /** tp_retire_blk_tov: a partly filled block is handed over after this many milliseconds. */
  blockTimeoutMs: number
  direction: Direction
  /** PACKET_FANOUT group id (flow hash), or undefined. */
  fanout?: number
  /** The kernel filter's tcpdump expression for an interface ('' keeps everything). */
  expr: (iface: { name: string; arphrd: number }) => string
}

/** What the iface: source flags resolve to, for any tool that captures (send, track). */
export interface IfaceCaptureSettings {
  ifaces: string[]
  ring: Omit<AfPacketOptions, 'ifaces' | 'expr'>
  filter: CaptureExpressionParts
  /** --capture-own-traffic: keep the tool's own ZeroMQ connection in the capture. */
  captureOwnTraffic: boolean
}

export interface CaptureInterface {
  name: string
  ifindex: number
  arphrd: number
  linktype: number
  mode: CaptureMode
}

export interface AfPacketStats extends WalkStats {
  /** PACKET_STATISTICS tp_packets, summed: passed the filter and offered to the ring (drops included). */
  kernelPackets: number
  /** tp_drops: no room in the ring (every block still ours). */
  kernelDrops: number
  /** tp_freeze_q_cnt: times the kernel froze the ring waiting for a block back. */
  kernelFreezes: number
}

export interface AfPacketCapture {
  readonly interfaces: CaptureInterface[]
  readonly stats: AfPacketStats
  /** Why run() ended on its own (an interface was deleted), or null. */
  readonly failure: Error | null
  /** Reads PACKET_STATISTICS (which the kernel resets on every read) into the running sums. */
  refreshStats(): void
  /**
   * Hands every retired block's frames to onFrame (ring view, frame, interface index) and gives
   * the block back to the kernel right after; onDrained runs after each round of blocks and on
   * idle ticks so the caller can flush. Resolves after stop(), or when an interface went away
   * (then `failure` says so, and the caller delivers what it has before reporting it).
   */
  run(onFrame: (ring: Buffer, f: RingFrame, iface: number) => void, onDrained: () => void | Promise<void>, log: (msg: string) => void): Promise<void>
  stop(): void
  close(): void
}

/** Blocks walked per round before the caller flushes and the event loop gets a turn. */
const ROUND_BLOCKS = 8
const POLL_MS = 200
const STATS_MS = 1000

interface Ring {
  iface: CaptureInterface
  fd: number
  map: Mapping | null
  /** The ring as 32-bit words, for Atomics on the block status (acquire/release ordering). */
  words: Int32Array | null
  next: number
  cfg: WalkConfig
}

/** A user error naming the interface and the failed step, worded like the kernel's errno. */
function stepError(what: string, errno: number, code: string, hint = ''): Error {
  return userError(`${what}: ${strerror(errno)}${hint}`, code)
}

function interfaceList(): string {
  try {
    return readdirSync('/sys/class/net').sort().join(', ')
  } catch {
    return ''
  }
}

/** SIOCGIFHWADDR: ifr_hwaddr.sa_family is the interface's ARPHRD type. */
function hardwareType(fd: number, name: string): number {
  const ifr = Buffer.alloc(40)
  ifr.write(name, 0, 15, 'utf8')
  const r = ioctlPtr(fd, SIOCGIFHWADDR, ifr)
  if (r < 0) throw stepError(`cannot read the hardware type of ${name} (SIOCGIFHWADDR)`, -r, 'EIFACE')
  return ifr.readUInt16LE(16)
}

/** A filter that takes nothing: a socket must never be bound without its real filter or this. */
const REJECT_ALL = (() => {
  const b = Buffer.alloc(8)
  b.writeUInt16LE(0x06, 0) // BPF_RET | BPF_K, k = 0
  return b
})()

/**
 * Opens one TPACKET_V3 socket per interface. The order keeps unfiltered packets out: the socket
 * starts with protocol 0 (hooked to nothing, so nothing is queued), gets its filter, is drained
 * as libpcap does, gets its ring and only then is bound to the interface. With a fanout group the
 * socket joins after binding (the kernel requires it), so until then it carries a filter that
 * takes nothing, and the real one replaces it once the socket only gets its share.
 */
export function openAfPacket(opts: AfPacketOptions, log: (msg: string) => void): AfPacketCapture {
  const rings: Ring[] = []
  const closeAll = () => {
    for (const r of rings) {
      r.map?.unmap()
      close(r.fd)
    }
  }
  try {
    for (const name of opts.ifaces) rings.push(openOne(name, opts, log))
  } catch (err) {
    closeAll()
    throw err
  }
  return startCapture(rings, opts, closeAll)
}

function openOne(name: string, opts: AfPacketOptions, log: (msg: string) => void): Ring {
  const ifindex = ifNameToIndex(name)
  if (ifindex === 0) {
    const list = interfaceList()
    throw userError(`no interface "${name}" here${list ? ` (interfaces: ${list})` : ''}`, 'EUSAGE')
  }
  let fd = socket(AF_PACKET, SOCK_RAW, 0)
  if (fd < 0) {
    throw stepError('cannot open a packet socket (AF_PACKET)', -fd, 'EPERM', -fd === errnos.EPERM || -fd === errnos.EACCES ? ' (capture needs root or CAP_NET_RAW)' : '')
  }
  const ring: Ring = { iface: { name, ifindex, arphrd: 0, linktype: 0, mode: 'raw' }, fd, map: null, words: null, next: 0, cfg: { mode: FRAME_AS_IS, snaplen: opts.snaplen, kernelSnaplen: opts.snaplen, skipOutgoing: false, onlyOutgoing: false } }
  try {
    const arphrd = hardwareType(fd, name)
    const { linktype, mode } = interfaceLinktype(arphrd)
    if (mode !== 'raw') {
      // Cooked capture reads from the network header (SOCK_DGRAM), as libpcap reopens it.
      close(fd)
      ring.fd = fd = -1
      fd = socket(AF_PACKET, SOCK_DGRAM, 0)
      if (fd < 0) throw stepError('cannot open a packet socket (AF_PACKET, SOCK_DGRAM)', -fd, 'EPERM')
      ring.fd = fd
    }
    if (mode === 'cooked') log(`${name}: a ${arphrdName(arphrd)} interface: captured cooked, from the network header, as ${linktypeName(linktype)} (as libpcap does)`)
    ring.iface = { name, ifindex, arphrd, linktype, mode }
    if (setsockoptInt(fd, SOL_PACKET, PACKET_VERSION, TPACKET_V3) !== 0) throw userError(`${name}: this kernel has no TPACKET_V3 receive ring (Linux 3.2 or later)`, 'ERING')

    // Loopback hands every packet to AF_PACKET twice (leaving, then arriving): keep the arrival,
    // as libpcap does; CAN loops sent frames back the same way.
    const loops = arphrd === ARPHRD.LOOPBACK || arphrd === ARPHRD.CAN
    if (loops && opts.direction === 'out') throw userError(`--direction out on ${name}: a ${arphrdName(arphrd)} interface sees each packet leave and arrive, and only arrivals are kept; use in or both`, 'EUSAGE')
    const dropOutgoing = opts.direction === 'in' || (loops && opts.direction === 'both')
    let kernelDrops = false
    if (dropOutgoing) kernelDrops = setsockoptInt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1) === 0
    const onlyOutgoing = opts.direction === 'out'
    ring.cfg = {
      mode: mode === 'cooked' ? FRAME_SLL2 : linktype === LINKTYPE.ETHERNET ? FRAME_ETHERNET : FRAME_AS_IS,
      snaplen: opts.snaplen,
      kernelSnaplen: opts.snaplen,
      skipOutgoing: dropOutgoing,
      onlyOutgoing,
    }
    const program = buildSocketFilter({ expr: opts.expr({ name, arphrd }), linktype, mode, snaplen: opts.snaplen, onlyOutgoing, dropOutgoing: dropOutgoing && !kernelDrops, iface: name })
    const first = opts.fanout === undefined ? program : REJECT_ALL
    let r = attachFilter(fd, first)
    if (r < 0) throw stepError(`cannot attach the capture filter on ${name} (SO_ATTACH_FILTER)`, -r, 'EFILTER')
    drain(fd)

    const req = Buffer.alloc(28)
    const framesPerBlock = Math.floor(opts.blockSize / opts.frameSize)
    req.writeUInt32LE(opts.blockSize >>> 0, 0)
    req.writeUInt32LE(opts.blockCount >>> 0, 4)
    req.writeUInt32LE(opts.frameSize >>> 0, 8)
    req.writeUInt32LE((framesPerBlock * opts.blockCount) >>> 0, 12)
    req.writeUInt32LE(opts.blockTimeoutMs >>> 0, 16)
    // tp_sizeof_priv 0, tp_feature_req_word 0 (no per-block private area, no rxhash requests).
    const ringWhat = `${opts.blockCount} blocks of ${opts.blockSize / 1024} KiB, ${opts.frameSize}-byte frames`
    r = setsockopt(fd, SOL_PACKET, PACKET_RX_RING, req)
    if (r < 0) throw stepError(`cannot set up the receive ring on ${name} (PACKET_RX_RING, ${ringWhat})`, -r, 'ERING', -r === errnos.ENOMEM ? ': lower --ring-blocks or --ring-block-size' : '')
    const map = mapRing(fd, opts.blockSize * opts.blockCount)
    if (typeof map === 'number') throw stepError(`cannot map the receive ring on ${name} (mmap, ${ringWhat})`, -map, 'ERING')
    ring.map = map
    ring.words = new Int32Array(map.buffer.buffer, map.buffer.byteOffset, map.buffer.length >> 2)

    const sll = Buffer.alloc(20)
    sll.writeUInt16LE(AF_PACKET, 0)
    sll.writeUInt16LE(ETH_P_ALL_BE, 2)
    sll.writeInt32LE(ifindex, 4)
    r = bind(fd, sll)
    if (r < 0) throw stepError(`cannot bind the packet socket to ${name}`, -r, 'EIFACE')
    if (opts.promisc) {
      const mreq = Buffer.alloc(16)
      mreq.writeInt32LE(ifindex, 0)
      mreq.writeUInt16LE(PACKET_MR_PROMISC, 4)
      r = setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
      if (r < 0) throw stepError(`cannot put ${name} in promiscuous mode (PACKET_ADD_MEMBERSHIP)`, -r, 'EIFACE')
    }
    if (opts.fanout !== undefined) {
      r = setsockoptInt(fd, SOL_PACKET, PACKET_FANOUT, (opts.fanout & 0xffff) | (PACKET_FANOUT_HASH << 16))
      if (r < 0) {
        throw stepError(`cannot join fanout group ${opts.fanout} on ${name} (PACKET_FANOUT)`, -r, 'EFANOUT',
          -r === errnos.EINVAL ? ' (in this network namespace the group is already used on another interface or with another mode)' : '')
      }
      r = attachFilter(fd, program)
      if (r < 0) throw stepError(`cannot attach the capture filter on ${name} (SO_ATTACH_FILTER)`, -r, 'EFILTER')
    }
    return ring
  } catch (err) {
    ring.map?.unmap()
    if (ring.fd >= 0) close(ring.fd)
    throw err
  }
}

/** Reads away whatever was queued before the filter (libpcap's guard; see openAfPacket). */
function drain(fd: number): void {
  const one = Buffer.alloc(1)
  for (let i = 0; i < 100000 && recv(fd, one, MSG_DONTWAIT | MSG_TRUNC) >= 0; i++);
}

function startCapture(rings: Ring[], opts: AfPacketOptions, closeAll: () => void): AfPacketCapture {
  const stats: AfPacketStats = { ...createWalkStats(), kernelPackets: 0, kernelDrops: 0, kernelFreezes: 0 }
  const statBuf = Buffer.alloc(12)
  const lenBuf = Buffer.alloc(4)
  const errBuf = Buffer.alloc(4)
  const frame = createRingFrame()
  let stopped = false
  let closed = false
  let lastStats = 0
  let failure: Error | null = null

  function refreshStats(): void {
    if (closed) return
    for (const r of rings) {
      if (getsockopt(r.fd, SOL_PACKET, PACKET_STATISTICS, statBuf, lenBuf) < 12) continue
      stats.kernelPackets += statBuf.readUInt32LE(0)
      stats.kernelDrops += statBuf.readUInt32LE(4)
      stats.kernelFreezes += statBuf.readUInt32LE(8)
    }
    lastStats = Date.now()
  }

  /** Walks up to `budget` retired blocks of one ring, giving each back as soon as it is walked. */
  function walkRing(r: Ring, i: number, budget: number, onFrame: (ring: Buffer, f: RingFrame, iface: number) => void): number {
    const buf = r.map!.buffer
    const words = r.words!
    let n = 0
    while (n < budget) {
      const at = r.next * opts.blockSize
      const word = (at + BLOCK_STATUS) >> 2
      // Acquire: the kernel writes a block's frames before its status word.
      if ((Atomics.load(words, word) & TP_STATUS_USER) === 0) break
      walkBlock(buf, at, opts.blockSize, r.cfg, frame, stats, (f) => onFrame(buf, f, i))
      // Release: every frame is copied out before the kernel may reuse the block.
      Atomics.store(words, word, TP_STATUS_KERNEL)
      r.next = (r.next + 1) % opts.blockCount
      n += 1
    }
    return n
  }

  return {
    interfaces: rings.map((r) => r.iface),
    stats,
    get failure() { return failure },
    refreshStats,
    stop() { stopped = true },
    close() {
      if (closed) return
      refreshStats()
      closed = true
      closeAll()
    },
    async run(onFrame, onDrained, log) {
      const poll = createPollSet(rings.map((r) => r.fd))
      while (!stopped) {
        let walked = 0
        for (let i = 0; i < rings.length; i++) walked += walkRing(rings[i]!, i, ROUND_BLOCKS, onFrame)
        if (Date.now() - lastStats > STATS_MS) refreshStats()
        if (walked > 0) {
          await onDrained()
          // A busy ring never waits in poll: let signals and timers run between rounds.
          await new Promise((r) => setImmediate(r))
          continue
        }
        const n = await poll.wait(POLL_MS)
        if (stopped) break
        if (n < 0 && -n !== errnos.EINTR) throw userError(`poll on the capture sockets failed: ${strerror(-n)}`, 'ECAPTURE')
        for (let i = 0; i < rings.length && n > 0; i++) {
          if ((poll.revents(i) & POLLERR) === 0) continue
          const r = rings[i]!
          // SO_ERROR clears the socket error, so poll does not report it again.
          const err = getsockopt(r.fd, SOL_SOCKET, SO_ERROR, errBuf, lenBuf) >= 4 ? errBuf.readInt32LE(0) : 0
          if (ifNameToIndex(r.iface.name) !== r.iface.ifindex) {
            // An unregistered device never comes back under this index: end, keeping what was taken.
            failure = userError(`interface ${r.iface.name} went away`, 'EIFACE')
            stopped = true
          }
          // The kernel reports ENETDOWN once per NETDEV_DOWN and re-hooks the socket on NETDEV_UP.
          if (err === errnos.ENETDOWN) log(`${r.iface.name} is down: capture goes on when it is up again`)
        }
        await onDrained()
      }
      // Deliver what the kernel had taken when we were stopped: the block it was filling is handed
      // over after the block timeout (the kernel's default is 8 ms), so wait that long once.
      await new Promise((r) => setTimeout(r, Math.min(opts.blockTimeoutMs || 8, 1000) + 5))
      for (let i = 0; i < rings.length; i++) walkRing(rings[i]!, i, opts.blockCount, onFrame)
      await onDrained()
    },
  }
}

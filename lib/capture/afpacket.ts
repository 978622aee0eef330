import { errnos, strerror } from '../native/libc.js'
import { close, createPollSet, getsockopt, ifNameToIndex, PACKET_STATISTICS, POLLERR, SO_ERROR, SOL_PACKET, SOL_SOCKET } from '../native/packet.js'
import type { CaptureExpressionParts } from '../filter/capture-expression.js'
import { userError } from '../util/errors.js'
import type { CaptureMode } from './arphrd.js'
import { openRing, type Ring } from './packet-socket.js'
import {
  BLOCK_STATUS, createRingFrame, createWalkStats, TP_STATUS_KERNEL, TP_STATUS_USER, walkBlock, type RingFrame, type WalkStats,
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

/** Opens one TPACKET_V3 socket and ring per interface (openRing), then the loop over all of them. */
export function openAfPacket(opts: AfPacketOptions, log: (msg: string) => void): AfPacketCapture {
  const rings: Ring[] = []
  const closeAll = () => {
    for (const r of rings) {
      r.map?.unmap()
      close(r.fd)
    }
  }
  try {
    for (const name of opts.ifaces) rings.push(openRing(name, opts, log))
  } catch (err) {
    closeAll()
    throw err
  }
  return startCapture(rings, opts, closeAll)
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

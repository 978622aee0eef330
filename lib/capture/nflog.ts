import { errnos, getsockoptInt, MSG_DONTWAIT, MSG_TRUNC, pollReadable, recv, setsockoptInt, SO_RCVBUF, SO_RCVBUFFORCE, SOL_SOCKET, strerror } from '../native/libc.js'
import { AF_INET, AF_INET6, loadNflog, nflogSetupError, NFULNL_CFG_F_SEQ, NFULNL_COPY_PACKET } from '../native/nflog.js'
import { release } from 'node:os'
import { userError } from '../util/errors.js'
import { createNflogPacket, walkNflogDatagram, type NflogPacket, type WalkStats } from './nfula.js'

export interface NflogOptions {
  groups: number[]
  /** Netlink socket receive buffer, bytes (--libnflog-nlbufsiz). */
  rcvbuf: number
  /** Ceiling for growing the receive buffer after ENOBUFS, bytes. */
  rcvbufMax: number
  /** Kernel flush threshold in packets (nflog_set_qthresh). */
  qthresh: number
  /** Kernel flush timeout in seconds (nflog_set_timeout, 1/100 s units). */
  timeout: number
  /** Bytes of each packet to copy (--nflog-range of the rule still applies). */
  copyRange: number
}

export interface NflogStats extends WalkStats {
  datagrams: number
  enobufs: number
  truncated: number
  /** Packets the kernel numbered (NFULA_SEQ) that never arrived: lost between the log and us. */
  seqGaps: number
  rcvbuf: number
}

export interface NflogCapture {
  stats: NflogStats
  /**
   * Reads until stop() is called: waits for readability on the thread pool (at most `pollMs`),
   * then drains every queued datagram synchronously, calling onPacket per packet and onDrained
   * once per drain so the caller can flush a batch. Resolves after stop().
   */
  run(onPacket: (buf: Buffer, p: NflogPacket) => void, onDrained: () => void | Promise<void>, log: (msg: string) => void): Promise<void>
  stop(): void
  close(): void
}

/** NFULA_CFG_NLBUFSIZ: nfnetlink_log refuses more than 128 KiB per batch skb. */
const KERNEL_NLBUFSIZ_MAX = 131072
/**
 * The largest datagram nfnetlink_log can send. It allocates each batch skb with
 * alloc_skb(max(nlbufsiz, one packet's message)), at most 128 KiB since the payload is capped at
 * 0xFFFF bytes by the copy range. alloc_skb adds skb_shared_info (~320 bytes) and kmalloc rounds
 * 128 KiB + 320 up to the next power of two, 256 KiB; __alloc_skb then hands the whole allocation
 * out as tailroom, and nfnetlink_log keeps appending messages until the tailroom is used. So a
 * datagram can be up to 256 KiB minus the shared info, on any page size: 256 KiB always holds it.
 */
export const NFLOG_DATAGRAM_MAX = 2 * KERNEL_NLBUFSIZ_MAX
/** Datagrams handled per drain before yielding to the event loop (sends, signals, timers). */
const DRAIN_BUDGET = 256
const COALESCE_DATAGRAMS = 8
const COALESCE_MS = 2

export function openNflog(opts: NflogOptions): NflogCapture {
  const lib = loadNflog()
  const h = lib.open()
  if (!h) throw nflogSetupError('open an NFLOG netlink socket (nflog_open)')
  const groupHandles: unknown[] = []
  const fail = (e: Error): never => {
    for (const gh of groupHandles) lib.unbindGroup(gh)
    lib.close(h)
    throw e
  }
  // Needed on kernels before 3.13, harmless after: claim the NFLOG backend for both families.
  for (const pf of [AF_INET, AF_INET6]) {
    lib.unbindPf(h, pf)
    if (lib.bindPf(h, pf) < 0) fail(nflogSetupError(`bind NFLOG to protocol family ${pf === AF_INET ? 'IPv4' : 'IPv6'}`))
  }
  for (const g of opts.groups) {
    const gh = lib.bindGroup(h, g)
    if (!gh) fail(nflogSetupError(`bind NFLOG group ${g}`))
    groupHandles.push(gh)
    if (lib.setMode(gh, NFULNL_COPY_PACKET, opts.copyRange) < 0) fail(nflogSetupError(`set copy mode on NFLOG group ${g}`))
    lib.setNlbufsiz(gh, Math.min(opts.rcvbuf, KERNEL_NLBUFSIZ_MAX))
    if (opts.qthresh > 0) lib.setQthresh(gh, opts.qthresh)
    lib.setTimeout(gh, Math.max(0, Math.round(opts.timeout * 100)))
    // NFULA_SEQ numbers every packet the group logs, so a gap is a loss seen where it happened.
    lib.setFlags(gh, NFULNL_CFG_F_SEQ)
  }
  const fd = lib.fd(h)
  const stats: NflogStats = { datagrams: 0, messages: 0, malformed: 0, errors: 0, enobufs: 0, truncated: 0, seqGaps: 0, rcvbuf: 0 }
  stats.rcvbuf = setRcvbuf(fd, opts.rcvbuf)
  const buf = Buffer.allocUnsafe(NFLOG_DATAGRAM_MAX)
  const pkt = createNflogPacket()
  let stopped = false
  let closed = false

  return {
    stats,
    stop() { stopped = true },
    close() {
      if (closed) return
      closed = true
      for (const gh of groupHandles) lib.unbindGroup(gh)
      lib.close(h)
    },
    async run(onPacket, onDrained, log) {
      // Next expected NFULA_SEQ per group (-1 until the first packet).
      const nextSeq = new Float64Array(65536).fill(-1)
      const deliver = (p: NflogPacket) => {
        if (p.seq >= 0) {
          const want = nextSeq[p.group]!
          if (want >= 0 && p.seq !== want) stats.seqGaps += (p.seq - want) >>> 0
          nextSeq[p.group] = (p.seq + 1) >>> 0
        }
        onPacket(buf, p)
      }
      // A drain that stopped at its budget left datagrams queued: the next one reads on after a
      // turn of the event loop, without the poll's round trip through the thread pool.
      let backlog = false
      while (!stopped) {
        const ready = backlog ? await new Promise<boolean>((r) => setImmediate(r, true)) : await pollReadable(fd, 200)
        if (stopped) break
        if (!ready) {
          await onDrained()
          continue
        }
        let read = 0
        backlog = true
        for (let i = 0; i < DRAIN_BUDGET && !stopped; i++) {
          const n = recv(fd, buf, MSG_DONTWAIT | MSG_TRUNC)
          if (n === -errnos.EAGAIN || n === -errnos.EINTR) {
            backlog = false
            break
          }
          if (n === -errnos.ENOBUFS) {
            // The kernel dropped packets because we fell behind; grow the buffer as ulogd2 does.
            stats.enobufs += 1
            const want = Math.min(stats.rcvbuf * 2, opts.rcvbufMax)
            if (want > stats.rcvbuf) {
              stats.rcvbuf = setRcvbuf(fd, want)
              log(`netlink receive buffer overrun (ENOBUFS): packets lost in the kernel; buffer grown to ${mib(stats.rcvbuf)} MiB (raise --libnflog-nlbufsiz to start larger)`)
            } else if (stats.enobufs === 1 || stats.enobufs % 1000 === 0) {
              log(`netlink receive buffer overrun (ENOBUFS, ${stats.enobufs} so far) at the ${mib(stats.rcvbuf)} MiB maximum: raise --libnflog-nlbufsiz-max, lower the rule's rate, or raise --libnflog-qthresh`)
            }
            continue
          }
          if (n < 0) throw userError(`NFLOG receive failed: ${strerror(-n)}`, 'ENFLOG')
          stats.datagrams += 1
          read += 1
          if (n > buf.length) {
            // Cannot happen with the bound above; if a kernel ever sends more, keep the whole
            // messages and say loudly that the rest was lost.
            stats.truncated += 1
            walkNflogDatagram(buf, buf.length, pkt, stats, deliver)
            if (stats.truncated === 1 || stats.truncated % 1000 === 0) {
              log(`NFLOG datagram of ${n} bytes cut to the ${buf.length}-byte receive buffer (${stats.truncated} so far): the packets in the cut part are lost; lower the rule's --nflog-size or --libnflog-nlbufsiz, and report this kernel (${release()})`)
            }
            continue
          }
          if (walkNflogDatagram(buf, n, pkt, stats, deliver) < n) stats.malformed += 1
        }
        // A trickle of small datagrams would cost a thread-pool poll and a batch each: let a few
        // milliseconds of them gather in the socket buffer first (bounded latency, far fewer wake-ups).
        if (read < COALESCE_DATAGRAMS && !stopped) await new Promise((r) => setTimeout(r, COALESCE_MS))
        await onDrained()
      }
    },
  }
}

function mib(bytes: number): string {
  return (bytes / 1048576).toFixed(1)
}

/** SO_RCVBUFFORCE (root) past net.core.rmem_max, else SO_RCVBUF; returns what the kernel granted. */
function setRcvbuf(fd: number, bytes: number): number {
  if (setsockoptInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, bytes) !== 0) setsockoptInt(fd, SOL_SOCKET, SO_RCVBUF, bytes)
  // The kernel reports double the requested size (bookkeeping overhead); report what we asked for.
  const got = getsockoptInt(fd, SOL_SOCKET, SO_RCVBUF)
  return got > 0 ? Math.floor(got / 2) : bytes
}

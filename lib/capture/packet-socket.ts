import { readdirSync } from 'node:fs'
import { errnos, strerror } from '../native/libc.js'
import {
  AF_PACKET, attachFilter, bind, close, ETH_P_ALL_BE, ifNameToIndex, ioctlPtr, mapRing, MSG_DONTWAIT, MSG_TRUNC,
  PACKET_ADD_MEMBERSHIP, PACKET_FANOUT, PACKET_FANOUT_HASH, PACKET_IGNORE_OUTGOING, PACKET_MR_PROMISC, PACKET_RX_RING,
  PACKET_VERSION, recv, setsockopt, setsockoptInt, SIOCGIFHWADDR, SOCK_DGRAM, SOCK_RAW, socket, SOL_PACKET, TPACKET_V3,
  type Mapping,
} from '../native/packet.js'
import { LINKTYPE, linktypeName } from '../pcap/linktypes.js'
import { userError } from '../util/errors.js'
import type { AfPacketOptions, CaptureInterface } from './afpacket.js'
import { ARPHRD, arphrdName, interfaceLinktype } from './arphrd.js'
import { buildSocketFilter } from './socket-filter.js'
import { FRAME_AS_IS, FRAME_ETHERNET, FRAME_SLL2, type WalkConfig } from './tpacket.js'

/**
 * Setting up one packet socket (packet(7)): hardware type, TPACKET_V3, the kernel filter, the
 * ring, bind, promiscuous membership, fanout, in the order that keeps unwanted packets out.
 */

/** One interface's socket and its mapped ring. */
export interface Ring {
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
 * Opens the TPACKET_V3 socket and ring for one interface. The order keeps unfiltered packets out: the socket
 * starts with protocol 0 (hooked to nothing, so nothing is queued), gets its filter, is drained
 * as libpcap does, gets its ring and only then is bound to the interface. With a fanout group the
 * socket joins after binding (the kernel requires it), so until then it carries a filter that
 * takes nothing, and the real one replaces it once the socket only gets its share.
 */
export function openRing(name: string, opts: AfPacketOptions, log: (msg: string) => void): Ring {
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

/** Reads away whatever was queued before the filter (libpcap's guard; see openRing). */
function drain(fd: number): void {
  const one = Buffer.alloc(1)
  for (let i = 0; i < 100000 && recv(fd, one, MSG_DONTWAIT | MSG_TRUNC) >= 0; i++);
}

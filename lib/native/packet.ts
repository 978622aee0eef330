import koffi from 'koffi'

/**
 * libc calls for AF_PACKET capture (packet(7)): the socket, its options, the interface lookups,
 * mmap of the receive ring and a poll over several rings on the thread pool. Kept apart from
 * libc.ts so the NFLOG path's bindings stay as they are; like it, the only place that touches
 * koffi for these calls.
 */
const libc = koffi.load('libc.so.6')

const socketFn = libc.func('int socket(int domain, int type, int protocol)')
const closeFn = libc.func('int close(int fd)')
const bindFn = libc.func('int bind(int fd, void *addr, uint32_t len)')
const setsockoptFn = libc.func('int setsockopt(int fd, int level, int optname, void *optval, uint32_t optlen)')
const getsockoptFn = libc.func('int getsockopt(int fd, int level, int optname, void *optval, void *optlen)')
const ioctlFn = libc.func('int ioctl(int fd, unsigned long request, ...)')
const ifNameToIndexFn = libc.func('unsigned int if_nametoindex(const char *name)')
const mmapFn = libc.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)')
const munmapFn = libc.func('int munmap(void *addr, size_t length)')
const pollFn = libc.func('int poll(void *fds, unsigned long nfds, int timeout)')
const recvFn = libc.func('long recv(int fd, void *buf, size_t len, int flags)')
const getpagesizeFn = libc.func('int getpagesize(void)')
/** struct sock_fprog: the kernel copies the instructions during the call, so a Buffer will do. */
const SockFprog = koffi.struct('pzp_sock_fprog', { len: 'uint16_t', filter: 'void *' })
const attachFn = libc.func('int setsockopt(int fd, int level, int optname, const pzp_sock_fprog *prog, uint32_t optlen)')

export const AF_PACKET = 17
export const SOCK_RAW = 3
export const SOCK_DGRAM = 2
export const SOCK_CLOEXEC = 0o2000000
/** ETH_P_ALL in network byte order, as bind() and socket() want it. */
export const ETH_P_ALL_BE = 0x0300

export const SOL_SOCKET = 1
export const SO_ERROR = 4
export const SO_ATTACH_FILTER = 26
export const SOL_PACKET = 263
export const PACKET_ADD_MEMBERSHIP = 1
export const PACKET_RX_RING = 5
export const PACKET_STATISTICS = 6
export const PACKET_VERSION = 10
export const PACKET_FANOUT = 18
export const PACKET_IGNORE_OUTGOING = 23
export const TPACKET_V3 = 2
export const PACKET_MR_PROMISC = 1
export const PACKET_FANOUT_HASH = 0

export const SIOCGIFHWADDR = 0x8927
export const POLLIN = 0x001
export const POLLERR = 0x008
export const POLLHUP = 0x010
export const POLLNVAL = 0x020
export const MSG_DONTWAIT = 0x40
export const MSG_TRUNC = 0x20

const PROT_READ = 1
const PROT_WRITE = 2
const MAP_SHARED = 1
const MAP_FAILED = 0xffffffffffffffffn

/** socket(2); the fd or -errno. */
export function socket(domain: number, type: number, protocol: number): number {
  const fd = socketFn(domain, type | SOCK_CLOEXEC, protocol) as number
  return fd >= 0 ? fd : -koffi.errno()
}

export function close(fd: number): void {
  closeFn(fd)
}

/** bind(2) to a struct sockaddr_ll (or any address in `addr`); 0 or -errno. */
export function bind(fd: number, addr: Buffer): number {
  return bindFn(fd, addr, addr.length) === 0 ? 0 : -koffi.errno()
}

/** setsockopt(2) with the option value as raw bytes; 0 or -errno. */
export function setsockopt(fd: number, level: number, name: number, value: Buffer): number {
  return setsockoptFn(fd, level, name, value, value.length) === 0 ? 0 : -koffi.errno()
}

export function setsockoptInt(fd: number, level: number, name: number, value: number): number {
  const b = Buffer.alloc(4)
  b.writeInt32LE(value, 0)
  return setsockopt(fd, level, name, b)
}

/** SO_ATTACH_FILTER with classic BPF `insns` (struct sock_filter, 8 bytes each); 0 or -errno. */
export function attachFilter(fd: number, insns: Buffer): number {
  return attachFn(fd, SOL_SOCKET, SO_ATTACH_FILTER, { len: insns.length / 8, filter: insns }, koffi.sizeof(SockFprog)) === 0 ? 0 : -koffi.errno()
}

/** getsockopt(2) into `out`; the length the kernel wrote, or -errno. */
export function getsockopt(fd: number, level: number, name: number, out: Buffer, lenBuf: Buffer): number {
  lenBuf.writeUInt32LE(out.length, 0)
  return getsockoptFn(fd, level, name, out, lenBuf) === 0 ? lenBuf.readUInt32LE(0) : -koffi.errno()
}

/** ioctl(2) with a pointer argument (struct ifreq and the like); 0 or -errno. */
export function ioctlPtr(fd: number, request: number, arg: Buffer): number {
  return ioctlFn(fd, request, 'void *', arg) === 0 ? 0 : -koffi.errno()
}

/** getpagesize(2): ring blocks must be whole pages. */
export function pageSize(): number {
  return getpagesizeFn() as number
}

/** if_nametoindex(3): 0 when there is no such interface in this network namespace. */
export function ifNameToIndex(name: string): number {
  return ifNameToIndexFn(name) as number
}

/** recv(2) for draining a socket; bytes (the datagram's real length with MSG_TRUNC) or -errno. */
export function recv(fd: number, buf: Buffer, flags: number): number {
  const n = Number(recvFn(fd, buf, buf.length, flags))
  return n >= 0 ? n : -koffi.errno()
}

/** A shared mapping of the packet socket's ring, readable and writable (block status words). */
export interface Mapping {
  /** The ring itself: no copy, valid until unmap(). */
  buffer: Buffer
  unmap(): void
}

/**
 * mmap(2) of `length` bytes of `fd` (PACKET_RX_RING's blocks, back to back), viewed through
 * koffi.view without a copy. The ring's pages are the kernel's and never swapped, so no
 * MAP_LOCKED. Returns -errno on failure.
 */
export function mapRing(fd: number, length: number): Mapping | number {
  const ptr = mmapFn(null, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
  if (ptr === null || koffi.address(ptr) === MAP_FAILED) return -koffi.errno()
  const buffer = Buffer.from(koffi.view(ptr, length))
  let mapped = true
  return {
    buffer,
    unmap() {
      if (!mapped) return
      mapped = false
      munmapFn(ptr, length)
    },
  }
}

/**
 * A struct pollfd array for several fds, polled on the thread pool (a blocking wait never stalls
 * the event loop). The buffer is allocated once and reused; revents are read after the wait.
 */
export interface PollSet {
  /** Waits up to `timeoutMs` for any fd; resolves with poll's return (ready count, or -errno). */
  wait(timeoutMs: number): Promise<number>
  revents(i: number): number
}

export function createPollSet(fds: number[], events = POLLIN): PollSet {
  const pfds = Buffer.alloc(8 * fds.length)
  fds.forEach((fd, i) => {
    pfds.writeInt32LE(fd, 8 * i)
    pfds.writeInt16LE(events, 8 * i + 4)
  })
  return {
    wait(timeoutMs) {
      for (let i = 0; i < fds.length; i++) pfds.writeInt16LE(0, 8 * i + 6)
      return new Promise((resolve, reject) => {
        pollFn.async(pfds, fds.length, timeoutMs, (err: unknown, n: number) => {
          if (err) reject(err)
          else resolve(n >= 0 ? n : -koffi.errno())
        })
      })
    },
    revents(i) {
      return pfds.readInt16LE(8 * i + 6)
    },
  }
}

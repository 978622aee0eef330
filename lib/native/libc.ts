import koffi from 'koffi'
import { constants, endianness } from 'node:os'

/**
 * libc calls the capture path needs (recv, poll, setsockopt/getsockopt), and getrlimit/setrlimit
 * for every tool's file limit (lib/cli/run.ts). The only libc binding
 * in the project; nothing outside lib/native imports koffi.
 */
const libc = koffi.load('libc.so.6')

const recvFn = libc.func('long recv(int fd, void *buf, size_t len, int flags)')
const pollFn = libc.func('int poll(void *fds, unsigned long nfds, int timeout)')
const setsockoptFn = libc.func('int setsockopt(int fd, int level, int optname, void *optval, uint32_t optlen)')
const getsockoptFn = libc.func('int getsockopt(int fd, int level, int optname, void *optval, void *optlen)')
const strerrorFn = libc.func('const char *strerror(int errnum)')

export const SOL_SOCKET = 1
export const SO_RCVBUF = 8
export const SO_RCVBUFFORCE = 33
export const MSG_DONTWAIT = 0x40
export const MSG_TRUNC = 0x20
export const POLLIN = 0x001

export const errnos = constants.errno

/** errno of the last failed call on this thread. */
export function lastErrno(): number {
  return koffi.errno()
}

export function strerror(errno: number): string {
  return String(strerrorFn(errno)).toLowerCase()
}

/** recv(2) into `buf`; returns bytes or -errno. With MSG_TRUNC the real datagram length is returned. */
export function recv(fd: number, buf: Buffer, flags: number): number {
  const n = Number(recvFn(fd, buf, buf.length, flags))
  return n >= 0 ? n : -koffi.errno()
}

/**
 * poll(2) for readability on the thread pool, so a blocking wait never stalls the event loop; the
 * timeout keeps shutdown prompt (a pending pool call cannot be cancelled).
 */
export function pollReadable(fd: number, timeoutMs: number): Promise<boolean> {
  const pfd = Buffer.alloc(8)
  pfd.writeInt32LE(fd, 0)
  pfd.writeInt16LE(POLLIN, 4)
  return new Promise((resolve, reject) => {
    pollFn.async(pfd, 1, timeoutMs, (err: unknown, n: number) => {
      if (err) reject(err)
      else resolve(n > 0 && (pfd.readInt16LE(6) & POLLIN) !== 0)
    })
  })
}

export function setsockoptInt(fd: number, level: number, name: number, value: number): number {
  const b = Buffer.alloc(4)
  b.writeInt32LE(value, 0)
  return setsockoptFn(fd, level, name, b, 4) === 0 ? 0 : -koffi.errno()
}

export function getsockoptInt(fd: number, level: number, name: number): number {
  const v = Buffer.alloc(4)
  const len = Buffer.alloc(4)
  len.writeUInt32LE(4, 0)
  return getsockoptFn(fd, level, name, v, len) === 0 ? v.readInt32LE(0) : -koffi.errno()
}

export const POLLOUT = 0x004
export const POLLERR = 0x008
export const POLLHUP = 0x010
const pollOne = Buffer.alloc(8)

/**
 * poll(2) on one fd without waiting: its revents now, or -errno. On a FIFO's write end POLLERR
 * means no reader has it open.
 */
export function pollEvents(fd: number, events: number): number {
  pollOne.writeInt32LE(fd, 0)
  pollOne.writeInt16LE(events, 4)
  pollOne.writeInt16LE(0, 6)
  return pollFn(pollOne, 1, 0) < 0 ? -koffi.errno() : pollOne.readInt16LE(6)
}

const mkfifoFn = libc.func('int mkfifo(const char *path, uint32_t mode)')

/** mkfifo(3), which Node does not offer; 0 or -errno. */
export function mkfifo(path: string, mode: number): number {
  return mkfifoFn(path, mode) === 0 ? 0 : -koffi.errno()
}

const getrlimitFn = libc.func('int getrlimit(int resource, void *rlim)')
const setrlimitFn = libc.func('int setrlimit(int resource, const void *rlim)')

/** RLIMIT_NOFILE (Linux asm-generic/resource.h): open file descriptors, so connections too. */
export const RLIMIT_NOFILE = 7
/** RLIM_INFINITY: rlim_t's all-ones. */
const RLIM_INFINITY = 0xffffffffffffffffn

export interface Rlimit { soft: number; hard: number }

const LE = endianness() === 'LE'
const toNumber = (v: bigint) => (v === RLIM_INFINITY ? Infinity : Number(v))
const toRlim = (n: number) => (n === Infinity ? RLIM_INFINITY : BigInt(n))

/** getrlimit(2): struct rlimit { rlim_t rlim_cur, rlim_max } (two unsigned longs); -errno on failure. */
export function getrlimit(resource: number): Rlimit | number {
  const b = Buffer.alloc(16)
  if (getrlimitFn(resource, b) !== 0) return -koffi.errno()
  const at = (o: number) => toNumber(LE ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o))
  return { soft: at(0), hard: at(8) }
}

/** setrlimit(2); 0 or -errno. */
export function setrlimit(resource: number, limit: Rlimit): number {
  const b = Buffer.alloc(16)
  for (const [o, v] of [[0, limit.soft], [8, limit.hard]] as const) {
    if (LE) b.writeBigUInt64LE(toRlim(v), o)
    else b.writeBigUInt64BE(toRlim(v), o)
  }
  return setrlimitFn(resource, b) === 0 ? 0 : -koffi.errno()
}

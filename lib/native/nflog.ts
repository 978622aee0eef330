import koffi, { type LibraryHandle } from 'koffi'
import { userError } from '../util/errors.js'
import { lastErrno, strerror, errnos } from './libc.js'

/**
 * libnetfilter_log.so.1 bindings: only the setup calls. Packets are not read through the library's
 * per-packet callback (too slow across FFI); the capture layer recv()s whole netlink datagrams from
 * nflog_fd and walks the NFULA attributes itself.
 */
export const NFULNL_COPY_PACKET = 0x02
export const NFULNL_CFG_F_SEQ = 0x0001
export const NFULNL_CFG_F_SEQ_GLOBAL = 0x0002
export const AF_INET = 2
export const AF_INET6 = 10

export interface NflogLib {
  open(): unknown
  close(h: unknown): number
  bindPf(h: unknown, pf: number): number
  unbindPf(h: unknown, pf: number): number
  bindGroup(h: unknown, group: number): unknown
  unbindGroup(gh: unknown): number
  setMode(gh: unknown, mode: number, range: number): number
  setTimeout(gh: unknown, centiseconds: number): number
  setQthresh(gh: unknown, qthresh: number): number
  setNlbufsiz(gh: unknown, bytes: number): number
  setFlags(gh: unknown, flags: number): number
  fd(h: unknown): number
}

let cached: NflogLib | undefined

/** Loads the library once; a missing library is a user error naming the package to install. */
export function loadNflog(): NflogLib {
  if (cached) return cached
  let lib: LibraryHandle
  try {
    lib = koffi.load('libnetfilter_log.so.1')
  } catch {
    throw userError('cannot load libnetfilter_log.so.1: install it (Debian: apt-get install libnetfilter-log1)', 'ENOLIB')
  }
  koffi.opaque('nflog_handle')
  koffi.opaque('nflog_g_handle')
  const f = (d: string) => lib.func(d)
  // koffi functions are plain callables: the interface only names and types them.
  cached = {
    open: f('nflog_handle *nflog_open(void)'),
    close: f('int nflog_close(nflog_handle *h)'),
    bindPf: f('int nflog_bind_pf(nflog_handle *h, uint16_t pf)'),
    unbindPf: f('int nflog_unbind_pf(nflog_handle *h, uint16_t pf)'),
    bindGroup: f('nflog_g_handle *nflog_bind_group(nflog_handle *h, uint16_t num)'),
    unbindGroup: f('int nflog_unbind_group(nflog_g_handle *gh)'),
    setMode: f('int nflog_set_mode(nflog_g_handle *gh, uint8_t mode, uint32_t range)'),
    setTimeout: f('int nflog_set_timeout(nflog_g_handle *gh, uint32_t timeout)'),
    setQthresh: f('int nflog_set_qthresh(nflog_g_handle *gh, uint32_t qthresh)'),
    setNlbufsiz: f('int nflog_set_nlbufsiz(nflog_g_handle *gh, uint32_t nlbufsiz)'),
    setFlags: f('int nflog_set_flags(nflog_g_handle *gh, uint16_t flags)'),
    fd: f('int nflog_fd(nflog_handle *h)'),
  }
  return cached
}

/** A failed setup call as one line with the likely fix. */
export function nflogSetupError(what: string): Error {
  const e = lastErrno()
  let hint = ''
  // nfnetlink_log answers EPERM both to the unprivileged and for a group another socket owns.
  if ((e === errnos.EPERM || e === errnos.EACCES) && process.getuid?.() === 0) hint = ': another process (ulogd, tcpdump -i nflog:N, another pcap-zmq-send) has bound it'
  else if (e === errnos.EPERM || e === errnos.EACCES) hint = ': run as root (or with CAP_NET_ADMIN)'
  else if (e === errnos.EBUSY) hint = ': another process (ulogd, tcpdump -i nflog:N, another pcap-zmq-send) has bound it'
  else if (e === errnos.EEXIST) hint = ': already bound by this process'
  return userError(`cannot ${what}: ${e ? strerror(e) : 'failed'}${hint}`, 'ENFLOG')
}

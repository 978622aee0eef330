import { userError } from '../util/errors.js'

/** Checks a ZeroMQ endpoint's shape before libzmq sees it, so the message can name the fix. */
export function checkEndpoint(ep: string, what: string): string {
  const m = /^(tcp|ipc|inproc|pgm|epgm|udp|ws|wss):\/\/(.+)$/.exec(ep)
  if (!m) throw userError(`${what} "${ep}" is not a ZeroMQ endpoint (expected tcp://HOST:PORT or ipc:///PATH)`, 'EUSAGE')
  if (m[1] === 'tcp' && !/:(\d+|\*)$/.test(m[2]!)) throw userError(`${what} "${ep}" has no port (expected tcp://HOST:PORT)`, 'EUSAGE')
  return ep
}

/** Turns a libzmq bind/connect failure into one line. */
export function endpointError(action: 'bind' | 'connect', ep: string, err: unknown): Error {
  const e = err as { code?: string; message?: string }
  const reason = e.code === 'EADDRINUSE' ? 'address already in use'
    : e.code === 'EADDRNOTAVAIL' ? 'address not available on this host'
    : e.code === 'EACCES' ? 'permission denied'
    : e.code === 'ENODEV' ? 'no such interface'
    : e.message ?? String(err)
  return userError(`cannot ${action} ${ep}: ${reason}`, 'EENDPOINT')
}

/**
 * Says once which of the endpoints a tool binds without CURVE are reachable from other hosts, and
 * what a peer there could do (`risk`: "inject or read packets", "read events"...).
 */
export function warnUnprotectedBinds(endpoints: Array<string | null | undefined>, risk: string, log: (msg: string) => void): void {
  const open = endpoints.filter((ep): ep is string => !!ep && !isLoopbackOnly(ep))
  if (open.length) log(`${open.join(', ')}: bound without CURVE: anyone who reaches ${open.length > 1 ? 'them' : 'it'} can ${risk} (--curve-key and --curve-allow; docs/security.md)`)
}

/** Endpoints reachable from other hosts: binding one without CURVE gets a warning. */
export function isLoopbackOnly(endpoint: string): boolean {
  const m = /^tcp:\/\/(.+):[^:]+$/.exec(endpoint)
  if (!m) return !/^(tcp|ws|wss|pgm|epgm|udp):/.test(endpoint) // ipc, inproc
  const host = m[1]!.replace(/^\[|\]$/g, '')
  return host === 'localhost' || host === '::1' || /^127\./.test(host) || host === 'lo'
}

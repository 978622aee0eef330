import { codedError, messageOf, userError } from '../../util/errors.js'
import { sanitize } from '../../util/sanitize.js'

/** An HTTP store endpoint: the base URL without credentials, which go in a header instead. */
export interface HttpEndpoint {
  base: URL
  headers: Record<string, string>
  /** For messages: scheme, host and path only, never the password. */
  shown: string
}

/**
 * Parses a sink URL (http:// or https://, optionally user:password@). fetch refuses URLs that
 * carry credentials, so they become a Basic Authorization header; explicit user/password win.
 */
export function httpEndpoint(url: string, what: string, user?: string, password?: string): HttpEndpoint {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw userError(`${what} URL ${JSON.stringify(sanitize(url, 80))} is not a URL (expected e.g. http://127.0.0.1:8086)`, 'ECONFIG')
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw userError(`${what} URL must start with http:// or https://, got ${u.protocol}`, 'ECONFIG')
  const name = user ?? decodeURIComponent(u.username)
  const pass = password ?? decodeURIComponent(u.password)
  u.username = ''
  u.password = ''
  const headers: Record<string, string> = {}
  if (name || pass) headers.authorization = `Basic ${Buffer.from(`${name}:${pass}`).toString('base64')}`
  return { base: u, headers, shown: `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}` }
}

export interface HttpAnswer {
  status: number
  body: string
}

/** What a store said, made safe for one log line and cut short: a peer's bytes never reach a log raw. */
export function answerText(body: string, max = 200): string {
  return sanitize(body.trim(), max)
}

/**
 * One POST (or GET) to `path` below the endpoint. A refused or broken connection rejects with the
 * endpoint and the system's reason (ECONNREFUSED...), so the spool's retry message says why.
 */
export async function request(ep: HttpEndpoint, what: string, path: string, params: Record<string, string>, body: string | undefined, signal: AbortSignal, contentType = 'text/plain; charset=utf-8'): Promise<HttpAnswer> {
  const url = new URL(path, ep.base.href.endsWith('/') ? ep.base : `${ep.base.href}/`)
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v)
  let res: Response
  try {
    res = await fetch(url, {
      method: body === undefined ? 'GET' : 'POST',
      headers: body === undefined ? ep.headers : { ...ep.headers, 'content-type': contentType },
      body,
      signal,
    })
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause
    const why = signal.aborted ? 'aborted' : (cause?.code ?? cause?.message ?? messageOf(err))
    throw codedError(`${what} ${ep.shown}: ${sanitize(String(why), 120)}`, 'ESINKDOWN')
  }
  return { status: res.status, body: await res.text() }
}

/** A non-2xx answer as an error naming the store, the status and what it said. */
export function statusError(what: string, ep: HttpEndpoint, a: HttpAnswer): Error {
  return codedError(`${what} ${ep.shown}: HTTP ${a.status}: ${answerText(a.body) || '(no text)'}`, 'ESINKSTATUS')
}

/** Every request a plugin has in flight, so abort() (the runner's timeout) can cut them all. */
export class InFlight {
  private readonly controllers = new Set<AbortController>()

  async run<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const c = new AbortController()
    this.controllers.add(c)
    try {
      return await fn(c.signal)
    } finally {
      this.controllers.delete(c)
    }
  }

  abortAll(): void {
    for (const c of this.controllers) c.abort()
    this.controllers.clear()
  }
}

/** One GET at start so a wrong URL is reported early (not fatal: the sink may be down). */
export async function probeHttp(ep: HttpEndpoint, what: string, path: string, warn: (m: string) => void): Promise<void> {
  try {
    const a = await request(ep, what, path, {}, undefined, AbortSignal.timeout(3000))
    if (a.status >= 200 && a.status <= 299) return
    warn(`${what} ${ep.shown} answers HTTP ${a.status} (${answerText(a.body, 120)}): events are spooled until it accepts them`)
  } catch (err) {
    warn(`${(err as Error).message}: not reachable yet, events are spooled until it is`)
  }
}

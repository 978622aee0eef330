import { createSocket } from 'node:dgram'
import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import type { OwnConnection } from '../filter/capture-expression.js'

/**
 * The TCP connections a ZeroMQ endpoint will use, so a capture on the interface they cross can
 * leave them out (otherwise each batch sent is captured, sent again, captured...). The remote
 * addresses are the endpoint host's, resolved once at start; the local address is the one the
 * kernel's routing picks for each (a connected UDP socket sends nothing and tells it), unless the
 * endpoint names its source (`tcp://SRC;HOST:PORT`). Not TCP (ipc, inproc): nothing to leave out.
 */
export async function ownConnections(endpoint: string): Promise<{ conns: OwnConnection[]; unresolved: string | null }> {
  const m = /^tcp:\/\/(?:([^;]*);)?(.+):(\d+)$/.exec(endpoint)
  if (!m) return { conns: [], unresolved: null }
  const src = m[1] === undefined ? null : stripPort(m[1])
  const host = m[2]!.replace(/^\[(.*)\]$/, '$1')
  const port = Number(m[3])
  let remotes: string[]
  if (isIP(host)) {
    remotes = [host]
  } else {
    try {
      remotes = [...new Set((await lookup(host, { all: true })).map((a) => a.address))]
    } catch {
      return { conns: [], unresolved: host }
    }
  }
  const conns: OwnConnection[] = []
  for (const remote of remotes) {
    const local = src !== null && isIP(src) ? src : await localAddressFor(remote, port)
    conns.push({ remote, port, local })
  }
  return { conns, unresolved: null }
}

/** "192.0.2.1:5555" or "[2001:db8::1]:5555" or an address alone -> the address. */
function stripPort(s: string): string {
  const v6 = /^\[(.*)\](?::\d+)?$/.exec(s)
  if (v6) return v6[1]!
  return isIP(s) ? s : s.replace(/:\d+$/, '')
}

function localAddressFor(remote: string, port: number): Promise<string | null> {
  const sock = createSocket(isIP(remote) === 6 ? 'udp6' : 'udp4')
  return new Promise((resolve) => {
    sock.on('error', () => { sock.close(); resolve(null) })
    sock.connect(port, remote, () => {
      let local: string | null = null
      try { local = sock.address().address } catch { /* no route */ }
      sock.close()
      resolve(local)
    })
  })
}

import { endpointError } from './endpoint.js'

interface Bindable { bind(ep: string): Promise<void>; close(): void; readonly closed: boolean }

/**
 * Replaces a bound socket with a fresh one on the same endpoint, dropping every connection the old
 * one had: after a key is removed from --curve-allow, peers of PUB and REP sockets (which carry no
 * per-message proof) must pass the ZAP handler again. libzmq releases the old listener in its I/O
 * thread, so the new bind is retried briefly while the address is still in use.
 */
export async function rebind<T extends Bindable>(old: T, make: () => T, endpoint: string, timeoutMs = 3000): Promise<T> {
  old.close()
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const sock = make()
    try {
      await sock.bind(endpoint)
      return sock
    } catch (err) {
      sock.close()
      if ((err as { code?: string }).code !== 'EADDRINUSE' || Date.now() > deadline) throw endpointError('bind', endpoint, err)
      await new Promise((r) => setTimeout(r, 50))
    }
  }
}

import { createHmac, createPrivateKey, createPublicKey, diffieHellman, timingSafeEqual, type KeyObject } from 'node:crypto'
import { Router, type Socket } from 'zeromq'
import { messageOf } from '../util/errors.js'
import { certificateName, readCertificateDir, type Certificate } from './zcert.js'
import { z85Encode } from './z85.js'

/**
 * CURVE (ZeroMQ RFC 26) on the tools' sockets, with a ZAP handler (RFC 27) deciding which client
 * keys a binding socket accepts.
 *
 * CURVE authenticates connections, but zeromq.js does not expose which key a message came on, so a
 * sender also proves its key in every batch: the header carries its public key and a tag,
 * HMAC-SHA256 keyed by the X25519 secret it shares with the receiver's key. Only that sender and
 * that receiver can compute it, and it only ever travels inside the encrypted connection, so an
 * allowed sender cannot pose as another. The receiver names the sender after the allowed
 * certificate, and a key removed from the allowed set (SIGHUP) is refused on the next batch, even
 * on a connection that authenticated before.
 */
export interface CurveSetup {
  /** This end's certificate, secret key included. */
  key: Certificate
  /** Connecting side: the server's public key. */
  serverKey?: Buffer
  /** Binding side: the directory of allowed client certificates. */
  allowDir?: string
}

export const ZAP_DOMAIN = 'pcap-zmq-pipe'
const ZAP_ENDPOINT = 'inproc://zeromq.zap.01'

/** The CURVE socket options zeromq.js takes in a socket's constructor. */
export interface CurveSocketOptions { curveServer?: boolean; curvePublicKey?: string; curveSecretKey?: string; curveServerKey?: string; zapDomain?: string }

/** Options for a socket this process binds: CURVE server. */
export function curveServerOptions(setup: CurveSetup | undefined): CurveSocketOptions {
  if (!setup) return {}
  return { curveServer: true, curveSecretKey: z85Encode(setup.key.secretKey!), curvePublicKey: z85Encode(setup.key.publicKey), zapDomain: ZAP_DOMAIN }
}

/** Options for a socket this process connects: CURVE client of `setup.serverKey`. */
export function curveClientOptions(setup: CurveSetup | undefined): CurveSocketOptions {
  if (!setup?.serverKey) return {}
  return { curveServerKey: z85Encode(setup.serverKey), curvePublicKey: z85Encode(setup.key.publicKey), curveSecretKey: z85Encode(setup.key.secretKey!) }
}

export interface AuthStats {
  /** Handshakes and batches refused: unknown key, bad proof, key no longer allowed. */
  auth_rejected: number
  auth_accepted: number
}

/**
 * The allowed client keys of a binding process, and the ZAP handler that applies them to every
 * CURVE handshake in this process. Re-read with reload() (SIGHUP).
 */
export interface Gatekeeper {
  stats: AuthStats
  /** The certificate of an allowed key, or undefined. */
  allowed(publicKey: Buffer): Certificate | undefined
  /** Counts a refused batch or handshake and logs it, at most once per 10 s per kind of refusal. */
  reject(kind: string, what: string): void
  /** Counts the handshakes of a CURVE server socket that fail before ZAP sees them (no CURVE, garbage). */
  watch(sock: Socket): void
  /** Re-reads --curve-allow; true when a key that was allowed is no longer. */
  reload(): boolean
  close(): void
}

const REJECT_LOG_MS = 10_000

export async function startGatekeeper(setup: CurveSetup, log: (msg: string) => void): Promise<Gatekeeper> {
  const dir = setup.allowDir!
  const stats: AuthStats = { auth_rejected: 0, auth_accepted: 0 }
  let keys = new Map<string, Certificate>()
  const load = (first: boolean) => {
    const res = readCertificateDir(dir)
    for (const s of res.skipped) log(`--curve-allow ${dir}: skipped ${s}`)
    if (first && res.keys.size === 0) log(`--curve-allow ${dir}: no certificates: every client is refused until one is added (then SIGHUP)`)
    keys = res.keys
    return res.keys.size
  }
  load(true)
  // Per kind (a handful, fixed in the code): a flood of one kind never hides the first of another.
  const lastLog = new Map<string, { at: number; unlogged: number }>()
  const reject = (kind: string, what: string) => {
    stats.auth_rejected += 1
    const now = Date.now()
    const l = lastLog.get(kind)
    if (l && now - l.at < REJECT_LOG_MS) {
      l.unlogged += 1
      return
    }
    log(`refused ${what}${l?.unlogged ? ` (and ${l.unlogged} more such since the last line)` : ''}; auth_rejected=${stats.auth_rejected}`)
    lastLog.set(kind, { at: now, unlogged: 0 })
  }

  // ZAP: a ROUTER so one slow reply never holds up other handshakes; libzmq connects to it in
  // this process's context. Replies: version, request id, status code, text, user id, metadata.
  const zap = new Router({ linger: 0 })
  await zap.bind(ZAP_ENDPOINT)
  void (async () => {
    try {
      for await (const frames of zap) {
        const [peer, empty, version, requestId, , address, , mechanism, credential] = frames
        if (!peer || !empty || !requestId) continue
        let status = '400'
        let text = 'key not allowed'
        let user = ''
        if (version?.toString() !== '1.0') {
          text = 'unsupported ZAP version'
        } else if (mechanism?.toString() !== 'CURVE' || !credential || credential.length !== 32) {
          text = 'CURVE required'
        } else {
          const cert = keys.get(credential.toString('latin1'))
          if (cert) {
            status = '200'
            text = 'OK'
            user = certificateName(cert)
            stats.auth_accepted += 1
          }
        }
        if (status !== '200') {
          const who = credential?.length === 32 ? `key ${z85Encode(credential)}` : 'a client without a CURVE key'
          reject('zap', `a connection from ${address?.toString('latin1').replace(/[^\x20-\x7e]/g, '?') || 'an unknown address'} with ${who}: ${text}`)
        }
        await zap.send([peer, empty, Buffer.from('1.0'), requestId, Buffer.from(status), Buffer.from(text), Buffer.from(user), Buffer.alloc(0)]).catch(() => {})
      }
    } catch (err) {
      if (!zap.closed) log(`ZAP handler failed: ${messageOf(err)}`)
    }
  })()

  return {
    stats,
    allowed(publicKey) { return keys.get(publicKey.toString('latin1')) },
    reject,
    watch(sock) {
      sock.events.on('handshake:error:protocol', (e) => reject('handshake', `a connection on ${e.address} that broke the CURVE handshake (${e.error.code}): a client without --curve-key, or not ZeroMQ`))
      sock.events.on('handshake:error:other', (e) => reject('handshake', `a connection on ${e.address} whose handshake failed (${e.error.message}): a client without --curve-key, or not ZeroMQ`))
    },
    reload() {
      const before = keys
      const n = load(false)
      const removed = [...before.keys()].filter((k) => !keys.has(k)).length
      log(`--curve-allow ${dir}: ${n} certificate${n === 1 ? '' : 's'} allowed${removed ? `, ${removed} removed` : ''}`)
      return removed > 0
    },
    close() { zap.close() },
  }
}

const PROOF_LABEL = Buffer.from('pcap-zmq-pipe sender key proof v1')
export const PROOF_TAG = 16
export const PROOF_LENGTH = 32 + PROOF_TAG

function x25519Private(secret: Buffer, pub: Buffer): KeyObject {
  return createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: secret.toString('base64url'), x: pub.toString('base64url') }, format: 'jwk' })
}

function x25519Public(pub: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: pub.toString('base64url') }, format: 'jwk' })
}

function proofTag(shared: Buffer, clientKey: Buffer, serverKey: Buffer): Buffer {
  return createHmac('sha256', shared).update(PROOF_LABEL).update(clientKey).update(serverKey).digest().subarray(0, PROOF_TAG)
}

/** The sender's proof for its batch headers: its public key and the tag (PROOF_LENGTH bytes). */
export function senderProof(setup: CurveSetup): Buffer {
  const key = setup.key
  const shared = diffieHellman({ privateKey: x25519Private(key.secretKey!, key.publicKey), publicKey: x25519Public(setup.serverKey!) })
  return Buffer.concat([key.publicKey, proofTag(shared, key.publicKey, setup.serverKey!)])
}

/** Checks proofs on the receiving side; the tag per client key is computed once. */
export function createProofChecker(setup: CurveSetup): (proof: Buffer) => boolean {
  const own = x25519Private(setup.key.secretKey!, setup.key.publicKey)
  const tags = new Map<string, Buffer>()
  return (proof) => {
    if (proof.length !== PROOF_LENGTH) return false
    const client = proof.subarray(0, 32)
    const id = client.toString('latin1')
    let want = tags.get(id)
    if (!want) {
      try {
        want = proofTag(diffieHellman({ privateKey: own, publicKey: x25519Public(client) }), client, setup.key.publicKey)
      } catch {
        return false
      }
      // Bounded: only allowed keys reach here (the caller checks first), and those are few.
      if (tags.size > 65536) tags.clear()
      tags.set(id, want)
    }
    return timingSafeEqual(want, proof.subarray(32))
  }
}

/**
 * For receivers of batches (recv, track --pull): the authenticated name of a batch's sender, or
 * undefined after counting and logging the refusal. `label` names the batch in the log line (the
 * header's claimed names, already made safe to print).
 */
export function createBatchAuthenticator(setup: CurveSetup, gate: Gatekeeper): (proof: Buffer | undefined, label: string) => string | undefined {
  const check = createProofChecker(setup)
  return (proof, label) => {
    if (!proof || proof.length !== PROOF_LENGTH) {
      gate.reject('no-proof', `a batch without a sender key proof (claiming to be ${label})`)
      return undefined
    }
    const cert = gate.allowed(proof.subarray(0, 32))
    if (!cert) {
      gate.reject('not-allowed', `a batch from key ${z85Encode(proof.subarray(0, 32))}, not (or no longer) in --curve-allow (claiming to be ${label})`)
      return undefined
    }
    if (!check(proof)) {
      gate.reject('bad-proof', `a batch whose key proof does not match key ${z85Encode(proof.subarray(0, 32))} (claiming to be ${label})`)
      return undefined
    }
    return certificateName(cert)
  }
}

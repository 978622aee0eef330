import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { codedError, messageOf } from '../util/errors.js'
import { z85Decode, z85Encode } from './z85.js'

/**
 * CURVE certificates in czmq's zcert format (what zcert_save and curve_keygen write, and what
 * zauth's configure_curve reads): a ZPL file (ZeroMQ RFC 4) with a `metadata` section of
 * name = "value" pairs and a `curve` section holding `public-key` and, in the secret
 * certificate only, `secret-key`, both as 40 characters of Z85. The public certificate is NAME,
 * the secret one NAME_secret.
 */
export interface Certificate {
  publicKey: Buffer
  /** Only in a secret certificate. */
  secretKey?: Buffer
  metadata: Record<string, string>
  /** Where it was read from (for messages). */
  path: string
}

const KEY_TEXT = 40

/** Parses ZPL into "section/key" -> value; throws ECERT with the line on malformed text. */
export function parseZpl(text: string, path = 'certificate'): Map<string, string> {
  const out = new Map<string, string>()
  const stack: string[] = []
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!
    if (/^\s*(#|$)/.test(raw)) continue
    const indent = /^ */.exec(raw)![0].length
    if (indent % 4 !== 0) throw certError(path, `line ${i + 1}: indentation must be a multiple of 4 spaces`)
    const level = indent / 4
    if (level > stack.length) throw certError(path, `line ${i + 1}: indented deeper than its section`)
    stack.length = level
    const m = /^([A-Za-z0-9$\-_@.&+/]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s#]*)))?\s*(?:#.*)?$/.exec(raw.slice(indent))
    if (!m) throw certError(path, `line ${i + 1}: not a ZPL name or name = value`)
    const name = m[1]!
    const value = m[2] ?? m[3] ?? m[4]
    const key = [...stack, name].join('/')
    if (value !== undefined) out.set(key, value)
    stack.push(name)
  }
  return out
}

export function parseCertificate(text: string, path: string): Certificate {
  const zpl = parseZpl(text, path)
  const key = (name: string): Buffer | undefined => {
    const v = zpl.get(`curve/${name}`)
    if (v === undefined) return undefined
    if (v.length !== KEY_TEXT) throw certError(path, `curve/${name} must be ${KEY_TEXT} characters of Z85, got ${v.length}`)
    try { return z85Decode(v) } catch (err) { throw certError(path, `curve/${name}: ${messageOf(err)}`) }
  }
  const publicKey = key('public-key')
  if (!publicKey) throw certError(path, 'no curve/public-key: not a CURVE certificate')
  const metadata: Record<string, string> = {}
  for (const [k, v] of zpl) if (k.startsWith('metadata/')) metadata[k.slice(9)] = v
  return { publicKey, secretKey: key('secret-key'), metadata, path }
}

export function readCertificate(path: string): Certificate {
  let text: string
  try { text = readFileSync(path, 'utf8') } catch (err) {
    throw certError(path, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : messageOf(err))
  }
  return parseCertificate(text, path)
}

/** The name a certificate gives its holder: metadata `name`, else the file's name. */
export function certificateName(cert: Certificate): string {
  return cert.metadata.name || cert.path.replace(/^.*\//, '').replace(/_secret$/, '')
}

export interface CertificateDir {
  /** Public key (binary, latin1) -> certificate. */
  keys: Map<string, Certificate>
  /** Files that are not certificates, with why (logged, never fatal: zauth skips them too). */
  skipped: string[]
}

/** Every certificate in `dir` (not recursive), as zauth's configure_curve loads a directory. */
export function readCertificateDir(dir: string): CertificateDir {
  let names: string[]
  try {
    if (!statSync(dir).isDirectory()) throw certError(dir, 'not a directory')
    names = readdirSync(dir).sort()
  } catch (err) {
    if ((err as { code?: string }).code === 'ECERT') throw err
    throw certError(dir, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : messageOf(err))
  }
  const keys = new Map<string, Certificate>()
  const skipped: string[] = []
  for (const name of names) {
    const path = join(dir, name)
    try {
      if (!statSync(path).isFile()) continue
      const cert = readCertificate(path)
      keys.set(cert.publicKey.toString('latin1'), cert)
    } catch (err) {
      skipped.push(`${name}: ${messageOf(err)}`)
    }
  }
  return { keys, skipped }
}

/** zcert_save's layout: NAME (public, mode 0644) and NAME_secret (mode 0600). */
export function writeCertificatePair(base: string, publicKey: Buffer, secretKey: Buffer, metadata: Record<string, string>, now = new Date()): { publicPath: string; secretPath: string } {
  const stamp = now.toISOString().replace('T', ' ').slice(0, 19)
  const meta = Object.entries(metadata).map(([k, v]) => `    ${k} = "${v.replace(/"/g, "'")}"\n`).join('')
  const body = (secret: boolean) =>
    `metadata\n${meta}curve\n    public-key = "${z85Encode(publicKey)}"\n${secret ? `    secret-key = "${z85Encode(secretKey)}"\n` : ''}`
  const publicText = `#   ****  Generated on ${stamp} by pcap-zmq-keygen  ****\n` +
    '#   ZeroMQ CURVE Public Certificate\n' +
    '#   Exchange securely, or use a secure mechanism to verify the contents\n' +
    '#   of this file after exchange.\n\n' + body(false)
  const secretText = `#   ****  Generated on ${stamp} by pcap-zmq-keygen  ****\n` +
    '#   ZeroMQ CURVE **Secret** Certificate\n' +
    '#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n\n' + body(true)
  const secretPath = `${base}_secret`
  writeFileSync(secretPath, secretText, { mode: 0o600, flag: 'wx' })
  writeFileSync(base, publicText, { mode: 0o644, flag: 'wx' })
  return { publicPath: base, secretPath }
}

function certError(path: string, msg: string): Error {
  return codedError(`${path}: ${msg}`, 'ECERT')
}

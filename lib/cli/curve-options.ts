import type { OptionSpec } from './option-table.js'
import { userError } from '../util/errors.js'
import type { CurveSetup } from '../wire/curve.js'
import { readCertificate } from '../wire/zcert.js'
import { str } from './options.js'

/** The CURVE flags, the same on every tool; each tool has those of the sockets it can open. */
export function curveOptions(role: { binds: boolean; connects: boolean }): OptionSpec[] {
  const o: OptionSpec[] = [{ name: 'curve-key', type: 'string', describe: 'CURVE: this end\'s secret certificate (czmq zcert format, from pcap-zmq-keygen or zcert_save)' }]
  if (role.connects) o.push({ name: 'curve-server', type: 'string', describe: 'CURVE: the public certificate of the server this tool connects to (needs --curve-key)' })
  if (role.binds) o.push({ name: 'curve-allow', type: 'string', describe: 'CURVE: directory of allowed client public certificates, as zauth reads it; re-read on SIGHUP (needs --curve-key)' })
  return o
}

export const CURVE_GROUP_TITLE = 'CURVE authentication and encryption'

/**
 * Checks the CURVE flags together and reads the certificates, so a wrong path or a public
 * certificate given as the secret one is one line at start. `bindsNow`/`connectsNow` say which
 * sockets this run really has (track connects or binds depending on its flags).
 */
export function resolveCurve(get: (k: string) => unknown, tool: string, use: { binds: boolean; connects: boolean }): CurveSetup | undefined {
  const keyPath = get('curve-key')
  const serverPath = get('curve-server')
  const allowDir = get('curve-allow')
  if (keyPath === undefined) {
    if (serverPath !== undefined) throw userError('--curve-server needs --curve-key (this end\'s secret certificate)', 'EUSAGE')
    if (allowDir !== undefined) throw userError('--curve-allow needs --curve-key (this end\'s secret certificate)', 'EUSAGE')
    return undefined
  }
  if (!use.binds && !use.connects) throw userError(`--curve-key: ${tool} opens no socket here`, 'EUSAGE')
  const key = load(str('curve-key', keyPath))
  if (!key.secretKey) throw userError(`--curve-key ${key.path}: a public certificate; give the secret one (NAME_secret)`, 'EUSAGE')
  const setup: CurveSetup = { key }
  if (use.connects) {
    if (serverPath === undefined) throw userError(`--curve-key on ${tool}'s connecting side needs --curve-server (the server's public certificate)`, 'EUSAGE')
    setup.serverKey = load(str('curve-server', serverPath)).publicKey
  } else if (serverPath !== undefined) {
    throw userError(`--curve-server: ${tool} connects to nothing here`, 'EUSAGE')
  }
  if (use.binds) {
    if (allowDir === undefined) throw userError(`--curve-key on ${tool}'s binding side needs --curve-allow DIR (the allowed clients' public certificates)`, 'EUSAGE')
    setup.allowDir = str('curve-allow', allowDir)
  } else if (allowDir !== undefined) {
    throw userError(`--curve-allow: ${tool} binds nothing here`, 'EUSAGE')
  }
  return setup
}

function load(path: string) {
  try {
    return readCertificate(path)
  } catch (err) {
    throw userError((err as Error).message, 'EUSAGE')
  }
}

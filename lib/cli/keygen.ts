import { existsSync } from 'node:fs'
import { curveKeyPair } from 'zeromq'
import { userError } from '../util/errors.js'
import { z85Decode } from '../wire/z85.js'
import { writeCertificatePair } from '../wire/zcert.js'
import { runCli } from './run.js'
import { NAME, parseKeygenArgs } from './keygen-options.js'

await runCli(NAME, parseKeygenArgs, async (opts) => {
  for (const p of [opts.base, `${opts.base}_secret`]) {
    if (existsSync(p)) throw userError(`${p} exists: not overwriting a certificate`, 'EUSAGE')
  }
  const pair = curveKeyPair()
  try {
    const { publicPath, secretPath } = writeCertificatePair(opts.base, z85Decode(pair.publicKey), z85Decode(pair.secretKey), { name: opts.name })
    process.stderr.write(`${NAME}: wrote ${publicPath} (public) and ${secretPath} (secret)\n`)
  } catch (err) {
    throw userError(`cannot write ${opts.base}: ${(err as Error).message}`, 'EOUTPUT')
  }
})

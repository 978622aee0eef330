import { existsSync } from 'node:fs'
import { curveKeyPair } from 'zeromq'
import { userError } from '../util/errors.js'
import { z85Decode } from '../wire/z85.js'
import { writeCertificatePair } from '../wire/zcert.js'
import { baseParser, runCli } from './run.js'
import { str } from './options.js'

const NAME = 'pcap-zmq-keygen'

interface KeygenOptions { base: string; name: string }

function parse(args: string[]): KeygenOptions {
  const argv = baseParser(NAME, args)
    .usage('$0 NAME\n\nWrite a CURVE certificate pair in czmq\'s zcert format: NAME (public: give it to the other end, or put it in\nits --curve-allow directory) and NAME_secret (this end\'s --curve-key; mode 0600).')
    .command('$0 <name>', false)
    .option('cert-name', { type: 'string', describe: 'the name in the certificate\'s metadata, which receivers report (default: the file name)' })
    .parseSync()
  const base = str('NAME', argv.name)
  if (base.trim() === '') throw userError('NAME must not be empty', 'EUSAGE')
  const name = argv['cert-name'] === undefined ? base.replace(/^.*\//, '') : str('cert-name', argv['cert-name'])
  if (/[\x00-\x1f\x7f"]/.test(name)) throw userError('--cert-name must not hold control characters or double quotes', 'EUSAGE')
  return { base, name }
}

await runCli(NAME, parse, async (opts) => {
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

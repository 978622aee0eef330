import { userError } from '../util/errors.js'
import { positional, str } from './options.js'
import { configOptions, type ToolSpec } from './option-table.js'
import { readFlatConfig, toolParser } from './tool-parser.js'

export const NAME = 'pcap-zmq-keygen'

export interface KeygenOptions { base: string; name: string }

const CONFIG_NOTE = 'YAML whose keys are the long option names and name; options on the command line win.'

export const KEYGEN_TOOL: ToolSpec = {
  name: NAME,
  summary: 'write a CURVE certificate pair in czmq\'s zcert format',
  synopsis: `${NAME} [options] NAME`,
  description: ['Write a CURVE certificate pair in czmq\'s zcert format: NAME (public: give it to the other end, or put it in its --curve-allow directory) and NAME_secret (this end\'s --curve-key; mode 0600). Existing files are never overwritten.'],
  positionals: [{ name: 'NAME', configKey: 'name', describe: 'path of the public certificate; the secret one is NAME_secret' }],
  configNote: CONFIG_NOTE,
  groups: [
    { title: 'Certificate', options: [{ name: 'cert-name', type: 'string', defaultText: 'the file name of NAME', describe: 'the name in the certificate\'s metadata, which receivers report' }] },
    { title: 'Configuration', options: configOptions(CONFIG_NOTE) },
  ],
}

export function parseKeygenArgs(args: string[]): KeygenOptions {
  const argv = toolParser(KEYGEN_TOOL, args)
    .command('$0 [name]', false)
    .parseSync() as Record<string, unknown>
  const { cfg, get } = readFlatConfig(KEYGEN_TOOL, argv)
  const base = str('NAME', positional(argv.name, cfg.name, 'NAME', 'name'))
  if (base.trim() === '') throw userError('NAME must not be empty', 'EUSAGE')
  const certName = get('cert-name')
  const name = certName === undefined ? base.replace(/^.*\//, '') : str('cert-name', certName)
  if (/[\x00-\x1f\x7f"]/.test(name)) throw userError('--cert-name must not hold control characters or double quotes', 'EUSAGE')
  return { base, name }
}


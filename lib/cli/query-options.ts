import type { CurveSetup } from '../wire/curve.js'
import { checkEndpoint } from '../wire/endpoint.js'
import { CURVE_GROUP_TITLE, curveOptions, resolveCurve } from './curve-options.js'
import { configOptions, type ToolSpec } from './option-table.js'
import { readFlatConfig, toolParser } from './tool-parser.js'
import { num, positional, str } from './options.js'

export const NAME = 'pcap-zmq-query'

export interface QueryOptions { endpoint: string; timeout: number; curve?: CurveSetup }

const CONFIG_NOTE = 'YAML whose keys are the long option names and endpoint; options on the command line win.'

export const QUERY_TOOL: ToolSpec = {
  name: NAME,
  summary: 'fetch the traffic buffered by pcap-zmq-recv --buffer-interface as a capture on stdout',
  synopsis: `${NAME} [options] ENDPOINT > dump.pcap`,
  description: ['Fetch the traffic buffered by pcap-zmq-recv --buffer-interface ENDPOINT as a capture on stdout.'],
  positionals: [{ name: 'ENDPOINT', configKey: 'endpoint', describe: 'the receiver\'s --buffer-interface endpoint, e.g. tcp://ids.host:5556' }],
  configNote: CONFIG_NOTE,
  groups: [
    { title: 'Query', options: [{ name: 'timeout', type: 'number', default: 5, describe: 'seconds to wait for the answer' }] },
    { title: CURVE_GROUP_TITLE, options: curveOptions({ binds: false, connects: true }) },
    { title: 'Configuration', options: configOptions(CONFIG_NOTE) },
  ],
}

export function parseQueryArgs(args: string[]): QueryOptions {
  const argv = toolParser(QUERY_TOOL, args)
    .command('$0 [endpoint]', false)
    .parseSync() as Record<string, unknown>
  const { cfg, get, raw } = readFlatConfig(QUERY_TOOL, argv)
  return {
    endpoint: checkEndpoint(str('ENDPOINT', positional(argv.endpoint, cfg.endpoint, 'ENDPOINT', 'endpoint')), 'buffer interface'),
    timeout: num('timeout', get('timeout'), { min: 0.1 }),
    curve: resolveCurve(raw, NAME, { binds: false, connects: true }),
  }
}


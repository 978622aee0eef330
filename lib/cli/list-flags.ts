import type { Argv } from 'yargs'
import { formatGateways, formatInterfaces, listGateways, listInterfaces } from '../capture/interface-list.js'
import type { OptionSpec } from './option-table.js'

/** --list-interfaces and --list-gateways, for the tools that capture. */
export function listOptions(): OptionSpec[] {
  return [
    { name: 'list-interfaces', type: 'boolean', cliOnly: true, describe: 'list the interfaces (index, name, link type, state, MTU, addresses) and exit' },
    { name: 'list-gateways', type: 'boolean', cliOnly: true, describe: 'list the default routes, IPv4 and IPv6, and exit' },
  ]
}

/** Like --help, the lists print and exit before any argument is required. */
export function listFlags<T>(parser: Argv<T>): Argv<T> {
  return parser.middleware((argv) => {
    if (!argv['list-interfaces'] && !argv['list-gateways']) return
    if (argv['list-interfaces']) process.stdout.write(formatInterfaces(listInterfaces()))
    if (argv['list-gateways']) process.stdout.write(formatGateways(listGateways()))
    process.exit(0)
  }, true)
}

import { runRecv } from '../pipeline/recv.js'
import { runCli } from './run.js'
import { NAME, parseRecvArgs } from './recv-options.js'

await runCli(NAME, parseRecvArgs, async (opts) => {
  await runRecv(opts)
}, { acceptsConnections: () => true })

import { runSend } from '../pipeline/send.js'
import { runCli } from './run.js'
import { NAME, parseSendArgs } from './send-options.js'

await runCli(NAME, parseSendArgs, async (opts) => {
  await runSend(opts)
})

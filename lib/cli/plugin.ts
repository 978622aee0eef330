import { main } from '../plugin/main.js'
import { runCli } from './run.js'
import { NAME, parsePluginArgs } from './plugin-options.js'

await runCli(NAME, parsePluginArgs, main)

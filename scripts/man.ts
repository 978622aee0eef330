/**
 * Writes man/pcap-zmq-*.1 from the tools' option tables (the same ones --help and --print-config
 * are made from). Run by the build; npm installs the pages with the package (package.json "man").
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { manPage, type ToolSpec } from '../lib/cli/option-table.js'
import { VERSION } from '../lib/cli/run.js'
import { SEND_TOOL } from '../lib/cli/send-options.js'
import { RECV_TOOL } from '../lib/cli/recv-options.js'
import { QUERY_TOOL } from '../lib/cli/query-options.js'
import { TRACK_TOOL } from '../lib/cli/track-options.js'
import { PLUGIN_TOOL } from '../lib/cli/plugin-options.js'
import { KEYGEN_TOOL } from '../lib/cli/keygen-options.js'

export const TOOLS: ToolSpec[] = [SEND_TOOL, RECV_TOOL, QUERY_TOOL, TRACK_TOOL, PLUGIN_TOOL, KEYGEN_TOOL]

const dir = join(fileURLToPath(new URL('../../', import.meta.url)), 'man')
mkdirSync(dir, { recursive: true })
for (const tool of TOOLS) {
  const others = TOOLS.filter((t) => t !== tool).map((t) => t.name)
  writeFileSync(join(dir, `${tool.name}.1`), manPage(tool, VERSION, others))
}

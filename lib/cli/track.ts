import { NAME, runTrack } from '../track/main.js'
import { runCli } from './run.js'
import { parseTrackArgs } from './track-options.js'

// Unconditionally, as every tool: npm's bin symlinks and npx run it under other names.
await runCli(NAME, parseTrackArgs, runTrack, { acceptsConnections: (o) => o.pull })

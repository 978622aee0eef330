import { readFileSync } from 'node:fs'
import yargs, { type Argv } from 'yargs'
import { getrlimit, RLIMIT_NOFILE, setrlimit, type Rlimit } from '../native/libc.js'
import { isUserError, messageOf, userError } from '../util/errors.js'

/** Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration mistake, 70 internal bug. */
export const EXIT_OK = 0
export const EXIT_RUNTIME = 1
export const EXIT_USAGE = 2
export const EXIT_BUG = 70

/**
 * yargs-parser turns a lone "-" (stdin/stdout) into `true`; it travels as this token instead and
 * `fromArgv` gives it back.
 */
export const DASH = '\u0000-'

export function fromArgv(v: unknown): unknown {
  return v === DASH ? '-' : v
}

/** The package's version, from the package.json next to dist/ (the clone and an npm install alike). */
export const VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
})()

/**
 * A yargs parser with the habits every tool shares: strict flags, usage errors thrown (not
 * printed) so the runner reports them as one line, help and version on.
 */
export function baseParser(name: string, argv: string[]): Argv {
  return yargs(argv.map((a) => (a === '-' ? DASH : a)))
    .scriptName(name)
    .strict()
    .help()
    .alias('h', 'help')
    .version(VERSION)
    .alias('V', 'version')
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((msg, err) => {
      throw err ?? userError(msg)
    })
}

/** Below this many open files a tool that takes connections says so at start. */
export const LOW_FILE_LIMIT = 4096
/** Descriptors a tool uses besides connections: stdio, libzmq's, the event loop's, output files. */
const OWN_FILES = 64

/**
 * RLIMIT_NOFILE soft limit raised to the hard limit. Each connection costs a descriptor, and the
 * common soft limit of 1024 let 997 idle connections fill the table, after which a real sender
 * could not connect and lost every packet; the hard limit (often 524288, as systemd sets it) is
 * what an unprivileged process may take. Returns the limit now in force (undefined if unknown).
 */
export function raiseFileLimit(): Rlimit | undefined {
  const cur = getrlimit(RLIMIT_NOFILE)
  if (typeof cur === 'number') return undefined
  if (cur.soft >= cur.hard) return cur
  return setrlimit(RLIMIT_NOFILE, { soft: cur.hard, hard: cur.hard }) === 0 ? { soft: cur.hard, hard: cur.hard } : cur
}

/** The start-up line for a tool that accepts connections under a low file limit, or undefined. */
export function fileLimitWarning(limit: Rlimit | undefined): string | undefined {
  if (!limit || limit.soft >= LOW_FILE_LIMIT) return undefined
  return `open files limited to ${limit.soft} (hard limit ${limit.hard}): about ${Math.max(0, limit.soft - OWN_FILES)} peers can be connected at once, ` +
    'and a flood of idle connections can keep real senders out; raise the hard limit (ulimit -Hn, LimitNOFILE= in a systemd unit)'
}

export interface CliOptions<T> {
  /** The tool binds sockets peers connect to (recv, track --pull): a low file limit is worth a line. */
  acceptsConnections?: (opts: T) => boolean
}

/**
 * The only place that turns errors into output and exit codes. A user mistake is one stderr line
 * (`pcap-zmq-recv: cannot bind ...`); anything else is a bug and prints its stack. Every tool
 * first raises its file limit (raiseFileLimit).
 */
export async function runCli<T>(
  name: string,
  parse: (argv: string[]) => Promise<T> | T,
  main: (opts: T) => Promise<number | void>,
  cli: CliOptions<T> = {},
): Promise<void> {
  let code: number
  const limit = raiseFileLimit()
  try {
    const opts = await parse(process.argv.slice(2))
    const warning = cli.acceptsConnections?.(opts) ? fileLimitWarning(limit) : undefined
    if (warning) process.stderr.write(`${name}: ${warning}\n`)
    code = (await main(opts)) ?? EXIT_OK
  } catch (err) {
    if (isUserError(err)) {
      process.stderr.write(`${name}: ${messageOf(err)}\n`)
      code = err.code === 'EUSAGE' || err.code === 'ECONFIG' ? EXIT_USAGE : EXIT_RUNTIME
    } else {
      process.stderr.write(`${name}: internal error: ${err instanceof Error ? err.stack : String(err)}\n`)
      code = EXIT_BUG
    }
  }
  process.exitCode = code
  // Native sockets or a pending read on stdin can keep the loop alive after main has finished.
  setTimeout(() => process.exit(code), 200).unref()
}

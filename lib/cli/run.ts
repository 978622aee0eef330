import { readFileSync } from 'node:fs'
import yargs, { type Argv } from 'yargs'
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

/**
 * The only place that turns errors into output and exit codes. A user mistake is one stderr line
 * (`pcap-zmq-recv: cannot bind ...`); anything else is a bug and prints its stack.
 */
export async function runCli<T>(
  name: string,
  parse: (argv: string[]) => Promise<T> | T,
  main: (opts: T) => Promise<number | void>,
): Promise<void> {
  let code: number
  try {
    const opts = await parse(process.argv.slice(2))
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

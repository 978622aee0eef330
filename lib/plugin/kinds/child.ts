import { spawn, type ChildProcess } from 'node:child_process'
import type { Readable, Writable } from 'node:stream'
import { codedError } from '../../util/errors.js'

/**
 * A plugin process started on demand and restarted after it dies or is killed: a crash or hang
 * in the plugin is a failed delivery, never the runner's end. `ackFd3` opens a pipe on the
 * child's file descriptor 3 for line acknowledgements (stdout stays the plugin's own output).
 */
export class ChildHost {
  private child: ChildProcess | null = null
  private ackBuf = ''
  private waiters: ((line: string | null) => void)[] = []
  private exitReason = ''

  constructor(
    private readonly cmd: string,
    private readonly args: string[],
    private readonly env: NodeJS.ProcessEnv,
    private readonly ackFd3: boolean,
  ) {}

  get running(): boolean {
    return this.child !== null
  }

  start(): void {
    const child = spawn(this.cmd, this.args, {
      stdio: this.ackFd3 ? ['pipe', 'inherit', 'inherit', 'pipe'] : ['pipe', 'inherit', 'inherit'],
      env: this.env,
    })
    this.child = child
    this.ackBuf = ''
    this.exitReason = ''
    // EPIPE when the child dies: reported through exit, not as an unhandled error.
    child.stdin?.on('error', () => {})
    child.on('error', (err) => { this.exitReason = err.message; this.gone(child) })
    child.on('exit', (code, signal) => {
      this.exitReason = signal ? `killed by ${signal}` : `exited with code ${code}`
      this.gone(child)
    })
    if (this.ackFd3) {
      const acks = child.stdio[3] as Readable
      acks.setEncoding('utf8')
      acks.on('data', (s: string) => {
        this.ackBuf += s
        for (let nl = this.ackBuf.indexOf('\n'); nl >= 0; nl = this.ackBuf.indexOf('\n')) {
          const line = this.ackBuf.slice(0, nl)
          this.ackBuf = this.ackBuf.slice(nl + 1)
          this.waiters.shift()?.(line)
        }
      })
      acks.on('error', () => {})
    }
  }

  private gone(child: ChildProcess): void {
    if (this.child !== child) return
    this.child = null
    const w = this.waiters
    this.waiters = []
    for (const f of w) f(null)
  }

  /** Why the process is gone (for error messages). */
  get reason(): string {
    return this.exitReason || 'not running'
  }

  /** The next acknowledgement line, or null when the process died first. */
  nextAck(): Promise<string | null> {
    if (!this.child) return Promise.resolve(null)
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  /** Writes to the child's stdin; resolves once the data is handed to the pipe. */
  write(data: string): Promise<void> {
    const stdin = this.child?.stdin as Writable | undefined
    if (!stdin || stdin.destroyed) return Promise.reject(codedError(`plugin process ${this.reason}`, 'EPLUGINDEAD'))
    return new Promise((resolve, reject) => {
      stdin.write(data, (err) => {
        if (err) reject(codedError(`plugin process: ${err.message}`, 'EPLUGINDEAD'))
        else resolve()
      })
    })
  }

  kill(): void {
    this.child?.kill('SIGKILL')
  }

  /** Ends stdin and waits (bounded) for the child to finish its own close(). */
  async stop(graceMs: number): Promise<void> {
    const child = this.child
    if (!child) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.stdin?.end()
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    await exited
    clearTimeout(timer)
  }
}

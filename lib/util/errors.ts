/**
 * One error shape for the whole project: a plain Error with a `code` (asserted by tests) and,
 * for mistakes a user can fix, `user: true` so the CLI runner prints one line instead of a stack.
 */
export interface PipeError extends Error {
  code: string
  user?: boolean
}

/** An error the user caused and can fix: bad flag, bad config, missing library, not root. */
export function userError(message: string, code = 'EUSAGE'): PipeError {
  const err = new Error(message) as PipeError
  err.code = code
  err.user = true
  return err
}

/** An error with a code, for failures that are not the user's (decode errors, protocol errors). */
export function codedError(message: string, code: string): PipeError {
  const err = new Error(message) as PipeError
  err.code = code
  return err
}

export function isPipeError(err: unknown): err is PipeError {
  return err instanceof Error && typeof (err as PipeError).code === 'string'
}

export function isUserError(err: unknown): err is PipeError {
  return isPipeError(err) && (err as PipeError).user === true
}

/** The message of anything thrown, for one-line reports. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

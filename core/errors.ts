// The one error type skiff raises for problems a user can act on. Pure.
//
// A SkiffError carries a stable code, a message that says what failed (the syscall, the path) and
// a hint that says how to fix it. The reporter in cmd/main.ts prints message + hint and exits with
// `exitCode`; anything that is not a SkiffError is a bug and gets a stack trace.

export interface SkiffErrorOptions {
  hint?: string
  /** process exit status; Docker uses 125 for errors of the runtime itself */
  exitCode?: number
  cause?: unknown
  /** the message ends with lines of a program's output, printed as they are (else on one line) */
  output?: boolean
}

export class SkiffError extends Error {
  readonly code: string
  readonly hint?: string
  readonly exitCode: number
  readonly output: boolean

  constructor(code: string, message: string, options: SkiffErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'SkiffError'
    this.code = code
    this.hint = options.hint
    this.exitCode = options.exitCode ?? 125
    this.output = options.output ?? false
  }
}

export function isSkiffError(err: unknown): err is SkiffError {
  return err instanceof SkiffError
}

/** The errno code of a Node system error ('ENOENT', ...), or undefined. */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | null)?.code
  return typeof code === 'string' ? code : undefined
}

/**
 * Failures of the machine rather than of skiff (a full disk, a read-only file system, too many
 * open files), wherever they happen, and what the user can do: cmd/report.ts prints them as one
 * line, and code that would wrap an error in its own message passes these on as they are.
 */
export const MACHINE_ERRORS: Record<string, string> = {
  ENOSPC: 'free some space (`skiff system prune` removes what no container uses), or set SKIFF_ROOT to a larger file system',
  EDQUOT: 'free some space within your quota (`skiff system prune` removes what no container uses), or set SKIFF_ROOT elsewhere',
  EROFS: 'set SKIFF_ROOT (or XDG_DATA_HOME) to a writable directory',
  EMFILE: 'raise the limit of open files (ulimit -n) and try again',
  ENFILE: 'the system is out of file handles: try again later',
}

/** "ENOENT: no such file or directory, open '/x'" → "no such file or directory"; other errors' messages as they are. */
export function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException
  return e?.syscall ? e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '') : String(e?.message ?? err)
}

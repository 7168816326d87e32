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

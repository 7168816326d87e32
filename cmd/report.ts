// How a failure reaches the user: `Error: MESSAGE`, the hint on the next line, and Docker's exit
// status. Does I/O (stderr) only.
//
// Exit status (docs/cli.md has the table): 125 for a failure of skiff itself or a bad flag; 126
// and 127 when the container's command cannot be run or is not found (run and exec: elsewhere
// that is skiff's failure, 125); the container's own status for run, start -a and exec; 1 when an object named on the command line does not exist (No such
// container, image, volume or object), as docker and podman give, except for run and create,
// whose missing image or joined container is their own failure (125).
import { MACHINE_ERRORS, errnoCode, errnoText, isSkiffError, type SkiffError } from '../core/errors.js'

const NOT_FOUND = new Set(['E_NO_CONTAINER', 'E_NO_IMAGE', 'E_NO_VOLUME', 'E_NO_NETWORK', 'E_NO_OBJECT'])
const MAKERS = new Set(['run', 'create'])
/** The verbs whose status is the container command's: 126 and 127 say why it did not run. */
const COMMAND_VERBS = new Set(['run', 'exec'])

/** The exit status of `err` in the verb `verb`. */
export function exitStatusOf(err: SkiffError, verb?: string): number {
  if (NOT_FOUND.has(err.code) && !(verb && MAKERS.has(verb))) return 1
  // `start` of a container whose command is missing: skiff could not start it (docker: 125 too)
  if ((err.exitCode === 126 || err.exitCode === 127) && verb && !COMMAND_VERBS.has(verb)) return 125
  return err.exitCode
}

/**
 * A message on one line: control characters (a newline in a value the user gave, which messages
 * quote) written as escapes, \n, \t, \x1b (nor can a value move the terminal's cursor).
 */
export function oneLine(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => ({ '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

/** Print `err` as the user should see it. */
export function printError(err: unknown): void {
  if (isSkiffError(err)) {
    process.stderr.write(`Error: ${err.output ? err.message : oneLine(err.message)}\n`)
    if (err.hint) process.stderr.write(`  hint: ${oneLine(err.hint)}\n`)
    if (process.env.SKIFF_DEBUG && err.stack) process.stderr.write(`${err.stack}\n`)
    return
  }
  const code = errnoCode(err)
  if (code && MACHINE_ERRORS[code]) {
    const e = err as NodeJS.ErrnoException
    process.stderr.write(`Error: ${errnoText(e)}${e.syscall ? ` (${e.syscall}${e.path ? ` ${e.path}` : ''})` : ''}\n  hint: ${MACHINE_ERRORS[code]}\n`)
    if (process.env.SKIFF_DEBUG && e.stack) process.stderr.write(`${e.stack}\n`)
    return
  }
  process.stderr.write('Error: internal error in skiff (a bug; please report it with this trace):\n')
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`)
}

/** Print `err` and give the exit status for it: a stack trace only for a bug. */
export function reportError(err: unknown, verb?: string): number {
  printError(err)
  return isSkiffError(err) ? exitStatusOf(err, verb) : 125
}

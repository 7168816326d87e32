// Reading a text file the user named on the command line (--env-file, and the like). Does I/O.
//
// Such a file must be a regular file of bounded size: `--env-file /dev/zero` would read for ever
// and a FIFO would block until someone writes to it (issue 19). It is opened non-blocking (a
// FIFO's open must not wait for a writer), then fstat decides.
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs'
import { SkiffError, errnoCode } from './errors.js'

/** What a text option file may weigh (Docker's env files are a few KB). */
export const USER_FILE_LIMIT = 16 << 20

/**
 * The text of `path`, named by option `option` ("--env-file"); a clear error for a missing,
 * unreadable, special or oversized file.
 */
export function readUserTextFile(path: string, option: string, limit = USER_FILE_LIMIT): string {
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY)
  } catch (err) {
    const code = errnoCode(err)
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message
    throw new SkiffError('E_USER_FILE', `${option} ${path}: ${why}`, { hint: 'give the path of a readable text file', cause: err })
  }
  try {
    const st = fstatSync(fd)
    if (!st.isFile()) {
      const kind = st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a pipe' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isSocket() ? 'a socket' : 'not a regular file'
      throw new SkiffError('E_USER_FILE', `${option} ${path}: it is ${kind}, not a regular file`, { hint: 'give the path of a regular text file' })
    }
    if (st.size > limit) {
      throw new SkiffError('E_USER_FILE', `${option} ${path}: the file is ${st.size} bytes, more than the ${limit >> 20} MiB skiff reads`, { hint: 'give a smaller text file' })
    }
    try {
      return readFileSync(fd, 'utf8')
    } catch (err) {
      throw new SkiffError('E_USER_FILE', `${option} ${path}: ${(err as Error).message}`, { hint: 'give the path of a readable text file', cause: err })
    }
  } finally {
    closeSync(fd)
  }
}

// A file the user named for skiff to write (save -o, export -o): written under a temporary name
// beside it and renamed into place once complete, so that a failure (a full disk, Ctrl-C, an
// error) never leaves a partial file under the name. Does I/O.
import { closeSync, constants, createWriteStream, openSync, renameSync, rmSync, statSync, type WriteStream } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { SkiffError, errnoCode } from './errors.js'

export interface OutputFile {
  stream: WriteStream
  /** the file is complete: give it its name */
  commit(): void
  /** the file is not wanted: remove what was written */
  abort(): void
}

/** Open `path` (named by `option`, e.g. "-o") for writing; a clear error when that cannot be. */
export function openOutputFile(path: string, option: string): OutputFile {
  let isDir = false
  try {
    isDir = statSync(path).isDirectory()
  } catch {
    // no such file (the usual case), or one skiff cannot see: the open below says which
  }
  if (isDir) {
    throw new SkiffError('E_USAGE', `${option} ${path}: it is a directory`, { hint: `name a file, e.g. ${option} ${join(path, 'out.tar')}` })
  }
  const dir = dirname(path)
  const tmp = join(dir, `.${basename(path)}.skiff-${process.pid}`)
  let fd: number
  try {
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644)
  } catch (err) {
    const code = errnoCode(err)
    const why = code === 'ENOENT' ? `the directory ${dir} does not exist`
      : code === 'ENOTDIR' ? `${dir} is not a directory`
      : code === 'EACCES' || code === 'EPERM' ? `you may not write in ${dir}`
      : code === 'EROFS' ? `${dir} is on a read-only file system`
      : code === 'ENOSPC' || code === 'EDQUOT' ? `no space left in ${dir}`
      : (err as Error).message
    throw new SkiffError('E_OUTPUT', `${option} ${path}: ${why}`, { hint: 'name a file in a directory you may write, with room for it', cause: err })
  }
  const stream = createWriteStream('', { fd, autoClose: true })
  let done = false
  const remove = (): void => {
    if (!done) rmSync(tmp, { force: true })
  }
  // a signal ends skiff without its finally blocks: the partial file goes with it
  process.once('exit', remove)
  return {
    stream,
    commit() {
      renameSync(tmp, path)
      done = true
    },
    abort() {
      stream.destroy()
      try {
        closeSync(fd)
      } catch {
        // closed by the stream already
      }
      remove()
      done = true
    },
  }
}

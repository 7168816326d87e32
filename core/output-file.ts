// A file the user named for skiff to write (save -o, export -o): written under a temporary name
// beside it and renamed into place once complete, so that a failure (a full disk, Ctrl-C, an
// error) never leaves a partial file, under the name or the temporary one. Does I/O.
import { constants, createWriteStream, openSync, renameSync, rmSync, statSync, type WriteStream } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { SkiffError, errnoCode, errnoText } from './errors.js'

export interface OutputFile {
  stream: WriteStream
  /** the temporary name it is written under (for a program that writes the file itself) */
  path: string
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
      : errnoText(err)
    throw new SkiffError('E_OUTPUT', `${option} ${path}: ${why}`, { hint: 'name a file in a directory you may write, with room for it', cause: err })
  }
  const stream = createWriteStream('', { fd, autoClose: true })
  const remove = (): void => rmSync(tmp, { force: true })
  // Ctrl-C, kill or a hang-up before the end: the partial file goes, then the signal does its work
  const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
  const onSignal = (signal: NodeJS.Signals): void => {
    remove()
    forget()
    process.kill(process.pid, signal)
  }
  const forget = (): void => {
    for (const signal of SIGNALS) process.removeListener(signal, onSignal)
    process.removeListener('exit', remove)
  }
  for (const signal of SIGNALS) process.once(signal, onSignal)
  process.once('exit', remove)
  return {
    stream,
    path: tmp,
    commit() {
      forget()
      renameSync(tmp, path)
    },
    abort() {
      forget()
      stream.destroy()
      remove()
    },
  }
}

// Inter-process locks and atomic file writes. Does I/O.
//
// A lock is flock(2) on a file (the spawn addon makes the call: Node has none). The kernel drops
// it when its holder dies, however it dies, so no instant of a kill -9, an OOM kill or a cancelled
// Slurm step can leave a lock that blocks later commands: the file's content ("pid starttime",
// written once the lock is held) only names the holder in messages, and an empty or garbage file
// is just a file to lock. Earlier versions created the file with O_EXCL and wrote the pid after,
// so a kill between the two left an empty file that nobody could judge (issue 19).
//
// The holder removes the file before it lets go, so that a store or a container directory does
// not keep one; a taker that locked a file which was removed (or replaced) meanwhile sees that its
// inode is no longer at the path and tries again.
import { closeSync, constants, fstatSync, fsyncSync, ftruncateSync, lstatSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import { SkiffError, errnoCode } from './errors.js'
import { nativeAddon } from './native.js'

/**
 * Field 22 of /proc/PID/stat, the start time: tells a process from a later one with the same pid.
 * undefined when there is no such process, or only its zombie (a parent that does not reap, like
 * some container inits, keeps dead supervisors around as zombies).
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // fields counted after the ")" that ends the command name: state is field 3
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined
    return fields[19]
  } catch {
    return undefined
  }
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

const EWOULDBLOCK = 11

/** The holder named in the lock file, for a message: its pid, or "unknown". */
function holderOf(path: string): string {
  try {
    const pid = readFileSync(path, 'utf8').trim().split(' ')[0] ?? ''
    return /^[1-9]\d*$/.test(pid) ? pid : 'unknown'
  } catch {
    return 'unknown'
  }
}

function lockError(path: string, why: string, err?: unknown): SkiffError {
  return new SkiffError('E_LOCK', `cannot lock ${path}: ${why}`, {
    hint: errnoCode(err) === 'ENOSPC'
      ? 'free some disk space there'
      : 'keep skiff\'s storage on a local filesystem that supports locks (set SKIFF_ROOT), and make sure it is yours and writable',
    cause: err,
  })
}

/**
 * Take the lock at `path`, waiting up to `timeoutMs` for another holder; returns its release.
 * `busy` makes the error for a holder that does not let go (what is held, and what to do).
 */
export function acquireLock(path: string, timeoutMs = 120_000, busy?: (holderPid: string) => SkiffError): () => void {
  const addon = nativeAddon()
  if (!addon) throw lockError(path, 'skiff\'s native addon did not load (SKIFF_TRACE=1 says why)')
  const deadline = Date.now() + timeoutMs
  for (;;) {
    let fd: number
    try {
      fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600)
    } catch (err) {
      throw lockError(path, (err as Error).message, err)
    }
    const r = addon.flock(fd, true)
    if (r === 0) {
      if (sameFile(fd, path)) {
        try {
          ftruncateSync(fd, 0)
          writeSync(fd, `${process.pid} ${processStartTime(process.pid) ?? '0'}\n`, 0)
        } catch {} // only a name for messages: a full disk must not stop the command here
        return release(path, fd)
      }
      closeSync(fd) // its holder removed it while we waited: lock what is there now
      continue
    }
    closeSync(fd)
    if (r !== -EWOULDBLOCK) throw lockError(path, `flock failed (errno ${-r})`)
    if (Date.now() > deadline) {
      const pid = holderOf(path)
      throw busy?.(pid) ?? new SkiffError('E_LOCKED', `${path} is locked by process ${pid}`, {
        hint: 'another skiff command is using the store; wait for it to finish (or stop it)',
      })
    }
    sleepMs(20)
  }
}

/** Whether `fd` is still the file at `path`. */
function sameFile(fd: number, path: string): boolean {
  const a = fstatSync(fd)
  const b = lstatSync(path, { throwIfNoEntry: false })
  return !!b && a.ino === b.ino && a.dev === b.dev
}

function release(path: string, fd: number): () => void {
  let done = false
  return () => {
    if (done) return
    done = true
    try {
      unlinkSync(path) // still ours: nobody else touches the file while we hold it
    } catch {}
    closeSync(fd)
  }
}

/** Hold `path` while `fn` runs. Waits up to `timeoutMs` for another holder. */
export async function withLock<T>(path: string, fn: () => Promise<T> | T, timeoutMs = 120_000): Promise<T> {
  const release = acquireLock(path, timeoutMs)
  try {
    return await fn()
  } finally {
    release()
  }
}

/** Write `data` to `path` so that readers see the old or the new content, never a mix. */
export function writeFileAtomic(path: string, data: string | Buffer, mode = 0o644, durable = true): void {
  const tmp = `${dirname(path)}/.${path.slice(dirname(path).length + 1)}.tmp-${process.pid}`
  const fd = openSync(tmp, 'w', mode)
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data)
    // durable: on disk before the rename, so a crash cannot leave an empty file under the name
    if (durable) fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, path)
}

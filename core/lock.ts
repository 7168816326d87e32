// Inter-process locks and atomic file writes, in plain Node. Does I/O.
//
// A lock is a file created with O_EXCL holding "pid starttime". A holder killed with -9 leaves it
// behind; the next taker sees that the pid is gone (or is another process with that pid, by its
// start time in /proc/PID/stat) and takes the lock over by renaming its own claim over it.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import { SkiffError, errnoCode } from './errors.js'

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

const startTime = processStartTime

const self = () => `${process.pid} ${startTime(process.pid) ?? '0'}`

function holderAlive(content: string): boolean {
  const [pid, start] = content.trim().split(' ')
  const n = Number(pid)
  if (!Number.isInteger(n) || n <= 0) return false
  const now = startTime(n)
  return now !== undefined && now === start
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

/**
 * Take the lock at `path`, waiting up to `timeoutMs` for another holder; returns its release.
 * `busy` makes the error for a holder that does not let go (what is held, and what to do).
 */
export function acquireLock(path: string, timeoutMs = 120_000, busy?: (holderPid: string) => SkiffError): () => void {
  const deadline = Date.now() + timeoutMs
  const me = self()
  for (;;) {
    try {
      const fd = openSync(path, 'wx', 0o600)
      writeSync(fd, me)
      closeSync(fd)
      break
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err
    }
    let holder = ''
    try {
      holder = readFileSync(path, 'utf8')
    } catch {
      continue // released meanwhile
    }
    if (holder && !holderAlive(holder)) {
      // Stale: claim it atomically; if two takers race, the rename of one wins and the other
      // sees a live holder on its next look.
      const claim = `${path}.claim-${process.pid}`
      writeFileSync(claim, me)
      renameSync(claim, path)
      if (readFileSync(path, 'utf8') === me) break
      continue
    }
    if (Date.now() > deadline) {
      const pid = holder.split(' ')[0] ?? '?'
      throw busy?.(pid) ?? new SkiffError('E_LOCKED', `${path} is locked by process ${pid}`, {
        hint: 'another skiff command is using the store; wait for it to finish (or stop it)',
      })
    }
    sleepMs(20)
  }
  return () => {
    try {
      if (readFileSync(path, 'utf8') === me) unlinkSync(path)
    } catch {}
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

// The V8 code cache of skiff's bundle, read and written by the single executable's entry
// (cmd/sea-main.ts, which says why). Does I/O. It runs before the bundle exists: only builtins here.
import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'

/**
 * The verb, as the cache's name: `run`, `container-ls`, `--version`, and `__storage`, the worker
 * every pull and load starts once per layer (it compiled node-tar afresh each time, ~15 ms).
 */
/** The OCI runtime's verbs (cmd/runtime.ts): its caches are per verb too, past runc's global flags. */
const RUNTIME_VERBS = new Set(['spec', 'create', 'start', 'run', 'state', 'kill', 'delete', 'list', 'ps', 'exec', 'pause', 'resume', 'update', 'features'])

export function cacheKey(argv: string[], argv0 = ''): string | undefined {
  if (argv0.endsWith('/skiff-runc') || argv0 === 'skiff-runc' || argv[0] === 'runtime') {
    const verb = argv.find((a) => RUNTIME_VERBS.has(a))
    return verb && `runtime-${verb}`
  }
  const [first, second] = argv
  if (first === '__storage') return first
  if (first === undefined || !/^-{0,2}[a-z][a-z0-9-]{0,19}$/.test(first)) return undefined
  if (first === 'container' && second && /^[a-z]{1,12}$/.test(second)) return `container-${second}`
  return first
}

/** Ours, and writable by no one else. */
function trusted(st: { mode: number; uid: number }): boolean {
  return st.uid === process.getuid!() && (st.mode & 0o022) === 0
}

/**
 * The cache at `path`, if it is a file that is ours in a directory that is ours, neither writable
 * by others: a code cache is bytecode that will run.
 */
export function readCodeCache(path: string): Buffer | undefined {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch {
    return undefined
  }
  try {
    const st = fstatSync(fd)
    if (!st.isFile() || !trusted(st) || !trusted(statSync(dirname(path)))) return undefined
    return readFileSync(fd)
  } catch {
    return undefined
  } finally {
    closeSync(fd)
  }
}

/**
 * Write what `produce` returns to `path`, whole or not at all. `produce` (V8's serialization, a
 * few ms) runs only once the file could be opened: where the cache cannot be written, each run
 * would pay for it for nothing. Best effort: a cache that cannot be written is none.
 */
export function writeCodeCache(path: string, produce: () => Buffer): boolean {
  const tmp = `${path}.tmp-${process.pid}`
  let fd: number
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
    fd = openSync(tmp, 'wx', 0o600)
  } catch {
    return false
  }
  try {
    try {
      writeSync(fd, produce())
      fsyncSync(fd) // a crash leaves the old file or the whole new one, never a torn one
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, path)
    return true
  } catch {
    try {
      unlinkSync(tmp)
    } catch {}
    return false
  }
}

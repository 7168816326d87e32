// Directories of the user's own outside its 0700 roots: the runtime directory, the /tmp fallbacks
// for runtime state and for storage off a network home, the short-socket directory. Does I/O.
//
// Such a path may already exist, made by someone else: another user can create
// /tmp/skiff-run-<your uid> first, mode 0777, and then swap the sockets skiff binds in it (issue
// 19). So a directory is used only when lstat says it is a directory (not a symlink), owned by
// the user, with no group or other bits, in a parent where no one else can rename it away (not
// writable by others, or sticky as /tmp is). Once that holds it keeps holding: no other user can
// add to a 0700 directory, and a sticky parent lets only the owner rename or remove an entry. That
// is why a check followed by use is no race here, as it is for systemd's and podman's runtime
// directories.
//
// A fallback path in /tmp that fails the check is not used: skiff makes a fresh one beside it
// (mkdtemp: a new name, 0700, created atomically), remembers it in the user's own cache directory
// for later commands (a file another user cannot write), and says so once.
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { SkiffError, errnoCode } from './errors.js'

/** "mode 0755" */
const modeText = (mode: number) => `mode ${(mode & 0o7777).toString(8).padStart(4, '0')}`

/** Why `parent` lets other users rename its entries away (writable by them, not sticky as /tmp is), or undefined. */
function openParent(parent: string, st: { mode: number } | undefined): string | undefined {
  return st && st.mode & 0o022 && !(st.mode & 0o1000) ? `its parent ${parent} can be changed by other users and is not sticky (${modeText(st.mode)})` : undefined
}

/** The variable that chooses a directory of this kind. */
const variableFor = (what: string) => (what.startsWith('storage') ? 'SKIFF_ROOT' : 'SKIFF_RUNROOT')

/** Why `path` is not a private directory of `uid`, or undefined when it is one; 'missing' when absent. */
export function unsafeReason(path: string, uid: number, lstat = lstatSync): string | undefined {
  const st = lstat(path, { throwIfNoEntry: false })
  if (!st) return 'missing'
  if (st.isSymbolicLink()) return 'it is a symbolic link'
  if (!st.isDirectory()) return 'it is not a directory'
  if (st.uid !== uid) return `it belongs to uid ${st.uid}, ${modeText(st.mode)}`
  if (st.mode & 0o077) return `it is open to other users (${modeText(st.mode)})`
  return openParent(dirname(path), lstat(dirname(path), { throwIfNoEntry: false }))
}

/**
 * One of skiff's own roots (the store, the cache, which may be symlinks the user made): it must be
 * the user's, and no one else may write it: another user who can would swap the shim skiff
 * executes from the cache, or the layers in the store. A clear error otherwise.
 */
export function checkOwnRoot(path: string, what: string, variable: string, uid = process.getuid!()): void {
  let st
  try {
    st = statSync(path)
  } catch {
    return // made by the caller next, 0700
  }
  let why = !st.isDirectory() ? 'it is not a directory' : st.uid !== uid ? `it belongs to uid ${st.uid}, ${modeText(st.mode)}` : st.mode & 0o022 ? `other users may write it (${modeText(st.mode)})` : undefined
  if (!why) {
    // where it really is (the user's symlink followed)
    const parent = dirname(realpathSync(path))
    why = openParent(parent, statSync(parent))
  }
  if (why) {
    throw new SkiffError('E_UNSAFE_DIR', `the ${what} ${path} is not safe to use: ${why}`, {
      hint: `use a directory of your own that only you may write (chmod go-w ${path}), or set ${variable} to one`,
    })
  }
}

/** Create `path` (mode 0700) when absent, then require it to be private; else a clear error. */
export function ensurePrivateDir(path: string, uid = process.getuid!(), what = 'directory'): string {
  try {
    mkdirSync(path, { mode: 0o700 })
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') {
      // a missing parent ($XDG_RUNTIME_DIR/skiff's is there; a SKIFF_RUNROOT's may not be)
      try {
        mkdirSync(path, { recursive: true, mode: 0o700 })
      } catch (err2) {
        throw cannotCreate(path, what, err2)
      }
    } else if (errnoCode(err) !== 'EEXIST') {
      throw cannotCreate(path, what, err)
    }
  }
  const why = unsafeReason(path, uid)
  if (why) {
    throw new SkiffError('E_UNSAFE_DIR', `the ${what} ${path} is not safe to use: ${why}`, {
      hint: `skiff needs a directory of its own there (owner you, mode 0700): remove it if it is not yours (or ask its owner or an admin), or set ${variableFor(what)} to a directory of yours`,
    })
  }
  return path
}

function cannotCreate(path: string, what: string, err: unknown): SkiffError {
  return new SkiffError('E_DIR', `cannot create the ${what} ${path}: ${(err as Error).message}`, {
    hint: errnoCode(err) === 'ENOSPC' ? 'free some disk space there' : `set ${variableFor(what)} to a directory of yours`,
    cause: err,
  })
}

const warned = new Set<string>()

/**
 * A private directory at `base` (a path in a shared /tmp), or, when `base` exists and is not
 * safe, the fresh one remembered in `memo` (a file in the user's cache), made now if needed.
 *   privateFallback('/tmp/skiff-run-1001', memo) → '/tmp/skiff-run-1001' (made 0700, or already ours)
 *   ... when uid 1002 made it first, mode 0777   → '/tmp/skiff-run-1001-Ab3xYz' (and a warning, once)
 */
export function privateFallback(base: string, memo: string, uid = process.getuid!(), what = 'directory'): string {
  let why: string | undefined
  try {
    return ensurePrivateDir(base, uid, what)
  } catch (err) {
    if (!(err instanceof SkiffError) || err.code !== 'E_UNSAFE_DIR') throw err
    why = unsafeReason(base, uid)
  }
  let remembered = ''
  try {
    remembered = readFileSync(memo, 'utf8').trim()
  } catch {}
  // only a directory beside `base` with its name as prefix, and private: the memo is ours, but a
  // stale one (after a reboot, /tmp emptied) must not lead into a directory someone else made
  if (remembered.startsWith(`${base}-`) && !remembered.slice(base.length + 1).includes('/')) {
    const r = unsafeReason(remembered, uid)
    if (r === undefined) return remembered
  }
  let fresh: string
  try {
    fresh = mkdtempSync(`${base}-`)
  } catch (err) {
    throw cannotCreate(`${base}-XXXXXX`, what, err)
  }
  try {
    // not lock.ts's writeFileAtomic: lock.ts loads the native addon, and paths.ts (which every
    // command loads) comes here
    mkdirSync(dirname(memo), { recursive: true, mode: 0o700 })
    writeFileSync(`${memo}.tmp-${process.pid}`, `${fresh}\n`, { mode: 0o600 })
    renameSync(`${memo}.tmp-${process.pid}`, memo)
  } catch {}
  if (!warned.has(base)) {
    warned.add(base)
    process.stderr.write(`skiff: warning: ${base} is not safe to use (${why}): using ${fresh} instead\n`)
  }
  return fresh
}

/** The file in the user's cache that remembers the fallback picked for `kind`. */
export function fallbackMemo(cache: string, kind: 'run' | 'storage'): string {
  return join(cache, `fallback-${kind}`)
}

// Where the shim binary and the spawn addon are: written once from the executable's embedded
// assets to the per-user cache, keyed by their hashes. Does I/O (stat; on first use, one write).
//
// The single executable carries the shim and the addon as SEA assets. On first use each is
// written to $XDG_CACHE_HOME/skiff/shim-<sha256> (spawn-<sha256>.node) via a temp file + rename,
// so two commands racing both end with the same complete file. Later runs only stat it.
// Writing a new copy (the first run after an upgrade) removes other versions' copies that have not
// been run for two weeks, and temp files a killed write left. SKIFF_SHIM overrides the shim
// (development, tests).
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { SkiffError, errnoCode } from './errors.js'
import { resolvePaths } from './paths.js'
import { checkOwnRoot } from './private-dir.js'
import { nodeCrypto } from './random.js'

declare const SKIFF_SHIM_SHA256: string
declare const SKIFF_SPAWN_SHA256: string

/** The embedded shim's digest (hex), fixed at build time; '' when running unbundled. */
export const shimDigest: string = typeof SKIFF_SHIM_SHA256 === 'string' ? SKIFF_SHIM_SHA256 : ''
/** The embedded spawn addon's digest (hex), as the shim's. */
const spawnDigest: string = typeof SKIFF_SPAWN_SHA256 === 'string' ? SKIFF_SPAWN_SHA256 : ''

interface SeaModule {
  isSea(): boolean
  getRawAsset(key: string): ArrayBuffer
}

function seaModule(): SeaModule | undefined {
  try {
    const sea = require('node:sea') as SeaModule
    return sea.isSea() ? sea : undefined
  } catch {
    return undefined
  }
}

/** Whether this process runs as the single executable (not `node dist/skiff.cjs`). */
export function isSingleExecutable(): boolean {
  return seaModule() !== undefined
}

let cached: string | undefined

/** Path of a ready-to-exec shim binary. */
export function shimPath(): string {
  if (cached) return cached
  const override = process.env.SKIFF_SHIM
  if (override) return (cached = override)
  const sea = seaModule()
  if (!sea) {
    // Unbundled development runs (node dist/skiff.cjs): the shim sits beside the bundle.
    return (cached = join(dirname(__filename), 'skiff-shim'))
  }
  return (cached = cachedAsset(sea, 'shim', `shim-${shimDigest}`, shimDigest, 'shim'))
}

/** Path of the spawn addon (shims/addon/spawn.c), to process.dlopen. */
export function spawnAddonPath(): string {
  const sea = seaModule()
  // Unbundled development runs: beside the bundle, as the shim
  if (!sea) return join(dirname(__filename), 'skiff-spawn.node')
  return cachedAsset(sea, 'spawn', `spawn-${spawnDigest}.node`, spawnDigest, 'spawn addon')
}

let cacheChecked = false

function cachedAsset(sea: SeaModule, key: string, name: string, digest: string, what: string): string {
  const cache = resolvePaths().cache
  // skiff executes what is here: nobody else may be able to swap it
  if (!cacheChecked) {
    try {
      mkdirSync(cache, { recursive: true, mode: 0o700 })
    } catch {} // writeCopy says why, if it comes to that
    checkOwnRoot(cache, 'cache directory', 'XDG_CACHE_HOME')
    cacheChecked = true
  }
  const target = join(cache, name)
  if (!isGoodCopy(target)) writeCopy(target, Buffer.from(sea.getRawAsset(key)), digest, what)
  return target
}

/** A cached copy is used when it is ours, executable, not writable by others, and of the right size. */
function isGoodCopy(path: string): boolean {
  try {
    const st = statSync(path)
    return st.isFile() && st.uid === process.getuid!() && (st.mode & 0o7777) === 0o755 && st.size > 0
  } catch {
    return false
  }
}

function writeCopy(target: string, bytes: Buffer, expected: string, what: string): void {
  const digest = nodeCrypto().createHash('sha256').update(bytes).digest('hex')
  if (digest !== expected) {
    throw new SkiffError('E_SHIM_CORRUPT', `the ${what} embedded in ${process.execPath} is damaged (sha256 ${digest}, expected ${expected})`, {
      hint: 'download or build skiff again',
    })
  }
  const tmp = `${target}.tmp-${process.pid}`
  try {
    mkdirSync(dirname(target), { recursive: true, mode: 0o700 })
    const fd = openSync(tmp, 'wx', 0o700)
    try {
      writeSync(fd, bytes)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    chmodSync(tmp, 0o755)
    // Read back before publishing: a full disk must not leave a truncated shim in the cache.
    if (nodeCrypto().createHash('sha256').update(readFileSync(tmp)).digest('hex') !== expected) {
      throw new Error(`short write to ${tmp}`)
    }
    renameSync(tmp, target)
    pruneCopies(dirname(target), [`shim-${shimDigest}`, `spawn-${spawnDigest}.node`])
  } catch (err) {
    try {
      unlinkSync(tmp)
    } catch {}
    throw new SkiffError('E_SHIM_WRITE', `cannot write ${target}: ${(err as Error).message}`, {
      hint: errnoCode(err) === 'ENOSPC' ? 'free some disk space in your home directory' : 'set XDG_CACHE_HOME to a writable directory',
      cause: err,
    })
  }
}

const DAY = 24 * 3600 * 1000
// the shim, the spawn addon, and the code caches cmd/sea-main.ts saves per verb
const COPY = /^(?:shim-[0-9a-f]{64}|spawn-[0-9a-f]{64}\.node|code-[0-9a-f]{64}\.(?:-{0,2}[a-z][a-z0-9-]*|__storage))(\.tmp-\d+)?$/

/**
 * Remove from the cache directory `dir` the copies of other versions unused for `unusedDays`, and
 * temp files older than a day; `keep` (this version's) stay. "Used" is the newer of atime and
 * mtime: exec and dlopen update atime at least daily under relatime (Linux's default); on a
 * noatime mount an old version still in use loses its copy and writes it again at its next run.
 * Best effort: a file that cannot be read or removed is left.
 */
export function pruneCopies(dir: string, keep: string[], unusedDays = 14, now = Date.now()): string[] {
  const removed: string[] = []
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return removed
  }
  for (const name of names) {
    const m = COPY.exec(name)
    if (!m || keep.includes(name)) continue
    const path = join(dir, name)
    try {
      const st = statSync(path)
      const age = now - Math.max(st.atimeMs, st.mtimeMs)
      if (!st.isFile() || st.uid !== process.getuid!() || age < (m[1] ? 1 : unusedDays) * DAY) continue
      unlinkSync(path)
      removed.push(name)
    } catch {}
  }
  return removed
}

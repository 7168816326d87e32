// Where skiff keeps things: storage, runtime state, cache. Reads the environment only.
//
// Storage: $SKIFF_ROOT, else $XDG_DATA_HOME/skiff, else ~/.local/share/skiff — unless that is on
//          a network filesystem (NFS, Lustre, GPFS, ...), where overlay upper directories fail
//          and layers strain shared servers: then $SLURM_TMPDIR (or $TMPDIR, or /tmp)/skiff-$UID/
//          storage, node-local (as podman-hpc does), and `storageNote` says why (`skiff info`, and
//          once on stderr when the store is made there). That directory in a shared /tmp is
//          used only when it is private and ours (core/private-dir.ts).
// Runtime: $SKIFF_RUNROOT, else $XDG_RUNTIME_DIR/skiff when that directory is ours and closed to
//          others, else $TMPDIR/skiff-run-$UID (a wrong XDG_RUNTIME_DIR after su/sudo is common),
//          made and checked by runtimeDir() only where a socket needs it.
// Cache:   $XDG_CACHE_HOME/skiff, else ~/.cache/skiff (the extracted shim and the code caches).
import { statSync, statfsSync } from 'node:fs'
import { homedir, tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { ensurePrivateDir, fallbackMemo, privateFallback } from './private-dir.js'

export interface SkiffPaths {
  storage: string
  runtime: string
  /** the runtime directory is the fallback in $TMPDIR, which another user may have made first */
  runtimeInTmp?: boolean
  cache: string
  /** set when the default storage was moved off a network filesystem */
  storageNote?: string
}

/** statfs magic numbers of network and cluster filesystems (linux/magic.h and their sources). */
const NETWORK_FS: Record<number, string> = {
  0x6969: 'NFS', 0x0bd00bd0: 'Lustre', 0x47504653: 'GPFS', 0xff534d42: 'CIFS', 0xfe534d42: 'SMB', 0x00c36400: 'CephFS',
  0x01161970: 'GFS2', 0x7461636f: 'OCFS2', 0x19830326: 'BeeGFS', 0xaad7aaea: 'PanFS', 0x5346414f: 'AFS',
}

/** The network filesystem `path` (or its nearest existing parent) is on, if any. */
export function networkFsOf(path: string, statfs: (p: string) => { type: number } = statfsSync): string | undefined {
  for (let p = path; ; p = p.slice(0, p.lastIndexOf('/')) || '/') {
    try {
      return NETWORK_FS[statfs(p).type >>> 0]
    } catch {
      if (p === '/') return undefined
    }
  }
}

/**
 * $HOME, unless it is another user's: a program that runs skiff as the user without changing the
 * environment (slurmstepd running an OCI runtime, sudo -u) leaves its own; then the user's home
 * from the password database.
 */
function home(env: NodeJS.ProcessEnv): string {
  const h = env.HOME
  const uid = process.getuid?.() ?? 0
  const owner = h && uid !== 0 ? ownerOf(h) : undefined
  if (h && (owner === undefined || owner === uid)) return h
  try {
    return userInfo().homedir
  } catch {
    return h || homedir()
  }
}

function ownerOf(path: string): number | undefined {
  try {
    return statSync(path).uid
  } catch {
    return undefined
  }
}

/** The cache directory alone (the executable's entry needs it before anything else is loaded). */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(home(env), '.cache'), 'skiff')
}

/** Whether `dir` exists, is a directory, belongs to `uid` and no one else may write it. */
function ownedBy(dir: string, uid: number): boolean {
  try {
    const st = statSync(dir)
    return st.isDirectory() && st.uid === uid && (st.mode & 0o022) === 0
  } catch {
    return false
  }
}

export function resolvePaths(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? 0, statfs?: (p: string) => { type: number }): SkiffPaths {
  let storage = env.SKIFF_ROOT || join(env.XDG_DATA_HOME || join(home(env), '.local', 'share'), 'skiff')
  let storageNote: string | undefined
  const network = env.SKIFF_ROOT ? undefined : networkFsOf(storage, statfs)
  if (network) {
    storageNote = `${storage} is on ${network}, where overlay upper directories fail: images and containers are kept on this node instead (set SKIFF_ROOT to choose)`
    // a Slurm job's own node-local directory first, then the session's temporary one
    const base = join(env.SLURM_TMPDIR || env.TMPDIR || tmpdir(), `skiff-${uid}`)
    storage = join(privateFallback(base, fallbackMemo(cacheDir(env), 'storage'), uid, 'storage directory'), 'storage')
  }
  let runtime = env.SKIFF_RUNROOT
  let runtimeInTmp = false
  if (!runtime) {
    const xdg = env.XDG_RUNTIME_DIR
    runtimeInTmp = !(xdg && ownedBy(xdg, uid))
    runtime = runtimeInTmp ? join(env.TMPDIR || tmpdir(), `skiff-run-${uid}`) : join(xdg!, 'skiff')
  }
  return { storage, runtime, ...(runtimeInTmp ? { runtimeInTmp } : {}), cache: cacheDir(env), ...(storageNote ? { storageNote } : {}) }
}

/**
 * The runtime directory, made (0700) and checked now: where skiff binds sockets. The fallback in
 * $TMPDIR is replaced by a fresh private one when another user made it first; a directory the
 * user chose (SKIFF_RUNROOT) or XDG_RUNTIME_DIR's must be private, or this is an error.
 */
export function runtimeDir(paths: SkiffPaths, uid = process.getuid!()): string {
  if (paths.runtimeInTmp) return privateFallback(paths.runtime, fallbackMemo(paths.cache, 'run'), uid, 'runtime directory')
  return ensurePrivateDir(paths.runtime, uid, 'runtime directory')
}

/**
 * A socket of container `id` (slirp4netns's API, attach): in the runtime directory, or where that
 * path would pass the 108 bytes a socket address holds, in a private directory in /tmp.
 */
export function socketPath(paths: SkiffPaths, kind: string, id: string, uid = process.getuid!(), env: NodeJS.ProcessEnv = process.env): string {
  const name = `${kind}-${id.slice(0, 12)}.sock`
  if (join(paths.runtime, name).length < 100) return join(runtimeDir(paths, uid), name)
  // the fallback runtime directory, in $TMPDIR or, where that is long too, in /tmp
  let base = join(env.TMPDIR || tmpdir(), `skiff-run-${uid}`)
  if (join(base, `-XXXXXX/${name}`).length >= 100) base = `/tmp/skiff-run-${uid}`
  return join(privateFallback(base, fallbackMemo(paths.cache, 'run'), uid, 'runtime directory'), name)
}

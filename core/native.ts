// skiff's Node-API addon (shims/addon/spawn.c), for the system calls Node cannot make on the path
// of every run: the shim's start by posix_spawn (a vfork) and the watch of its exit, and the id
// maps' checks (prctl's no_new_privs, statvfs's mount flags); and flock, for core/lock.ts. Loaded
// once, on first use, from the per-user copy of the executable's asset; where it does not load,
// each caller takes its slower way (Node's fork of the shim; /proc/self/status and
// /proc/self/mountinfo), except a lock, which has none and fails with the reason. Does I/O.
import { spawnAddonPath } from './shim-binary.js'
import { mark } from './trace.js'

export interface NativeAddon {
  /** [pid, fd0, fd1, fd2, fd3] (our ends of the 'pipe' ones, else -1), or a negative errno */
  spawn(file: string, argv: string[], env: string[], stdio: number[]): number[] | number
  watch(pid: number, onexit: (code: number | null, signal: number | null) => void): object
  unref(watch: object): void
  /** prctl(PR_GET_NO_NEW_PRIVS): 1 or 0, or a negative errno */
  noNewPrivs(): number
  /** statvfs(path).f_flag, or a negative errno */
  mountFlags(path: string): number
  /** flock(fd, LOCK_EX or LOCK_SH | LOCK_NB): 0, or a negative errno (-11: held by another) */
  flock(fd: number, exclusive: boolean): number
}

/** statvfs's flag for a filesystem mounted nosuid (<sys/statvfs.h>) */
export const ST_NOSUID = 2

let addon: NativeAddon | null | undefined

/** The addon, or null where it does not load (SKIFF_TRACE=1 says why). */
export function nativeAddon(): NativeAddon | null {
  if (addon !== undefined) return addon
  try {
    return useNativeAddon(spawnAddonPath())
  } catch (err) {
    mark(`spawn addon not loaded (${(err as Error).message}): the shim is forked, /proc is read`)
    return (addon = null)
  }
}

/** Load the addon from `path` (null: go without). For tests; throws when it does not load. */
export function useNativeAddon(path: string | null): NativeAddon | null {
  if (path === null) return (addon = null)
  const module = { exports: {} as NativeAddon }
  process.dlopen(module, path)
  return (addon = module.exports)
}

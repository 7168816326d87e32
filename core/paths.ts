// Where skiff keeps things: storage, runtime state, cache. Reads the environment only.
//
// Storage: $SKIFF_ROOT, else $XDG_DATA_HOME/skiff, else ~/.local/share/skiff.
// Runtime: $SKIFF_RUNROOT, else $XDG_RUNTIME_DIR/skiff when that directory is ours, else
//          $TMPDIR/skiff-run-$UID (a wrong XDG_RUNTIME_DIR after su/sudo is common).
// Cache:   $XDG_CACHE_HOME/skiff, else ~/.cache/skiff (the extracted shim lives here).
import { statSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'

export interface SkiffPaths {
  storage: string
  runtime: string
  cache: string
}

function home(env: NodeJS.ProcessEnv): string {
  return env.HOME || homedir()
}

/** Whether `dir` exists, is a directory and belongs to `uid`. */
function ownedBy(dir: string, uid: number): boolean {
  try {
    const st = statSync(dir)
    return st.isDirectory() && st.uid === uid
  } catch {
    return false
  }
}

export function resolvePaths(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? 0): SkiffPaths {
  const storage = env.SKIFF_ROOT || join(env.XDG_DATA_HOME || join(home(env), '.local', 'share'), 'skiff')
  let runtime = env.SKIFF_RUNROOT
  if (!runtime) {
    const xdg = env.XDG_RUNTIME_DIR
    runtime = xdg && ownedBy(xdg, uid) ? join(xdg, 'skiff') : join(env.TMPDIR || tmpdir(), `skiff-run-${uid}`)
  }
  const cache = join(env.XDG_CACHE_HOME || join(home(env), '.cache'), 'skiff')
  return { storage, runtime, cache }
}

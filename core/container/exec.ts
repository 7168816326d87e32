// skiff exec: another process in a running container, in all its namespaces. Does I/O (processes).
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { execCgroupWrap } from '../cgroup/limits.js'
import { containerDir, readState, type ContainerRecord } from './records.js'
import { SkiffError } from '../errors.js'
import { DEFAULT_DETACH_KEYS } from './detach-keys.js'
import { readImageFile } from '../image/files.js'
import { capabilityNumbers } from '../launch/capabilities.js'
import { launch } from '../launch/launch.js'
import { resolveUser } from '../launch/passwd.js'
import type { ExecPlan } from '../plan.js'
import { expandEnvFlags, mergeEnv, planCapabilities } from '../launch/spec.js'
import type { Store } from '../storage/store.js'

export interface ExecOptions {
  args: string[]
  env: string[]
  user?: string
  workdir?: string
  tty: boolean
  interactive: boolean
  detach: boolean
  /** with -it, attached: the keys that detach (default Ctrl-P Ctrl-Q; empty: none) */
  detachKeys?: number[]
  /** --preserve-fds: skiff's fds 3... that the command gets as its own */
  preserveFds?: number
  /** or these fds of skiff's, at the same numbers (a Slurm rank's PMI_FD) */
  fdTargets?: number[]
  /** --privileged: every capability of the container's user namespace (its seccomp filter stays, as in Docker) */
  privileged?: boolean
}

/** Plan of an exec: the container's process settings with the exec's own changes. Pure. */
export function planExec(rec: ContainerRecord, pid: number, opts: ExecOptions, user: { uid: number; gid: number; additionalGids: number[] }, hostEnv: Record<string, string | undefined>): ExecPlan {
  if (opts.args.length === 0) throw new SkiffError('E_USAGE', 'exec needs a command', { hint: `e.g. skiff exec -it ${rec.name} sh` })
  const base = rec.plan.process
  const env = mergeEnv(base.env, opts.tty && !base.terminal ? ['TERM=xterm'] : [], expandEnvFlags(opts.env, hostEnv))
  return {
    version: 1,
    join: { pid },
    idmap: { denySetgroups: rec.plan.idmap.denySetgroups },
    process: {
      ...base,
      args: opts.args,
      env,
      cwd: opts.workdir || base.cwd,
      uid: user.uid,
      gid: user.gid,
      additionalGids: rec.plan.idmap.denySetgroups ? [] : user.additionalGids,
      // keep-id's host groups, unless exec --user names another user
      ...(base.keepGroups ? { keepGroups: opts.user === undefined } : {}),
      terminal: opts.tty,
      stdin: opts.interactive,
      ...(opts.tty && opts.interactive && !opts.detach ? { detachKeys: opts.detachKeys ?? DEFAULT_DETACH_KEYS } : {}),
      ...(opts.preserveFds ? { preserveFds: opts.preserveFds } : {}),
      ...(opts.fdTargets?.length ? { preserveFds: opts.fdTargets.length, fdTargets: opts.fdTargets } : {}),
      // the container's set (its --cap-add and --cap-drop), as Docker gives exec; or all of them
      capabilities: planCapabilities(user.uid, opts.privileged ? capabilityNumbers(['ALL']) : rec.plan.process.capabilities.bounding),
      init: false,
      builtin: false,
    },
    detach: opts.detach,
  }
}

export async function execInContainer(store: Store, rec: ContainerRecord, opts: ExecOptions): Promise<number> {
  const state = readState(store, rec)
  if (state.status !== 'running' || !state.pid) {
    throw new SkiffError('E_NOT_RUNNING', `container ${rec.name} is not running`, { hint: `start it first: skiff start ${rec.name}` })
  }
  let user = { uid: rec.plan.process.uid, gid: rec.plan.process.gid, additionalGids: rec.plan.process.additionalGids }
  if (opts.user !== undefined) {
    // the container's own files first (its upper layer), then the image's
    const rootfs = rec.plan.rootfs
    const lowers = rootfs?.kind === 'overlay' ? rootfs.lowerdirs.map((d) => join(rootfs.layersDir, d)) : []
    const layers = [join(containerDir(store, rec.id), 'upper'), ...lowers]
    user = resolveUser(opts.user, readImageFile(layers, 'etc/passwd'), readImageFile(layers, 'etc/group'))
  }
  const plan = planExec(rec, state.pid, opts, user, process.env)
  // the container's cgroup, when it has one: the new process is counted and limited with it
  let wrap: string[] | undefined
  try {
    const cg = readFileSync(join(containerDir(store, rec.id), 'cgroup'), 'utf8').trim()
    if (cg && existsSync(cg)) {
      plan.cgroup = cg
      wrap = await execCgroupWrap(cg, rec.id)
    }
  } catch {}
  const stdio = opts.detach
    ? (['ignore', 'ignore', 'ignore'] as const)
    : ([opts.interactive || opts.tty ? 'inherit' : 'ignore', 'inherit', 'inherit'] as const)
  const result = await launch(plan, { stdio: [...stdio], detach: opts.detach, wrap })
  // detached by the keys: it runs on, and exec returns 0 as Docker's does
  return result.detached ? 0 : result.status
}

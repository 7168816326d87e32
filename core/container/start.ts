// skiff start (and the second half of run): a created or stopped container → its command running
// under a supervisor, attached to this terminal or detached. Does I/O (processes, files).
import { existsSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { containerDir, containerEvent, containerFile, readState, type ContainerRecord } from './records.js'
import { EVENTS_FILE } from '../events.js'
import { SkiffError } from '../errors.js'
import { fallbackIdMap, hostIdMap, warnIdMapOnce, type UsernsMode } from '../launch/identity.js'
import { launch, startPrelude, type LaunchResult, type Prelude } from '../launch/launch.js'
import { acquireLock, writeFileAtomic } from '../lock.js'
import type { LaunchPlan } from '../plan.js'
import type { NetworkOptions } from '../net/setup.js'
import type { Store } from '../storage/store.js'
import { cgroupUsesScope, prepareCgroup, removeCgroup } from '../cgroup/limits.js'
import { mark } from '../trace.js'
import { ensurePrivateDir } from '../private-dir.js'
import { isoTime } from '../clock.js'
import { DEFAULT_DETACH_KEYS } from './detach-keys.js'
import { releaseName } from './names.js'

/** The container's lock: start, stop and rm take it, so two of them never interleave. */
export function lockContainer(store: Store, rec: ContainerRecord, timeoutMs = 30_000): () => void {
  return acquireLock(join(containerDir(store, rec.id), 'lock'), timeoutMs, (pid) =>
    new SkiffError('E_CONTAINER_BUSY', `container ${rec.name} is being changed by another skiff command (process ${pid})`, {
      hint: 'wait for that command to finish, then try again',
    }))
}

/** The parts of the network that depend on the moment: another container's pid, free host ports. */
async function prepareNetwork(store: Store, rec: ContainerRecord, plan: LaunchPlan): Promise<void> {
  const mode = rec.network?.mode ?? 'none'
  if (mode.startsWith('container:')) {
    const { findContainer } = await import('./records.js')
    const other = findContainer(store, mode.slice('container:'.length))
    if (other.state.status !== 'running' || !other.state.pid) {
      throw new SkiffError('E_NOT_RUNNING', `--network=${mode}: container ${other.name} is not running`, { hint: `start it first: skiff start ${other.name}` })
    }
    plan.network = { ...plan.network, joinPid: other.state.pid }
    return
  }
  const helper = plan.network?.helper
  if (!helper && mode !== 'bridge') return
  const { checkHostPorts } = await import('../net/setup.js')
  await checkHostPorts(rec.network.ports)
  if (helper?.apiSocket) {
    ensurePrivateDir(dirname(helper.apiSocket), process.getuid!(), 'runtime directory')
    rmSync(helper.apiSocket, { force: true })
  }
}

export interface StartOptions {
  /** leave it running under its supervisor and return once the command runs */
  detach: boolean
  /** a shim started early (run), mapping the user namespace while the container was made */
  prelude?: Prelude
  /** attached with -it: the keys that detach (default Ctrl-P Ctrl-Q; empty: none) */
  detachKeys?: number[]
  /** --preserve-fds: skiff's fds 3... that the command gets as its own */
  preserveFds?: number
  /** called once the command runs (its state.json is written) */
  onStarted?: () => void
  /** attached: the container's stdout and stderr handed here (skiff build), not to ours */
  output?: (chunk: Buffer) => void
}

const outcome = (r: LaunchResult) => (r.detached ? undefined : r.status)

/** The shim's stdin, stdout, stderr: Docker's (without -i, stdin is empty; -t needs the terminal). */
export function shimStdio(detach: boolean, interactive: boolean, tty: boolean): ['inherit' | 'ignore', 'inherit' | 'ignore', 'inherit' | 'ignore'] {
  return detach ? ['ignore', 'ignore', 'ignore'] : [interactive || tty ? 'inherit' : 'ignore', 'inherit', 'inherit']
}

/**
 * For `run`: start the shim now with the id maps, so the user namespace is made and mapped while
 * the container is, with the network namespace the container will have, and with pasta where it
 * can start before the container exists (its network is then configured meanwhile too). Not when
 * the container joins another's namespaces or its shim must start in a systemd scope.
 */
export async function runPrelude(o: { detach: boolean; interactive: boolean; tty: boolean; net?: Pick<NetworkOptions, 'network' | 'publish' | 'publishAll'>; cgroups?: 'enabled' | 'disabled'; preserveFds?: number; userns?: UsernsMode }): Promise<Prelude | undefined> {
  // (with --preserve-fds the shim needs them from its start)
  if (o.net?.network?.startsWith('container:') || o.preserveFds) return undefined
  // on bridge networks the user namespace is made inside the network keeper's, at start
  const { isNetworkName } = await import('../net/network.js')
  if (o.net?.network && isNetworkName(o.net.network)) return undefined
  if (o.cgroups !== 'disabled' && (await cgroupUsesScope())) return undefined
  const idmap = hostIdMap(o.userns).plan
  mark('id maps decided')
  const { earlyNetwork } = await import('../net/setup.js')
  return startPrelude(idmap, earlyNetwork(o.net), shimStdio(o.detach, o.interactive, o.tty))
}

/**
 * Starts the container; attached, resolves to its exit status (128+N after signal N), or to
 * undefined when the user detached (it runs on, as if started detached).
 */
export async function startContainer(store: Store, rec: ContainerRecord, opts: StartOptions): Promise<number | undefined> {
  if (opts.detach && rec.hostConfig.LogDriver === 'passthrough') {
    throw new SkiffError('E_USAGE', `container ${rec.name} has --log-driver passthrough: its output goes to the terminal that starts it`, { hint: `start it attached: skiff start -a ${rec.name}` })
  }
  const dir = containerDir(store, rec.id)
  let release: (() => void) | undefined = lockContainer(store, rec)
  let cgroupPath: string | undefined
  const unlock = () => {
    release?.()
    release = undefined
  }
  try {
    mark('container locked')
    const state = readState(store, rec)
    if (state.status === 'running' || state.status === 'restarting') {
      throw new SkiffError('E_CONTAINER_RUNNING', `container ${rec.name} is already running`, { hint: `skiff stop ${rec.name} first, or skiff exec into it` })
    }
    if (!existsSync(join(dir, 'upper'))) {
      throw new SkiffError('E_CONTAINER_GONE', `container ${rec.name} has no root filesystem any more`, { hint: `remove it with skiff rm ${rec.name}` })
    }
    // the last round's files: a fresh container has none (one readdir, no failed unlink), and
    // not rmSync, which loads its rimraf (~0.7 ms) even for one file
    const present = new Set(readdirSync(dir))
    for (const f of ['state.json', 'exit.json', 'stop-requested', 'cgroup']) if (present.has(f)) unlinkSync(join(dir, f))
    const detach = opts.detach
    // attached with -it, the user may detach later: it then goes on as a detached one, so it
    // has what that needs (a socket to attach to, a log) ready
    const keys = !detach && rec.plan.process.terminal && rec.plan.process.stdin ? (opts.detachKeys ?? DEFAULT_DETACH_KEYS) : []
    const detachable = detach || keys.length > 0
    const plan: LaunchPlan = {
      ...rec.plan,
      process: keys.length || opts.preserveFds ? { ...rec.plan.process, ...(keys.length ? { detachKeys: keys } : {}), ...(opts.preserveFds ? { preserveFds: opts.preserveFds } : {}) } : rec.plan.process,
      supervisor: {
        dir,
        detach,
        log: detachable && rec.hostConfig.LogDriver !== 'none' ? { path: join(dir, 'ctr.log'), maxBytes: rec.hostConfig.LogMaxBytes } : undefined,
        restart: detach ? { policy: rec.hostConfig.RestartPolicy.Name, maxRetries: rec.hostConfig.RestartPolicy.MaximumRetryCount } : undefined,
        attachSocket: detachable ? rec.attachSocket : undefined,
        // the shim journals "start" (the waiter, once the command runs) and "die" (the supervisor)
        events: { path: join(store.root, EVENTS_FILE), id: rec.id, name: rec.name, image: rec.image, ...(rec.config.Labels && Object.keys(rec.config.Labels).length ? { labels: rec.config.Labels } : {}) },
      },
    }
    // a container made before the FUSE mounts were a list of the plan's (skiff < 0.2)
    if (plan.rootfs?.kind === 'fuse-overlayfs' && !plan.rootfs.fuse) {
      const { fuseOverlayfsMount } = await import('../storage/driver.js')
      plan.rootfs = { ...plan.rootfs, fuse: [fuseOverlayfsMount(plan.rootfs)] }
    }
    await prepareNetwork(store, rec, plan)
    mark('network prepared')
    const cg = await prepareCgroup(rec.id, rec.hostConfig.Limits ?? { conf: {} }, rec.hostConfig.Cgroups ?? 'enabled')
    mark('cgroup prepared')
    if (cg.warning) process.stderr.write(`skiff: warning: ${cg.warning}\n`)
    if (cg.path || cg.scope) {
      // in a scope, the shim makes the cgroup and writes where it is
      cgroupPath = cg.path
      plan.cgroup = cg.path ? { path: cg.path } : { scope: cg.scope }
      if (cg.path) writeFileSync(containerFile(store, rec.id, 'cgroup'), cg.path)
      // its own cgroup tree, read-only, where sysfs is the container's own
      const at = plan.mounts.findIndex((m) => m.kind === 'mount' && m.fstype === 'sysfs')
      if (at >= 0) plan.mounts.splice(at + 1, 0, { kind: 'mount', source: 'cgroup2', target: '/sys/fs/cgroup', fstype: 'cgroup2', flags: ['ro', 'nosuid', 'noexec', 'nodev'], optional: true })
    }
    // made at create; checked again, as /tmp may have been emptied (and its name taken) since
    if (detachable && rec.attachSocket) ensurePrivateDir(dirname(rec.attachSocket), process.getuid!(), 'runtime directory')
    const decision = hostIdMap(rec.hostConfig.UsernsMode)
    plan.idmap = decision.plan
    warnIdMapOnce(decision)
    // on bridge networks: addresses held (by us until the shim exists), the plan completed
    let onSpawn: ((shimPid: number) => void) | undefined
    if (rec.network?.mode === 'bridge') {
      const { prepareBridge } = await import('./networks.js')
      onSpawn = await prepareBridge(store, rec, plan)
      mark('bridge networks prepared')
    }
    // Without -i the container's stdin is empty, as in Docker; with -t the shim still needs the
    // terminal on fd 0 for its size and raw mode (it reads from it only with -i).
    const stdio = opts.output ? (['ignore', 'pipe', 'pipe'] as const) : shimStdio(detach, !!plan.process.stdin, !!plan.process.terminal)
    const output = opts.output
    const streams = output ? { onStdout: (s: NodeJS.ReadableStream) => void s.on('data', output), onStderr: (s: NodeJS.ReadableStream) => void s.on('data', output) } : {}
    mark('start planned')
    // once the command runs, the lock goes (the shim's waiter journals the start)
    const onStart = () => unlock()
    const go = async (p: LaunchPlan) => {
      const early = opts.prelude && !opts.prelude.used
      try {
        return await launch(p, { stdio: [...stdio], detach, onStart, onCommand: opts.onStarted, onSpawn, wrap: cg.wrap, prelude: opts.prelude, ...streams })
      } catch (err) {
        // a prelude's shim that died without a word (it was gone before the plan could be
        // written): nothing of the container ran, so start it the ordinary way
        if (early && (err as SkiffError).code === 'E_SHIM_DIED') return launch(p, { stdio: [...stdio], detach, onStart, onCommand: opts.onStarted, onSpawn, wrap: cg.wrap, ...streams })
        throw err
      }
    }
    try {
      try {
        return outcome(await go(plan))
      } catch (err) {
        // A helper that cannot work here: run with the mapping that needs none, and say why.
        // (not on bridge networks: their id maps need no helper)
        if ((err as SkiffError).code !== 'E_IDMAP_HELPER' || onSpawn) throw err
        const fallback = fallbackIdMap((err as SkiffError).message, rec.hostConfig.UsernsMode)
        warnIdMapOnce(fallback)
        plan.idmap = fallback.plan
        plan.process = { ...plan.process, additionalGids: [] }
        // only the user's own gid is mapped now: devpts cannot be given gid 5 (tty)
        plan.mounts = plan.mounts.map((m) => (m.kind === 'mount' && m.fstype === 'devpts' && m.data ? { ...m, data: m.data.split(',').filter((o) => o !== 'gid=5').join(',') } : m))
        return outcome(await go(plan))
      }
    } catch (err) {
      removeCgroup(cgroupPath)
      // The command never ran: the container is exited with the reason, as Docker shows it.
      rmSync(containerFile(store, rec.id, 'state.json'), { force: true })
      if (existsSync(dir)) {
        writeFileAtomic(containerFile(store, rec.id, 'exit.json'), JSON.stringify({
          round: 0,
          status: (err as SkiffError).exitCode ?? 125,
          finishedAt: isoTime(),
          error: (err as Error).message,
        }))
      }
      throw err
    }
  } finally {
    unlock()
    opts.prelude?.cancel()
  }
}

/**
 * After an attached --rm run: the shim's waiter removed the directory as root of the user
 * namespace; this catches a failure before it could, releases the name and journals the end.
 */
export function forgetRemoved(store: Store, rec: ContainerRecord): void {
  // (asked first: a recursive rmSync loads its rimraf, ~0.7 ms, even for nothing)
  const dir = containerDir(store, rec.id)
  try {
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true })
  } catch {}
  releaseName(store, rec.name, rec.id)
  containerEvent(store, rec, 'destroy')
}

// One container per node per Slurm job step, shared by the step's ranks on that node (as Pyxis
// and `ch-run --join` do): MPI ranks then share /dev/shm, the pid view and the user namespace,
// so that shared-memory transports (UCX's /proc/PID/fd, CMA) work between them. Does I/O.
//
//   the first rank to come (under the step's lock) creates the container, whose pid 1 only holds
//     its namespaces (the shim's "pause"), and stays its supervisor's parent: every process of
//     the container is in that rank's process tree, so Slurm's signals and kills reach them all
//   every rank, the first too, runs the command with exec, with its own environment (SLURM_*,
//     PMI_*), working directory and PMI_FD at the same number
//   each rank holds a shared flock on the step's ref file while it runs; the first, after its own
//     command, waits for the exclusive one (the last rank has left), then stops and removes the
//     container. A rank arriving meanwhile joins (the container still runs) or, once it is gone,
//     starts the next one.
// A step killed outright (SIGKILL) takes the container with it (parent-death signals); its record
// is swept by the next step run on the node (an exited slurm-* container nobody holds).
import { appendFileSync, closeSync, constants, mkdirSync, openSync, readdirSync, rmSync, statSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { SkiffError } from '../errors.js'
import { acquireLock } from '../lock.js'
import { nativeAddon } from '../native.js'
import { openStore, type Store } from '../storage/store.js'
import { resolvePaths } from '../paths.js'
import { passedHostEnv } from '../launch/profile.js'
import { createContainer, type CreateOptions } from './create.js'
import { execInContainer } from './exec.js'
import { startContainer, forgetRemoved } from './start.js'
import { stopContainer, removeContainers } from './stop.js'
import { getContainer, nameTarget, readState, type ContainerRecord } from './records.js'

export interface SlurmStep {
  job: string
  step: string
  node: string
}

/** The job step this process is a task of, from Slurm's variables; undefined outside one. */
export function slurmStep(env: Record<string, string | undefined>): SlurmStep | undefined {
  const { SLURM_JOB_ID: job, SLURM_STEP_ID: step } = env
  if (!job || !step || !/^\d+$/.test(job) || !/^\d+$/.test(step)) return undefined
  const node = (env.SLURMD_NODENAME || hostname()).replace(/[^a-zA-Z0-9_.-]/g, '_')
  return { job, step, node }
}

/** The step container's name: per job step and node (a store on a shared filesystem serves many nodes). */
export function stepName(s: SlurmStep): string {
  return `slurm-${s.job}.${s.step}-${s.node}`
}

/** The signals Slurm (scancel, a time limit) and a user's Ctrl-C end a task with. */
const ENDING = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A file to flock for the step's ranks: shared while a rank runs, exclusive to end the container. */
function openRef(path: string): number {
  return openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600)
}

/**
 * How many tasks of the step run on this node: SLURM_STEP_TASKS_PER_NODE ("2", "2(x3),1") at
 * SLURM_NODEID; undefined when Slurm does not say.
 */
export function localTasks(env: Record<string, string | undefined>): number | undefined {
  const spec = env.SLURM_STEP_TASKS_PER_NODE ?? env.SLURM_TASKS_PER_NODE
  const node = Number(env.SLURM_NODEID ?? 0)
  if (!spec || !Number.isInteger(node)) return undefined
  const counts: number[] = []
  for (const part of spec.split(',')) {
    const m = /^(\d+)(?:\(x(\d+)\))?$/.exec(part.trim())
    if (!m) return undefined
    for (let i = 0; i < Number(m[2] ?? 1); i++) counts.push(Number(m[1]))
  }
  return counts[node]
}

/** How long the first rank waits for the node's other ranks to come, once its own command ended. */
const ARRIVAL_GRACE_MS = 10_000

/** PMI_FD and the like: fds Slurm gave this task that the command must have at the same number. */
export function launchFds(env: Record<string, string | undefined>): number[] {
  const fds = new Set<number>()
  for (const key of ['PMI_FD', 'PMIX_FD', 'SLURM_PMI_FD']) {
    const n = Number(env[key])
    if (Number.isInteger(n) && n >= 3) fds.add(n)
  }
  return [...fds].sort((a, b) => a - b)
}

/** Exited step containers nobody holds (a step killed with SIGKILL): removed. */
async function sweep(store: Store, dir: string, current: string): Promise<void> {
  let names: string[]
  try {
    names = readdirSync(join(store.root, 'names')).filter((n) => n.startsWith('slurm-') && n !== current)
  } catch {
    return
  }
  const addon = nativeAddon()!
  for (const name of names) {
    const id = nameTarget(store, name)
    const c = id ? getContainer(store, id) : undefined
    if (!c || readState(store, c).status === 'running') continue
    const ref = openRef(join(dir, `${name}.ref`))
    try {
      if (addon.flock(ref, true) !== 0) continue
      await removeContainers(store, [c], true).catch(() => undefined)
      rmSync(join(dir, `${name}.arrived`), { force: true })
      rmSync(join(dir, `${name}.ref`), { force: true })
    } finally {
      closeSync(ref)
    }
  }
}

/**
 * `skiff run` as one rank of a Slurm job step: join the step's container on this node (making it
 * when this rank is the first), run the command there, leave; the exit status of the command.
 */
export async function runInStep(opts: CreateOptions, step: SlurmStep): Promise<number> {
  const addon = nativeAddon()
  if (!addon) throw new SkiffError('E_LOCK', 'the Slurm step container needs skiff\'s native addon, which did not load', { hint: 'SKIFF_TRACE=1 says why' })
  const store = await openStore(resolvePaths())
  const dir = join(store.root, 'slurm')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const name = stepName(step)
  const refPath = join(dir, `${name}.ref`)
  // Slurm sends SIGTERM to every task at scancel or a time limit: the first rank must still end
  // the container, so the signal only ends the command (exec passes it on) and this waits
  let signalled = false
  const onSignal = () => void (signalled = true)
  for (const sig of ENDING) process.on(sig, onSignal)

  let ref = -1
  let owner: { rec: ContainerRecord; done: Promise<number | undefined> } | undefined
  let rec: ContainerRecord | undefined
  for (;;) {
    const unlock = acquireLock(join(dir, `${name}.lock`), 600_000)
    try {
      ref = openRef(refPath)
      if (addon.flock(ref, false) !== 0) {
        // the first rank is ending the container: once it is gone, this rank starts the next
        closeSync(ref)
        ref = -1
      } else {
        // one byte per rank that came (the first rank waits for them all: endContainer)
        appendFileSync(join(dir, `${name}.arrived`), '.', { mode: 0o600 })
        await sweep(store, dir, name)
        const id = nameTarget(store, name)
        const found = id ? getContainer(store, id) : undefined
        if (found && readState(store, found).status === 'running') rec = found
        else {
          if (found) await removeContainers(store, [found], true)
          const created = await createContainer({ ...opts, name, rm: true, holder: true, interactive: false, tty: false })
          rec = created.record
          let started!: () => void
          const running = new Promise<void>((r) => (started = r))
          const done = startContainer(store, rec, { detach: false, onStarted: () => started() })
          // a start that fails rejects `done` before `running` resolves
          await Promise.race([running, done])
          owner = { rec, done }
        }
      }
    } finally {
      unlock()
    }
    if (rec) break
    await sleep(50)
  }

  try {
    const args = [...(rec.config.Entrypoint ?? []), ...(rec.config.Cmd ?? [])]
    // this rank's own environment over the first rank's (its SLURM_PROCID, PMI_RANK, ...)
    const env = [...(opts.envHost ? passedHostEnv(process.env) : []), ...opts.env]
    const fds = launchFds(process.env)
    return await execInContainer(store, rec, {
      args, env, workdir: opts.workdir, tty: opts.tty, interactive: opts.interactive, detach: false,
      ...(fds.length ? { fdTargets: fds } : {}),
    })
  } finally {
    if (owner) await endContainer(store, dir, name, ref, owner, () => signalled)
    else closeSync(ref)
    for (const sig of ENDING) process.off(sig, onSignal)
  }
}

/**
 * The first rank, after its own command: once every rank of the node has come (or none came for
 * ARRIVAL_GRACE_MS, or Slurm is ending the step) and the step's shared lock can be made exclusive
 * (the last rank has left; a failed conversion drops ours, so ranks still arriving join the
 * running container meanwhile), stop the container and forget it.
 */
async function endContainer(store: Store, dir: string, name: string, ref: number, owner: { rec: ContainerRecord; done: Promise<number | undefined> }, signalled: () => boolean): Promise<void> {
  const addon = nativeAddon()!
  const expected = localTasks(process.env) ?? 1
  const arrivals = join(dir, `${name}.arrived`)
  const arrived = () => statSync(arrivals, { throwIfNoEntry: false })?.size ?? 0
  const deadline = Date.now() + ARRIVAL_GRACE_MS
  for (;;) {
    const all = arrived() >= expected || signalled() || Date.now() > deadline
    if (all && addon.flock(ref, true) === 0) break
    await sleep(50)
  }
  const unlock = acquireLock(join(dir, `${name}.lock`), 600_000)
  try {
    if (readState(store, owner.rec).status === 'running') await stopContainer(store, owner.rec, 5)
    await owner.done.catch(() => undefined)
    forgetRemoved(store, owner.rec)
    // (ranks open these only under the step's lock, which is held here)
    rmSync(arrivals, { force: true })
    rmSync(join(dir, `${name}.ref`), { force: true })
  } finally {
    closeSync(ref)
    unlock()
  }
}

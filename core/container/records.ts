// Container records and their live state, read from the files the supervisor writes. Does I/O.
//
// containers/<id>/ holds:
//   container.json   the record skiff writes at create (what to run, how, for whom): never
//                    changed by a start, so a crash cannot leave it half-updated
//   state.json       written by the shim when the command started (supervisor pid + its start
//                    time, the container's pid 1, the start time, the round)
//   exit.json        written by the supervisor when the command ended (status, time, round)
//   stop-requested   left by `stop`/`kill`: the restart policy does not apply
//   ctr.log[.1]      the output of a detached container
//   lock             held while a command changes the container (start, stop, rm)
// The status is derived, never stored: "running" only while the supervisor process lives (same
// pid and start time), so kill -9 of anything leaves `ps` truthful.
import { makeEvent, recordEvent } from '../events.js'
import { existsSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { SkiffError } from '../errors.js'
import { processStartTime, writeFileAtomic } from '../lock.js'
import type { LaunchPlan } from '../plan.js'
import type { NetworkSettings } from '../net/setup.js'
import type { MountInfo } from './mounts.js'
import type { Limits } from '../cgroup/limits.js'
import type { Store } from '../storage/store.js'
import { compareText } from '../clock.js'

export interface ContainerRecord {
  id: string
  name: string
  /** the image as the user named it, and its id */
  image: string
  imageId: string
  created: string
  /** what the shim is given at every start (the supervisor section is added then) */
  plan: LaunchPlan
  /** Docker's Config, for inspect and exec (Env, Cmd, Entrypoint, WorkingDir, User, Tty, ...) */
  config: {
    Hostname: string
    User: string
    Env: string[]
    Cmd: string[]
    Entrypoint: string[] | null
    WorkingDir: string
    Tty: boolean
    OpenStdin: boolean
    Image: string
    Labels: Record<string, string>
    StopSignal: string
  }
  hostConfig: {
    AutoRemove: boolean
    RestartPolicy: { Name: 'no' | 'on-failure' | 'always' | 'unless-stopped'; MaximumRetryCount: number }
    Init: boolean
    ReadonlyRootfs: boolean
    LogMaxBytes: number
    /** --log-driver when not k8s-file (ctr.log) */
    LogDriver?: 'none' | 'passthrough'
    StopTimeout: number
    /** --cgroups, and the limits asked for (records of earlier versions have neither) */
    Cgroups?: 'enabled' | 'disabled'
    Limits?: Limits
    /** --cap-add, --cap-drop, --security-opt as given (records of earlier versions have none) */
    CapAdd?: string[]
    CapDrop?: string[]
    SecurityOpt?: string[]
    GroupAdd?: string[]
    /** --userns=keep-id (absent: host) */
    UsernsMode?: 'keep-id'
    PidMode?: 'host'
    UTSMode?: 'host'
    WritableTmpfs?: boolean
    /** the profile whose defaults the flags got, and why it applied */
    Profile?: { name: string; reason: string }
    Privileged?: boolean
  }
  mounts: MountInfo[]
  /** driver that made the root filesystem */
  driver: string
  /** where a detached container with a terminal serves `skiff attach` */
  attachSocket?: string
  network: NetworkSettings
}

export interface SupervisorState {
  supervisorPid: number
  supervisorStart: string
  initPid: number
  startedAt: string
  round: number
}

export interface ExitState {
  round: number
  status: number
  finishedAt: string
  restarts?: number
  /** set when the start itself failed (written by skiff, not the supervisor) */
  error?: string
  /** the kernel killed a process of it for memory (its cgroup's memory.events) */
  oomKilled?: boolean
}

export type Status = 'created' | 'running' | 'restarting' | 'exited'

export interface ContainerState {
  status: Status
  /** the container's pid 1 (host pid) while running */
  pid?: number
  supervisorPid?: number
  exitCode?: number
  startedAt?: string
  finishedAt?: string
  restarts: number
  error?: string
  oomKilled?: boolean
  /** running, but its cgroup is frozen (skiff pause) */
  paused?: boolean
}

export interface Container extends ContainerRecord {
  state: ContainerState
}

/** Running or between restarts: what `ps` shows without -a, and what `rm` refuses without -f. */
export function isUp(s: Pick<ContainerState, 'status'>): boolean {
  return s.status === 'running' || s.status === 'restarting'
}

export function containerDir(store: Store, id: string): string {
  return join(store.root, 'containers', id)
}

export function containerFile(store: Store, id: string, name: string): string {
  return join(containerDir(store, id), name)
}

/** A record as container.json holds it: without the live state that readers add. */
export function stripState(rec: ContainerRecord): ContainerRecord {
  const { state: _state, ...record } = rec as ContainerRecord & { state?: unknown }
  return record
}

export function writeRecord(store: Store, rec: ContainerRecord): void {
  writeFileAtomic(containerFile(store, rec.id, 'container.json'), JSON.stringify(rec))
}

function readJson<T>(path: string): T | undefined {
  // a missing file is common (a created container has no state.json or exit.json): asked first,
  // as an exception per missing file cost ps -a ~25 ms for 1,000 containers
  if (!statSync(path, { throwIfNoEntry: false })) return undefined
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T
  } catch {
    return undefined
  }
}

/**
 * The status from the files, given whether the supervisor lives. Pure.
 *   no state.json                          → created (or exited, when a start failed)
 *   supervisor alive, exit of an older round → running
 *   supervisor alive, exit of this round   → restarting (waiting to start again)
 *   supervisor gone                        → exited (code from exit.json when it wrote one)
 */
export function deriveState(state: SupervisorState | undefined, exit: ExitState | undefined, supervisorAlive: boolean): ContainerState {
  if (!state) {
    if (!exit) return { status: 'created', restarts: 0 }
    return { status: 'exited', exitCode: exit.status, finishedAt: exit.finishedAt, restarts: exit.restarts ?? 0, error: exit.error }
  }
  const base = { startedAt: state.startedAt, restarts: Math.max(0, state.round - 1) }
  if (supervisorAlive) {
    if (exit && exit.round >= state.round) {
      return { ...base, status: 'restarting', supervisorPid: state.supervisorPid, exitCode: exit.status, finishedAt: exit.finishedAt }
    }
    return { ...base, status: 'running', pid: state.initPid, supervisorPid: state.supervisorPid }
  }
  if (exit && exit.round >= state.round) return { ...base, status: 'exited', exitCode: exit.status, finishedAt: exit.finishedAt, error: exit.error, ...(exit.oomKilled ? { oomKilled: true } : {}) }
  // The supervisor was killed (its container went with it: every process of the container dies
  // with its parent). Nobody saw the status.
  return { ...base, status: 'exited', exitCode: 137, error: 'the supervisor was killed; the exit status is unknown' }
}

export function readState(store: Store, rec: ContainerRecord): ContainerState {
  const state = readJson<SupervisorState>(containerFile(store, rec.id, 'state.json'))
  const exit = readJson<ExitState>(containerFile(store, rec.id, 'exit.json'))
  const alive = !!state && processStartTime(state.supervisorPid) === state.supervisorStart
  const derived = deriveState(state, exit, alive)
  if (derived.status === 'running') {
    try {
      const cg = readFileSync(containerFile(store, rec.id, 'cgroup'), 'utf8').trim()
      if (/^frozen 1$/m.test(readFileSync(`${cg}/cgroup.events`, 'utf8'))) derived.paused = true
    } catch {}
  }
  return derived
}

function readRecord(store: Store, id: string): ContainerRecord | undefined {
  const rec = readJson<ContainerRecord>(containerFile(store, id, 'container.json'))
  // records of skiff 0.1 (foreground runs only) have no plan: not containers any command can use
  return rec && rec.plan ? rec : undefined
}

export function getContainer(store: Store, id: string): Container | undefined {
  const rec = readRecord(store, id)
  return rec ? { ...rec, state: readState(store, rec) } : undefined
}

export function listContainers(store: Store): Container[] {
  const out: Container[] = []
  for (const id of readdirSync(join(store.root, 'containers'))) {
    const c = getContainer(store, id)
    // a --rm container being set up or torn down has no record: not listed
    if (c) out.push(c)
  }
  return out.sort((a, b) => compareText(b.created, a.created))
}

/** A container by name, full id or unique id prefix (as Docker resolves them). */
export function findContainer(store: Store, ref: string): Container {
  const named = nameTarget(store, ref)
  if (named) {
    const c = getContainer(store, named)
    if (c) return c
  }
  if (/^[0-9a-f]{1,64}$/.test(ref)) {
    const ids = readdirSync(join(store.root, 'containers')).filter((id) => id.startsWith(ref))
    const found = ids.map((id) => getContainer(store, id)).filter((c): c is Container => !!c)
    if (found.length === 1) return found[0]!
    if (found.length > 1) {
      throw new SkiffError('E_AMBIGUOUS_ID', `container id prefix ${ref} matches ${found.length} containers`, { hint: 'give more characters of the id, or the name' })
    }
  }
  throw new SkiffError('E_NO_CONTAINER', `No such container: ${ref}`, { hint: '`skiff ps -a` lists containers with their names and ids' })
}

/** The id a name points to (names/<name> is a symlink to the id), if any. */
export function nameTarget(store: Store, name: string): string | undefined {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) return undefined
  try {
    return readlinkSync(join(store.root, 'names', name))
  } catch {
    return undefined
  }
}

export function hasRecord(store: Store, id: string): boolean {
  return existsSync(containerFile(store, id, 'container.json'))
}

/** "Up 3 minutes", "Exited (0) 2 seconds ago", "Created", "Restarting (1) 1 second ago" */
export function describeStatus(s: ContainerState, ago: (iso?: string) => string): string {
  switch (s.status) {
    case 'created':
      return 'Created'
    case 'running':
      return `Up ${ago(s.startedAt).replace(/ ago$/, '')}${s.paused ? ' (Paused)' : ''}`
    case 'restarting':
      return `Restarting (${s.exitCode})${s.finishedAt ? ` ${ago(s.finishedAt)}` : ''}`
    case 'exited':
      return `Exited (${s.exitCode ?? '?'})${s.finishedAt ? ` ${ago(s.finishedAt)}` : ''}`
  }
}

/** Record a container event in the store's journal (core/events.ts): Docker's attributes, labels too. */
export function containerEvent(store: Store, rec: Pick<ContainerRecord, 'id' | 'name' | 'image' | 'config'>, action: string, extra: Record<string, string> = {}): void {
  recordEvent(store.root, makeEvent('container', action, rec.id, { ...(rec.config?.Labels ?? {}), image: rec.image, name: rec.name, ...extra }))
}

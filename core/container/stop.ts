// stop, kill, wait and rm of containers, through their supervisors. Does I/O (signals, files).
//
// Signals go to the supervisor (the shim's outer process), which passes them to the container's
// pid 1 from inside its user namespace. SIGKILL cannot be passed on, so skiff sends SIGRTMAX (64)
// instead, which the shim turns into SIGKILL of pid 1: the pid namespace, and every process in it,
// goes with it.
import { constants } from 'node:os'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { removeCgroup } from '../cgroup/limits.js'
import { killCgroup } from './cgroup.js'
import { containerDir, containerEvent, containerFile, isUp, listContainers, readState, type Container, type ContainerRecord, type ContainerState } from './records.js'
import { SkiffError } from '../errors.js'
import { releaseName } from './names.js'
import { removeTrees } from '../storage/remove-trees.js'
import { lockContainer } from './start.js'
import { sweepStaleCreates } from './create.js'
import type { Store } from '../storage/store.js'

/** The signal the shim turns into SIGKILL of the container (see shims/README.md). */
export const SIG_KILL_CONTAINER = 64

/** "TERM", "SIGTERM", "15" → 15; an error names the signal it does not know. */
export function parseSignal(text: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text)
    if (n >= 1 && n <= 64) return n
  } else {
    const name = text.toUpperCase().startsWith('SIG') ? text.toUpperCase() : `SIG${text.toUpperCase()}`
    const n = (constants.signals as Record<string, number>)[name]
    if (n !== undefined) return n
  }
  throw new SkiffError('E_USAGE', `unknown signal ${JSON.stringify(text)}`, { hint: 'use a name like TERM, SIGHUP or KILL, or a number (see kill -l)' })
}


function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** Send `signal` to the container's pid 1 (through its supervisor). */
export function signalContainer(store: Store, rec: ContainerRecord, signal: number): ContainerState {
  const state = readState(store, rec)
  if (!isUp(state) || !state.supervisorPid) {
    throw new SkiffError('E_NOT_RUNNING', `container ${rec.name} is not running`, { hint: `skiff start ${rec.name} to start it` })
  }
  // Terminating it by hand means the restart policy is off until the next start.
  if ([constants.signals.SIGKILL, constants.signals.SIGTERM, constants.signals.SIGINT, constants.signals.SIGQUIT].includes(signal)) {
    markStopped(store, rec)
  }
  // SIGKILL: every process of its cgroup at once, frozen or not, whatever namespace it is in
  if (signal === constants.signals.SIGKILL) killCgroup(store, rec)
  else if (state.paused) process.stderr.write(`skiff: warning: container ${rec.name} is paused: the signal waits until skiff unpause\n`)
  try {
    process.kill(state.supervisorPid, signal === constants.signals.SIGKILL ? SIG_KILL_CONTAINER : signal)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err
  }
  containerEvent(store, rec, 'kill', { signal: String(signal) })
  return state
}

function markStopped(store: Store, rec: ContainerRecord): void {
  try {
    writeFileSync(containerFile(store, rec.id, 'stop-requested'), '')
  } catch {}
}

/** Resolves with the state once the container is no longer up, or undefined after `timeoutMs`. */
export async function waitStopped(store: Store, rec: ContainerRecord, timeoutMs = Infinity): Promise<ContainerState | undefined> {
  const deadline = Date.now() + timeoutMs
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    const state = readState(store, rec)
    if (!isUp(state)) return state
    if (Date.now() >= deadline) return undefined
    await sleep(Math.min(delay, Math.max(1, deadline - Date.now())))
  }
}

/** Docker's stop: the stop signal, then SIGKILL after `timeoutSec`. A stopped container is left as it is. */
export async function stopContainer(store: Store, rec: ContainerRecord, timeoutSec: number): Promise<void> {
  markStopped(store, rec)
  let state = readState(store, rec)
  if (!isUp(state)) return
  try {
    signalContainer(store, rec, parseSignal(rec.config.StopSignal || 'SIGTERM'))
  } catch (err) {
    if ((err as SkiffError).code !== 'E_NOT_RUNNING') throw err
    return
  }
  if (await waitStopped(store, rec, timeoutSec * 1000)) return containerEvent(store, rec, 'stop')
  try {
    signalContainer(store, rec, constants.signals.SIGKILL)
  } catch (err) {
    if ((err as SkiffError).code !== 'E_NOT_RUNNING') throw err
    return containerEvent(store, rec, 'stop')
  }
  if (!(await waitStopped(store, rec, 10_000))) {
    state = readState(store, rec)
    throw new SkiffError('E_STOP', `container ${rec.name} did not stop after SIGKILL (supervisor ${state.supervisorPid})`, {
      hint: `kill the supervisor process: kill -9 ${state.supervisorPid}`,
    })
  }
  containerEvent(store, rec, 'stop')
}

/** The containers of `all` that share `c`'s network namespace (--network container:C). */
export function dependents(all: Container[], c: Container): Container[] {
  return all.filter((o) => {
    const mode = o.network?.mode ?? ''
    if (o.id === c.id || !mode.startsWith('container:')) return false
    const ref = mode.slice('container:'.length)
    return ref === c.name || ref === c.id || (ref.length >= 3 && c.id.startsWith(ref))
  })
}

/** Docker's rm [-f]: a running container is refused, or killed first with force. */
export async function removeContainers(store: Store, containers: Container[], force: boolean, runJobs?: (jobs: unknown[]) => Promise<unknown>): Promise<string[]> {
  if (!force) {
    // another container in this one's network namespace (--network container:X) would lose its
    // network with it: podman refuses too, unless forced
    const going = new Set(containers.map((c) => c.id))
    const others = listContainers(store).filter((o) => !going.has(o.id))
    for (const c of containers) {
      const users = dependents(others, c)
      if (users.length) {
        throw new SkiffError('E_CONTAINER_DEPENDED', `container ${c.name} has dependents: ${users.map((u) => u.name).join(', ')} ${users.length > 1 ? 'use' : 'uses'} its network (--network container:${c.name})`, {
          hint: `remove ${users.map((u) => u.name).join(' ')} first, or skiff rm -f ${c.name} to remove it all the same`,
        })
      }
    }
  }
  const removed: string[] = []
  const dirs: string[] = []
  const releases: (() => void)[] = []
  try {
    for (const c of containers) {
      releases.push(lockContainer(store, c))
      const state = readState(store, c)
      if (isUp(state)) {
        if (!force) {
          throw new SkiffError('E_CONTAINER_RUNNING', `container ${c.name} is running: stop it before removing it`, {
            hint: `skiff stop ${c.name}, or skiff rm -f ${c.name} to kill and remove it`,
          })
        }
        markStopped(store, c)
        try {
          signalContainer(store, c, constants.signals.SIGKILL)
        } catch {}
        if (!(await waitStopped(store, c, 10_000))) {
          throw new SkiffError('E_STOP', `container ${c.name} did not stop after SIGKILL (supervisor ${state.supervisorPid})`, {
            hint: `kill the supervisor process: kill -9 ${state.supervisorPid}`,
          })
        }
      }
      // a cgroup left by a supervisor that was killed
      try {
        removeCgroup(readFileSync(join(containerDir(store, c.id), 'cgroup'), 'utf8').trim())
      } catch {}
      dirs.push(containerDir(store, c.id))
      removed.push(c.id)
      containerEvent(store, c, 'destroy')
    }
    // Everything inside belongs to mapped ids: removed inside the user namespace, after a rename
    // that makes each container disappear at once.
    await removeTrees(store, dirs, 'rm', runJobs)
    sweepStaleCreates(store)
    for (const c of containers) releaseName(store, c.name, c.id)
  } finally {
    // the lock files went with their directories; release is a no-op then
    for (const r of releases) r()
  }
  return removed
}

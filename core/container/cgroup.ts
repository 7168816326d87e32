// What a container's cgroup gives: pause/unpause (cgroup.freeze), update (new limits), stats,
// and a kill that no process escapes (cgroup.kill). Does I/O.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { limitFiles, type Limits } from '../cgroup/limits.js'
import { containerDir, containerEvent, readState, writeRecord, type ContainerRecord } from './records.js'
import { SkiffError } from '../errors.js'
import type { Store } from '../storage/store.js'

/** The container's cgroup directory, while it has one. */
export function cgroupOf(store: Store, rec: ContainerRecord): string | undefined {
  try {
    const path = readFileSync(join(containerDir(store, rec.id), 'cgroup'), 'utf8').trim()
    return path && existsSync(path) ? path : undefined
  } catch {
    return undefined
  }
}

function needCgroup(store: Store, rec: ContainerRecord, what: string): string {
  const state = readState(store, rec)
  if (state.status !== 'running') throw new SkiffError('E_NOT_RUNNING', `container ${rec.name} is not running`, { hint: `skiff start ${rec.name}` })
  const cg = cgroupOf(store, rec)
  if (!cg) {
    throw new SkiffError('E_NO_CGROUP', `container ${rec.name} has no cgroup, so it cannot be ${what}`, {
      hint: 'containers get one where a cgroup v2 subtree is delegated to you: `skiff info` shows what this host lacks',
    })
  }
  return cg
}

/** "frozen 1" in cgroup.events. */
export function isFrozen(cg: string): boolean {
  try {
    return /^frozen 1$/m.test(readFileSync(join(cg, 'cgroup.events'), 'utf8'))
  } catch {
    return false
  }
}

/** Freeze or thaw the cgroup `cg`, and wait (up to 2 s) until the kernel says it is so. */
export async function freezeCgroup(cg: string, on: boolean): Promise<void> {
  writeFileSync(join(cg, 'cgroup.freeze'), on ? '1' : '0')
  for (let i = 0; i < 200 && isFrozen(cg) !== on; i++) await new Promise((r) => setTimeout(r, 10))
}

export async function pauseContainer(store: Store, rec: ContainerRecord): Promise<void> {
  await freezeCgroup(needCgroup(store, rec, 'paused'), true)
  containerEvent(store, rec, 'pause')
}

export async function unpauseContainer(store: Store, rec: ContainerRecord): Promise<void> {
  await freezeCgroup(needCgroup(store, rec, 'unpaused'), false)
  containerEvent(store, rec, 'unpause')
}

/** Thaw (signals wait while frozen) and kill every process of the cgroup at once. */
export function killCgroup(store: Store, rec: ContainerRecord): void {
  const cg = cgroupOf(store, rec)
  if (cg) killCgroupProcesses(cg)
}

/** SIGKILL to every process of the cgroup `cg` at once (cgroup.kill), thawed so that it lands. */
export function killCgroupProcesses(cg: string): void {
  try {
    writeFileSync(join(cg, 'cgroup.kill'), '1')
    writeFileSync(join(cg, 'cgroup.freeze'), '0')
  } catch {}
}

/** New limits for a running container, kept in its record for the next start. */
export function updateContainer(store: Store, rec: ContainerRecord, changes: Limits): void {
  const cg = needCgroup(store, rec, 'updated')
  const merged: Limits = { ...(rec.hostConfig.Limits ?? { conf: {} }), ...Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)) }
  merged.conf = { ...(rec.hostConfig.Limits?.conf ?? {}), ...changes.conf }
  const files = limitFiles({ ...changes, memory: changes.memory ?? (changes.memorySwap !== undefined ? merged.memory : undefined) })
  for (const [k, v] of Object.entries(files)) {
    try {
      writeFileSync(join(cg, k), v)
    } catch (err) {
      throw new SkiffError('E_CGROUP', `cannot set ${k}=${v} for ${rec.name}: ${(err as Error).message}`, { hint: 'check the value; a controller the container\'s cgroup lacks cannot be set' })
    }
  }
  writeRecord(store, { ...rec, hostConfig: { ...rec.hostConfig, Limits: merged } })
}

export interface Stats {
  cpuUsec: number
  memory: number
  memoryLimit: number | 'max'
  pids: number
  ioRead: number
  ioWrite: number
}

const num = (text: string | undefined) => (text === undefined ? 0 : Number(text) || 0)

/** One reading of the cgroup's counters. */
export function readStats(cg: string): Stats {
  const read = (f: string) => {
    try {
      return readFileSync(join(cg, f), 'utf8').trim()
    } catch {
      return ''
    }
  }
  const max = read('memory.max')
  let ioRead = 0
  let ioWrite = 0
  for (const line of read('io.stat').split('\n')) {
    ioRead += num(/rbytes=(\d+)/.exec(line)?.[1])
    ioWrite += num(/wbytes=(\d+)/.exec(line)?.[1])
  }
  return {
    cpuUsec: num(/^usage_usec (\d+)/m.exec(read('cpu.stat'))?.[1]),
    memory: num(read('memory.current')),
    memoryLimit: max === 'max' || max === '' ? 'max' : num(max),
    pids: num(read('pids.current')),
    ioRead,
    ioWrite,
  }
}

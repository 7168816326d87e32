// Container records: one JSON file per container, written atomically. Does I/O.
//
// containers/<id>/container.json holds what `ps` and `rm` need. A record that says "running"
// whose skiff process is gone (kill -9) is reported as exited: `ps` never shows a dead container
// as running.
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { SkiffError } from './errors.js'
import { writeFileAtomic } from './lock.js'
import type { Store } from './store.js'

export interface ContainerRecord {
  id: string
  image: string
  imageId: string
  command: string[]
  created: string
  status: 'running' | 'exited'
  /** the skiff process that runs it in the foreground */
  pid?: number
  exitCode?: number
  finishedAt?: string
}

export function containerDir(store: Store, id: string): string {
  return join(store.root, 'containers', id)
}

export function writeContainer(store: Store, rec: ContainerRecord): void {
  writeFileAtomic(join(containerDir(store, rec.id), 'container.json'), JSON.stringify(rec))
}

function alive(pid: number | undefined): boolean {
  if (!pid) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The record as it is now: "running" only while its skiff process lives. */
export function currentState(rec: ContainerRecord): ContainerRecord {
  return rec.status === 'running' && !alive(rec.pid) ? { ...rec, status: 'exited' } : rec
}

export function listContainers(store: Store): ContainerRecord[] {
  const out: ContainerRecord[] = []
  for (const id of readdirSync(join(store.root, 'containers'))) {
    try {
      out.push(currentState(JSON.parse(readFileSync(join(containerDir(store, id), 'container.json'), 'utf8')) as ContainerRecord))
    } catch {
      // a --rm container being set up or torn down has no record: not listed
    }
  }
  return out.sort((a, b) => b.created.localeCompare(a.created))
}

/** A container by id or unique id prefix. */
export function findContainer(store: Store, idOrPrefix: string): ContainerRecord {
  const all = listContainers(store)
  const matches = all.filter((c) => c.id.startsWith(idOrPrefix))
  if (matches.length === 1) return matches[0]!
  if (matches.length > 1) {
    throw new SkiffError('E_AMBIGUOUS_ID', `container id prefix ${idOrPrefix} matches ${matches.length} containers`, { hint: 'give more characters of the id' })
  }
  throw new SkiffError('E_NO_CONTAINER', `no container ${idOrPrefix}`, { hint: '`skiff ps -a` lists containers' })
}

export function hasRecord(store: Store, id: string): boolean {
  return existsSync(join(containerDir(store, id), 'container.json'))
}

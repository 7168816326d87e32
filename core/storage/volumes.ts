// Named volumes: volumes/<name>/_data (the files) and volumes/<name>/volume.json (what
// `volume inspect` shows). Does I/O.
//
// A volume is made in tmp/ and renamed into place with its record, so two commands creating the
// same name at once leave one volume, and the loser uses it. Its _data belongs to the user, who
// is root in every container: the container's root can write it.
import { randomHex } from '../random.js'
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { makeEvent, recordEvent } from '../events.js'
import { SkiffError, errnoCode } from '../errors.js'
import { VOLUME_NAME } from '../launch/mount-spec.js'
import { removeTrees } from './remove-trees.js'
import type { Store } from './store.js'
import { compareText, isoTime } from '../clock.js'

export interface Volume {
  Name: string
  Driver: 'local'
  Mountpoint: string
  CreatedAt: string
  Labels: Record<string, string>
  Options: Record<string, string>
  Scope: 'local'
  /** made for one container by `-v /path` (removed with it by rm -v and --rm) */
  Anonymous?: boolean
}

function volumesDir(store: Store): string {
  return join(store.root, 'volumes')
}

export function volumePath(store: Store, name: string): string {
  return join(volumesDir(store), name)
}

function check(name: string): void {
  if (!VOLUME_NAME.test(name)) {
    throw new SkiffError('E_BAD_NAME', `invalid volume name ${JSON.stringify(name)}`, { hint: 'use a-z, A-Z, 0-9, "_", "." and "-", starting with a letter or digit' })
  }
}

export function getVolume(store: Store, name: string): Volume | undefined {
  try {
    return JSON.parse(readFileSync(join(volumePath(store, name), 'volume.json'), 'utf8')) as Volume
  } catch {
    return undefined
  }
}

/** The volume `name`, created when missing (`created` says which). An empty name: an anonymous one. */
export function ensureVolume(store: Store, name: string, labels: Record<string, string> = {}): { volume: Volume; created: boolean } {
  const anonymous = name === ''
  const n = anonymous ? randomHex(32) : name
  check(n)
  const existing = getVolume(store, n)
  if (existing) return { volume: existing, created: false }
  mkdirSync(volumesDir(store), { recursive: true, mode: 0o700 })
  const staging = join(store.root, 'tmp', `volume-${process.pid}-${randomHex(6)}`)
  const volume: Volume = {
    Name: n,
    Driver: 'local',
    Mountpoint: join(volumePath(store, n), '_data'),
    CreatedAt: isoTime(),
    Labels: labels,
    Options: {},
    Scope: 'local',
    ...(anonymous ? { Anonymous: true } : {}),
  }
  mkdirSync(join(staging, '_data'), { recursive: true, mode: 0o755 })
  writeFileSync(join(staging, 'volume.json'), JSON.stringify(volume, null, 2))
  try {
    renameSync(staging, volumePath(store, n))
    recordEvent(store.root, makeEvent('volume', 'create', n, { driver: 'local' }))
    return { volume, created: true }
  } catch (err) {
    rmSync(staging, { recursive: true, force: true })
    // made by another command meanwhile: use it
    const theirs = ['EEXIST', 'ENOTEMPTY'].includes(errnoCode(err) ?? '') ? getVolume(store, n) : undefined
    if (theirs) return { volume: theirs, created: false }
    throw err
  }
}

export function listVolumes(store: Store): Volume[] {
  if (!existsSync(volumesDir(store))) return []
  return readdirSync(volumesDir(store))
    .map((n) => getVolume(store, n))
    .filter((v): v is Volume => !!v)
    .sort((a, b) => compareText(a.Name, b.Name))
}

/** Remove volumes; `usedBy(name)` names the containers that use one (then it is refused). */
export async function removeVolumes(store: Store, names: string[], usedBy: (name: string) => string[]): Promise<string[]> {
  for (const n of names) {
    if (!getVolume(store, n)) throw new SkiffError('E_NO_VOLUME', `No such volume: ${n}`, { hint: '`skiff volume ls` lists volumes' })
    const users = usedBy(n)
    if (users.length) {
      throw new SkiffError('E_VOLUME_IN_USE', `volume ${n} is in use by container ${users.map((u) => u.slice(0, 12)).join(', ')}`, {
        hint: `remove the container first (skiff rm ${users[0]!.slice(0, 12)})`,
      })
    }
  }
  // files written in a container may belong to mapped ids: removed inside the user namespace
  await removeTrees(store, names.map((n) => volumePath(store, n)), 'volume')
  for (const n of names) recordEvent(store.root, makeEvent('volume', 'destroy', n, { driver: 'local' }))
  return names
}

// Container names: names/<name> is a symlink to the container id. Does I/O.
//
// symlink(2) either creates the name or fails with EEXIST, so two commands asking for one name at
// once get one winner; the loser's error names the holder. A name whose container is gone (a
// create killed halfway) is taken over; one whose container is still being made (its staging
// directory, tmp/create-<pid>-<id>, exists and that process lives) is not.
import { randomBelow } from '../random.js'
import { existsSync, mkdirSync, readdirSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { SkiffError, errnoCode } from '../errors.js'
import { processStartTime } from '../lock.js'
import type { Store } from '../storage/store.js'

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/

const ADJECTIVES = [
  'agile', 'bold', 'brave', 'bright', 'calm', 'clever', 'cosmic', 'crisp', 'daring', 'eager', 'fancy', 'fierce',
  'gentle', 'happy', 'hardy', 'humble', 'jolly', 'keen', 'kind', 'lively', 'lucid', 'merry', 'mighty', 'nimble',
  'noble', 'plucky', 'proud', 'quick', 'quiet', 'rapid', 'serene', 'sharp', 'shiny', 'sleek', 'snappy', 'steady',
  'sturdy', 'swift', 'tidy', 'vivid', 'witty', 'zesty',
]
const NOUNS = [
  'albatross', 'anchor', 'barge', 'beacon', 'buoy', 'canoe', 'cutter', 'dinghy', 'dory', 'ferry', 'galley', 'gull',
  'harbor', 'heron', 'jetty', 'kayak', 'keel', 'ketch', 'lagoon', 'launch', 'mast', 'oar', 'otter', 'pelican',
  'pier', 'punt', 'raft', 'reef', 'rudder', 'sail', 'schooner', 'seal', 'skiff', 'sloop', 'tern', 'tide', 'tug',
  'wake', 'wharf', 'yawl',
]

/** Docker's rule for names; a leading "/" (as `inspect` prints them) is accepted. */
export function checkName(name: string): string {
  const n = name.startsWith('/') ? name.slice(1) : name
  if (!NAME.test(n)) {
    throw new SkiffError('E_BAD_NAME', `invalid container name ${JSON.stringify(name)}`, {
      hint: 'use 2 or more of a-z, A-Z, 0-9, "_", "." and "-", starting with a letter or digit',
    })
  }
  return n
}

function namesDir(store: Store): string {
  const dir = join(store.root, 'names')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  return dir
}

/** Claim `name` for container `id`; an error when another container holds it. */
export function reserveName(store: Store, name: string, id: string): void {
  const path = join(namesDir(store), name)
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      symlinkSync(id, path)
      return
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err
    }
    let holder: string
    try {
      holder = readlinkSync(path)
    } catch {
      continue // released meanwhile
    }
    if (beingCreated(store, holder) || existsSync(join(store.root, 'containers', holder))) {
      throw new SkiffError('E_NAME_IN_USE', `the container name "${name}" is already in use by container ${holder.slice(0, 12)}`, {
        hint: `remove that container (skiff rm -f ${name}) or choose another --name`,
      })
    }
    // left by a create that died before its container existed
    try {
      unlinkSync(path)
    } catch {}
  }
  throw new SkiffError('E_NAME_IN_USE', `cannot claim the container name "${name}"`, { hint: 'try again, or choose another --name' })
}

/** The staging directory of a create of `id` in this process. Made before the name is claimed. */
export function stagingDir(store: Store, id: string): string {
  return join(store.root, 'tmp', `create-${process.pid}-${id}`)
}

/**
 * Whether a live process is making container `id`. Looked at before containers/: a staging
 * directory that is gone was renamed there (or its create failed), so the two looks cannot both
 * miss a live container.
 */
function beingCreated(store: Store, id: string): boolean {
  let entries: string[]
  try {
    entries = readdirSync(join(store.root, 'tmp'))
  } catch {
    return false
  }
  const suffix = `-${id}`
  return entries.some((e) => {
    const pid = e.endsWith(suffix) ? Number(/^create-(\d+)-/.exec(e)?.[1]) : 0
    return pid > 0 && processStartTime(pid) !== undefined
  })
}

/** A free generated name ("swift_heron"), claimed for `id`. */
export function reserveGeneratedName(store: Store, id: string): string {
  for (let attempt = 0; ; attempt++) {
    const base = `${ADJECTIVES[randomBelow(ADJECTIVES.length)]}_${NOUNS[randomBelow(NOUNS.length)]}`
    // after a few collisions, add digits as Docker does
    const name = attempt < 5 ? base : `${base}${randomBelow(10 ** Math.min(attempt - 3, 6))}`
    try {
      reserveName(store, name, id)
      return name
    } catch (err) {
      if ((err as SkiffError).code !== 'E_NAME_IN_USE' || attempt > 50) throw err
    }
  }
}

/** Let go of `name` if it still points to `id`. */
export function releaseName(store: Store, name: string, id: string): void {
  const path = join(store.root, 'names', name)
  try {
    if (readlinkSync(path) === id) unlinkSync(path)
  } catch {}
}


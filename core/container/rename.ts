// skiff rename: a container's name changed, atomically for other commands. Does I/O.
import { SkiffError } from '../errors.js'
import type { Store } from '../storage/store.js'
import { checkName, releaseName, reserveName } from './names.js'
import { containerEvent, stripState, writeRecord, type ContainerRecord } from './records.js'
import { renameInLeases } from '../net/networks.js'
import { lockContainer } from './start.js'

/**
 * skiff rename: the new name claimed first (so that it fails as a create would), then the record
 * rewritten under the container's lock, then the old name let go. Docker's rules: the new name must
 * be valid and free; the same name is an error.
 */
export function renameContainer(store: Store, rec: ContainerRecord, newName: string): void {
  const name = checkName(newName)
  if (name === rec.name) throw new SkiffError('E_USAGE', `the container is already named ${name}`, { hint: 'give another name' })
  reserveName(store, name, rec.id)
  let release: (() => void) | undefined
  try {
    release = lockContainer(store, rec)
    writeRecord(store, { ...stripState(rec), name })
    // on bridge networks, the name server answers to the new name at once
    if (rec.network?.mode === 'bridge') renameInLeases(store.root, rec.id, rec.name, name)
  } catch (err) {
    releaseName(store, name, rec.id)
    throw err
  } finally {
    release?.()
  }
  releaseName(store, rec.name, rec.id)
  containerEvent(store, { ...rec, name }, 'rename', { oldName: rec.name })
}


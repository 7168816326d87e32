// container prune, image prune, volume prune, and system prune, which is the three: what no
// container needs any more, removed. Does I/O.
import { removeImage, listImages, type Store } from '../storage/store.js'
import { removeTrees } from '../storage/remove-trees.js'
import { listVolumes, removeVolumes } from '../storage/volumes.js'
import { listContainers, type Container } from './records.js'
import { dependents, removeContainers } from './stop.js'

/** Stopped containers, but one whose network a running container shares. Their ids. */
export async function pruneContainers(store: Store): Promise<string[]> {
  const all = listContainers(store)
  const isStopped = (c: Container) => c.state.status === 'created' || c.state.status === 'exited'
  const stopped = all.filter((c) => isStopped(c) && dependents(all, c).every(isStopped))
  return removeContainers(store, stopped, false)
}

/**
 * Images no container uses: untagged ones, or with `all` every one. Their ids. The intermediate
 * images of skiff build are its cache: they go only with `buildCache` (builder prune, system prune).
 */
export async function pruneImages(store: Store, all: boolean, buildCache = false): Promise<string[]> {
  const used = new Set(listContainers(store).map((c) => c.imageId))
  const deleted: string[] = []
  const doomed: string[] = []
  for (const img of listImages(store)) {
    if (used.has(img.id) || (!all && img.names.length > 0) || (img.intermediate && !buildCache)) continue
    const r = await removeImage(store, img.id, false, () => false)
    if (r.deleted) deleted.push(r.deleted)
    doomed.push(...r.unusedLayers)
  }
  await removeTrees(store, doomed, 'prune')
  return deleted
}

/** Who mounts a volume: the ids of the containers (of any state) that name it. */
export function volumeUsers(store: Store): (name: string) => string[] {
  const containers = listContainers(store)
  return (name) => containers.filter((c) => c.mounts.some((m) => m.Type === 'volume' && m.Name === name)).map((c) => c.id)
}

/** Volumes no container mounts. Their names. */
export async function pruneVolumes(store: Store): Promise<string[]> {
  const usedBy = volumeUsers(store)
  const unused = listVolumes(store).filter((v) => usedBy(v.Name).length === 0).map((v) => v.Name)
  await removeVolumes(store, unused, usedBy)
  return unused
}

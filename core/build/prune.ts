// skiff builder prune (and system prune): the build cache removed — its entries, the intermediate
// images no container uses, and the layers only the cache still named. Does I/O.
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { blobPath, layerDir, listImages, type Store } from '../storage/store.js'
import { removeTrees } from '../storage/remove-trees.js'
import { pruneImages } from '../container/prune.js'
import type { CacheEntry } from './step.js'

/** How many cache entries went, and the intermediate images' ids. */
export async function pruneBuildCache(store: Store): Promise<{ entries: number; images: string[] }> {
  const images = (await pruneImages(store, false, true)).filter(Boolean)
  const dir = join(store.root, 'build-cache')
  const layers = new Map<string, string>()
  let entries = 0
  for (const f of existsSync(dir) ? readdirSync(dir) : []) {
    try {
      const e = JSON.parse(readFileSync(join(dir, f), 'utf8')) as CacheEntry
      if (e.layer) layers.set(e.layer.diffID, e.layer.digest)
    } catch {}
    rmSync(join(dir, f), { force: true })
    entries++
  }
  // a layer the cache made that no image has (a stage nothing copied from, a failed build)
  const kept = new Set(listImages(store).flatMap((i) => i.layers.map((l) => l.diffID)))
  const keptBlobs = new Set(listImages(store).flatMap((i) => i.layers.map((l) => l.digest)))
  const orphans = [...layers].filter(([diffID]) => !kept.has(diffID))
  await removeTrees(store, orphans.map(([diffID]) => layerDir(store, diffID)), 'prune')
  for (const [, digest] of orphans) if (!keptBlobs.has(digest)) rmSync(blobPath(store, digest), { force: true })
  return { entries, images }
}

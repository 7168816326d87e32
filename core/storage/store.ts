// The content-addressed image store: blobs, unpacked layers, image records, names. Does I/O.
//
//   blobs/sha256/<hex>       verified content (layer archives, configs)
//   layers/<hex>/diff        a layer unpacked in overlay lower-dir format (named by its diffID)
//   images/<hex>.json        an image record (named by its config digest: the image id)
//   refs.json                name → image id
//   tmp/                     staging; content becomes visible only by rename
// Records and refs change under `lock`, written atomically.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, statfsSync } from 'node:fs'
import { parseStorageConf } from './driver.js'
import { join } from 'node:path'
import { digestHex } from '../digest.js'
import { SkiffError } from '../errors.js'
import { withLock, writeFileAtomic } from '../lock.js'
import { makeEvent, recordEvent } from '../events.js'
import type { SkiffPaths } from '../paths.js'
import { checkOwnRoot } from '../private-dir.js'
import { normalizeReference } from '../reference.js'
import type { ImageRunConfig } from '../launch/spec.js'

export interface OciImageConfig {
  author?: string
  architecture?: string
  os?: string
  created?: string
  config?: ImageRunConfig & { ExposedPorts?: Record<string, object>; Volumes?: Record<string, object>; Labels?: Record<string, string> }
  rootfs?: { type: string; diff_ids: string[] }
  history?: unknown[]
}

export interface StoredLayer {
  /** digest of the blob as stored (compressed or not) */
  digest: string
  diffID: string
  mediaType: string
  size: number
}

export interface ImageRecord {
  /** sha256:<config digest> */
  id: string
  names: string[]
  created?: string
  loaded: string
  config: OciImageConfig
  layers: StoredLayer[]
  manifestDigest?: string
  /** made by skiff build for a step (a container ran on it): listed by images -a only */
  intermediate?: boolean
  /** found in this additional, read-only store (additionalStores), not in the user's */
  store?: string
}

export interface Store {
  root: string
}

export async function openStore(paths: Pick<SkiffPaths, 'storage' | 'storageNote'>): Promise<Store> {
  const root = paths.storage
  // where the store moved off a network filesystem, the user hears it once: when it is made
  if (paths.storageNote && !existsSync(join(root, 'images'))) process.stderr.write(`skiff: note: ${paths.storageNote}\n`)
  checkOwnRoot(root, 'storage directory', 'SKIFF_ROOT')
  for (const d of ['blobs/sha256', 'layers', 'images', 'tmp', 'containers']) {
    try {
      mkdirSync(join(root, d), { recursive: true, mode: 0o700 })
    } catch (err) {
      throw new SkiffError('E_STORE', `cannot create the store at ${root}: ${(err as Error).message}`, {
        hint: 'set SKIFF_ROOT (or XDG_DATA_HOME) to a writable directory on a local filesystem',
        cause: err,
      })
    }
  }
  return { root }
}

export function blobPath(store: Store, digest: string): string {
  return join(store.root, 'blobs', 'sha256', digestHex(digest, 'blob digest'))
}

export function layerDir(store: Store, diffID: string): string {
  return join(store.root, 'layers', digestHex(diffID, 'layer diffID'))
}

/**
 * Read-only image stores an administrator filled (podman's additionalimagestores): the
 * directories in SKIFF_ADDITIONAL_STORES (colon-separated), then `additionalimagestores` of the
 * user's storage.conf and of /etc/skiff/storage.conf. skiff reads images and layers there and never
 * writes nor locks anything. A store another user could change (not root's or the user's, or
 * writable by group or others) is not used, with a warning: its layers become containers' files.
 */
let extra: string[] | undefined
export function additionalStores(env: NodeJS.ProcessEnv = process.env): string[] {
  if (extra) return extra
  const confs = [join(env.XDG_CONFIG_HOME || join(env.HOME || '/', '.config'), 'skiff', 'storage.conf'), '/etc/skiff/storage.conf']
  const named = [...(env.SKIFF_ADDITIONAL_STORES ?? '').split(':'), ...confs.flatMap((f) => {
    try {
      return parseStorageConf(readFileSync(f, 'utf8')).additionalImageStores ?? []
    } catch {
      return []
    }
  })].filter(Boolean)
  extra = []
  for (const dir of new Set(named)) {
    const st = statSync(dir, { throwIfNoEntry: false })
    const why = !dir.startsWith('/') ? 'not an absolute path'
      : !st?.isDirectory() ? 'not a directory'
      : st.uid !== 0 && st.uid !== process.getuid?.() ? `owned by uid ${st.uid}, neither root nor you`
      : (st.mode & 0o022) !== 0 ? 'writable by others than its owner'
      : undefined
    if (why) process.stderr.write(`skiff: warning: additional image store ${dir} is not used: ${why}\n`)
    else extra.push(dir)
  }
  return extra
}

/** A layer's tree: the store's own, else an additional store's that has it, else where the store's would be. */
export function layerDiffDir(store: Store, diffID: string): string {
  const own = join(layerDir(store, diffID), 'diff')
  if (existsSync(own)) return own
  for (const root of additionalStores()) {
    const shared = join(layerDir({ root }, diffID), 'diff')
    if (existsSync(shared)) return shared
  }
  return own
}

/** A layer exists only once its directory was renamed into place, complete. */
export function hasLayer(store: Store, diffID: string): boolean {
  return existsSync(layerDiffDir(store, diffID))
}

export function withStoreLock<T>(store: Store, fn: () => Promise<T> | T): Promise<T> {
  return withLock(join(store.root, 'lock'), fn)
}

function readRefs(store: Store): Record<string, string> {
  try {
    return JSON.parse(readFileSync(join(store.root, 'refs.json'), 'utf8')) as Record<string, string>
  } catch {
    return {}
  }
}

/**
 * Before layers are stored and unpacked: refuse at once when the store's filesystem has not even
 * room for `need` bytes, what is surely needed — each new layer's blob (unless stored already),
 * plus its tree, at least as large as the blob — rather than fail with ENOSPC halfway. A lower
 * bound: a gzipped layer unpacks to 2–4 times its size; this catches the hopeless cases.
 */
export function checkRoom(store: Store, need: number, what: string): void {
  if (need <= 0) return
  let free: number
  try {
    const st = statfsSync(store.root)
    free = st.bavail * st.bsize
  } catch {
    return // no statfs here: the writes will say
  }
  if (free >= need) return
  const mb = (n: number) => `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)} MB`
  throw new SkiffError('E_NO_SPACE', `${what} needs at least ${mb(need)} in ${store.root}, which has ${mb(free)} free`, {
    hint: 'free some space there (skiff system prune, skiff image prune), or put the store where there is room (SKIFF_ROOT)',
  })
}

function readRecord(store: Store, hex: string): ImageRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(store.root, 'images', `${hex}.json`), 'utf8')) as ImageRecord
  } catch {
    return undefined
  }
}

export function listImages(store: Store): ImageRecord[] {
  const refs = readRefs(store)
  const out: ImageRecord[] = []
  for (const f of readdirSync(join(store.root, 'images'))) {
    if (!/^[0-9a-f]{64}\.json$/.test(f)) continue
    const rec = readRecord(store, f.slice(0, 64))
    if (!rec) continue
    // names come from refs.json, the one place they are kept current
    rec.names = Object.keys(refs).filter((n) => refs[n] === rec.id).sort()
    out.push(rec)
  }
  return out
}

/**
 * An image by name[:tag], name@digest-free form, or (a prefix of) its id: in the store, else in an
 * additional (read-only) store, which the record then names.
 */
export async function findImage(store: Store, ref: string): Promise<ImageRecord> {
  try {
    return findIn(store, ref)
  } catch (err) {
    if ((err as SkiffError).code !== 'E_NO_IMAGE') throw err
    for (const root of additionalStores()) {
      try {
        return { ...findIn({ root }, ref), store: root }
      } catch {}
    }
    throw err
  }
}

function findIn(store: Store, ref: string): ImageRecord {
  const idText = ref.startsWith('sha256:') ? ref.slice(7) : ref
  if (/^[0-9a-f]{64}$/.test(idText)) {
    const rec = readRecord(store, idText)
    if (rec) return rec
  }
  const refs = readRefs(store)
  let name: string | undefined
  try {
    name = normalizeReference(ref)
  } catch {
    name = undefined
  }
  const id = name ? refs[name] : undefined
  if (id) {
    const rec = readRecord(store, digestHex(id))
    if (rec) return rec
  }
  if (/^[0-9a-f]{4,63}$/.test(idText)) {
    const matches = readdirSync(join(store.root, 'images')).filter((f) => f.startsWith(idText) && f.endsWith('.json'))
    if (matches.length === 1) return readRecord(store, matches[0]!.slice(0, 64))!
    if (matches.length > 1) {
      throw new SkiffError('E_AMBIGUOUS_ID', `image id prefix ${idText} matches ${matches.length} images`, { hint: 'give more characters of the id' })
    }
  }
  throw new SkiffError('E_NO_IMAGE', `No such image: ${ref}`, {
    hint: 'pull it (`skiff pull NAME`) or load it (`skiff load -i FILE`, a docker-save or OCI archive); `skiff images` lists what is there',
  })
}

/** Record an image and point `names` at it (taking them from any image that had them). */
export async function saveImage(store: Store, rec: ImageRecord, names: string[]): Promise<void> {
  await withStoreLock(store, () => {
    const hex = digestHex(rec.id, 'image id')
    writeFileAtomic(join(store.root, 'images', `${hex}.json`), JSON.stringify(rec))
    const refs = readRefs(store)
    for (const n of names) refs[n] = rec.id
    writeFileAtomic(join(store.root, 'refs.json'), JSON.stringify(refs, null, 1))
  })
}

/** skiff tag: more names for an image, all checked before any is written (as podman's tag). */
export async function tagImage(store: Store, ref: string, names: string[]): Promise<string[]> {
  const img = await findImage(store, ref)
  const targets = names.map((n) => normalizeReference(n))
  await saveImage(store, img, targets)
  for (const t of targets) recordEvent(store.root, makeEvent('image', 'tag', img.id, { name: t }))
  return targets
}

export interface Removal {
  untagged: string[]
  /** set when the image itself went */
  deleted?: string
  /** layer directories and blobs nothing uses any more */
  unusedLayers: string[]
  unusedBlobs: string[]
}

/**
 * skiff rmi: by name, drop that name (and the image when it was its last); by id, drop the image
 * and all its names. `inUse` says whether a container still needs an image id.
 */
export async function removeImage(store: Store, ref: string, force: boolean, inUse: (id: string) => boolean): Promise<Removal> {
  return withStoreLock(store, async () => {
    const img = await findImage(store, ref)
    if (img.store) {
      throw new SkiffError('E_READONLY_STORE', `image ${ref} is in the read-only store ${img.store}`, { hint: 'its administrator removes it there; skiff never writes to an additional store' })
    }
    const refs = readRefs(store)
    const names = Object.keys(refs).filter((n) => refs[n] === img.id)
    let byName: string | undefined
    try {
      byName = names.includes(normalizeReference(ref)) ? normalizeReference(ref) : undefined
    } catch {}
    const untagged = byName && names.length > 1 ? [byName] : names
    const deleting = untagged.length === names.length
    if (deleting && inUse(img.id) && !force) {
      throw new SkiffError('E_IMAGE_IN_USE', `image ${ref} is used by a container`, { hint: 'remove the container first (`skiff ps -a`, `skiff rm`), or use rmi -f' })
    }
    for (const n of untagged) delete refs[n]
    writeFileAtomic(join(store.root, 'refs.json'), JSON.stringify(refs, null, 1))
    const removal: Removal = { untagged, unusedLayers: [], unusedBlobs: [] }
    if (!deleting) {
      for (const n of untagged) recordEvent(store.root, makeEvent('image', 'untag', img.id, { name: n }))
      return removal
    }
    const hex = digestHex(img.id, 'image id')
    rmSync(join(store.root, 'images', `${hex}.json`), { force: true })
    removal.deleted = img.id
    const others = listImages(store)
    const usedLayers = new Set(others.flatMap((o) => o.layers.map((l) => l.diffID)))
    const usedBlobs = new Set(others.flatMap((o) => [o.id, ...o.layers.map((l) => l.digest)]))
    for (const l of img.layers) {
      if (!usedLayers.has(l.diffID)) removal.unusedLayers.push(layerDir(store, l.diffID))
      if (!usedBlobs.has(l.digest)) removal.unusedBlobs.push(blobPath(store, l.digest))
    }
    if (!usedBlobs.has(img.id)) removal.unusedBlobs.push(blobPath(store, img.id))
    for (const b of removal.unusedBlobs) rmSync(b, { force: true })
    for (const n of untagged) recordEvent(store.root, makeEvent('image', 'untag', img.id, { name: n }))
    recordEvent(store.root, makeEvent('image', 'delete', img.id, { name: untagged[0] ?? img.id }))
    return removal
  })
}

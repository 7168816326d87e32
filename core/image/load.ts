// skiff load: an archive file (or OCI layout directory) → images in the store. Does I/O.
//
// 1. unpack the archive into the store's tmp/ (node-tar keeps it inside); 2. read and verify it
// (core/image/archive.ts); 3. move blobs into place; 4. unpack missing layers inside the user namespace
// (`skiff __storage`, one process for all of them); 5. record the images and their names.
import { randomBytes } from 'node:crypto'
import { copyFileSync, createReadStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { isDirectory, readArchive, type ArchiveImage } from './archive.js'
import { READ_CHUNK } from '../digest.js'
import { MACHINE_ERRORS, SkiffError, errnoCode, errnoText } from '../errors.js'
import { runSelfInUserns } from '../launch/in-userns.js'
import { resolvePaths } from '../paths.js'
import { blobPath, checkRoom, hasLayer, layerDir, openStore, saveImage, type Store } from '../storage/store.js'
import type { StorageJob, StorageResult } from '../storage/jobs.js'
import { isoTime } from '../clock.js'

export interface LoadResult {
  images: { id: string; names: string[] }[]
  warnings: string[]
}

export async function loadImages(input: string | NodeJS.ReadableStream): Promise<LoadResult> {
  const store = await openStore(resolvePaths())
  const staging = join(store.root, 'tmp', `load-${process.pid}-${randomBytes(6).toString('hex')}`)
  mkdirSync(staging, { recursive: true, mode: 0o700 })
  try {
    let dir = staging
    if (typeof input === 'string' && isDirectory(input)) {
      dir = input
    } else {
      const source = typeof input === 'string' ? createReadStream(input, { highWaterMark: READ_CHUNK }) : input
      // node-tar loads here, not with the module: a pull, which only places blobs and records
      // images through this module (its workers unpack), would load it for nothing (~5 ms)
      const { extract } = await import('tar')
      try {
        await pipeline(source, extract({ cwd: staging, strict: true, noChmod: true }) as unknown as NodeJS.WritableStream)
      } catch (err) {
        // the store's disk, not the archive: said as such (cmd/report.ts)
        if (MACHINE_ERRORS[errnoCode(err) ?? '']) throw err
        throw new SkiffError('E_BAD_ARCHIVE', `cannot read the archive${typeof input === 'string' ? ` ${input}` : ' on stdin'}: ${errnoText(err)}`, {
          hint: 'give a file written by `docker save`, `podman save` or `skopeo copy ... oci-archive:FILE`',
          cause: err,
        })
      }
    }
    const images = await readArchive(dir)
    const warnings = await storeImages(store, images, dir === staging)
    return { images: images.map((i) => ({ id: i.configDigest, names: i.names })), warnings }
  } finally {
    rmSync(staging, { recursive: true, force: true })
  }
}

/** Entries of tmp/ whose creating process is gone: "<kind>-<pid>-<random>". */
export function staleStaging(store: Store): string[] {
  const dir = join(store.root, 'tmp')
  return readdirSync(dir)
    .filter((name) => {
      const pid = Number(/^[a-z]+-(\d+)-/.exec(name)?.[1])
      if (!pid || pid === process.pid) return false
      try {
        process.kill(pid, 0)
        return false
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'ESRCH'
      }
    })
    .map((name) => join(dir, name))
}

/** What users should know about unpacked layers: device nodes skipped, owners squashed. */
export function unpackWarnings(results: StorageResult[]): string[] {
  const warnings: string[] = []
  const devices = results.reduce((n, r) => n + (r.skippedDevices ?? 0), 0)
  const squashed = results.reduce((n, r) => n + (r.squashedOwners ?? 0), 0)
  if (devices) warnings.push(`skipped ${devices} device node(s) or fifo(s) in the image: a rootless container cannot create them (bind them with -v if needed)`)
  if (squashed) warnings.push(`${squashed} file(s) belong to ids this user namespace cannot map; they now belong to root. Fix: give your user a subordinate id range (see \`skiff info\`)`)
  return warnings
}

/** Put blobs in place (moving them when they are our own staging copies) and unpack layers. */
export async function storeImages(store: Store, images: ArchiveImage[], movable: boolean): Promise<string[]> {
  const place = (file: string, digest: string) => {
    const target = blobPath(store, digest)
    if (existsSync(target)) return
    const tmp = join(store.root, 'tmp', `blob-${process.pid}-${randomBytes(6).toString('hex')}`)
    if (movable) renameSync(file, tmp)
    else copyFileSync(file, tmp)
    renameSync(tmp, target)
  }
  const fresh = new Map<string, number>()
  for (const img of images) for (const l of img.layers) if (!hasLayer(store, l.diffID)) fresh.set(l.diffID, l.size)
  // each new layer's tree, at least as large as its blob (which is moved or copied in as well)
  checkRoom(store, [...fresh.values()].reduce((n, size) => n + (movable ? size : 2 * size), 0), 'loading the archive')
  // What a killed load left behind goes first (inside the namespace: mapped ids own it).
  const jobs: StorageJob[] = staleStaging(store).map((path) => ({ op: 'remove', path }))
  const queued = new Set<string>()
  for (const img of images) {
    place(img.configFile, img.configDigest)
    for (const l of img.layers) {
      if (!existsSync(blobPath(store, l.digest))) place(l.file, l.digest)
      if (hasLayer(store, l.diffID) || queued.has(l.diffID)) continue
      queued.add(l.diffID)
      jobs.push({ op: 'unpack', blob: blobPath(store, l.digest), diffID: l.diffID, dest: layerDir(store, l.diffID), staging: join(store.root, 'tmp', `layer-${process.pid}-${randomBytes(6).toString('hex')}`) })
    }
  }
  const warnings: string[] = []
  if (jobs.length > 0) {
    const { stdout } = await runSelfInUserns(['__storage'], JSON.stringify(jobs))
    warnings.push(...unpackWarnings(JSON.parse(stdout || '[]') as StorageResult[]))
  }
  const now = isoTime()
  for (const img of images) {
    await saveImage(store, {
      id: img.configDigest,
      names: img.names,
      created: img.config.created,
      loaded: now,
      config: img.config,
      layers: img.layers.map((l) => ({ digest: l.digest, diffID: l.diffID, mediaType: l.mediaType, size: l.size })),
      manifestDigest: img.manifestDigest,
    }, img.names)
  }
  return warnings
}

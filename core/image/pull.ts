// skiff pull: a reference → an image in the store, from its registry. Does I/O (network, store).
//
// manifest (or index → the host's platform) → config → layers, each downloaded to tmp/, checked
// against its digest and size, and only then moved into the store; layers already stored are not
// downloaded again. Unpacking goes through the same path as `load` (image-load.ts).
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream, existsSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { PassThrough, Transform, type Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ArchiveImage, ArchiveLayer } from './archive.js'
import { digestHex, READ_CHUNK, sha256 } from '../digest.js'
import { withLock } from '../lock.js'
import { mark } from '../trace.js'
import type { PullProgress } from './pull-progress.js'
import { makeEvent, recordEvent } from '../events.js'
import { SkiffError } from '../errors.js'
import { hostPlatform } from '../platform.js'
import { storeImages, unpackWarnings } from './load.js'
import { runSelfInUserns } from '../launch/in-userns.js'
import type { StorageResult } from '../storage/jobs.js'
import { resolvePaths } from '../paths.js'
import { formatReference, parseReference } from '../reference.js'
import { RegistryClient } from './registry.js'
import { blobPath, checkRoom, hasLayer, layerDir, openStore, type OciImageConfig, type Store } from '../storage/store.js'

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
]

interface Descriptor {
  mediaType?: string
  digest: string
  size: number
  platform?: { os?: string; architecture?: string; variant?: string }
}

export interface PullOptions {
  tlsVerify: boolean
  /** os/arch[/variant]; default: this machine's */
  platform?: string
  progress: PullProgress
}


function badBlob(what: string, digest: string, got: string): SkiffError {
  return new SkiffError('E_BAD_DIGEST', `${what} ${digest} does not match its digest (got ${got}): refused`, {
    hint: 'the registry (or something between you and it) served damaged data; pull again, and report it if it repeats',
  })
}

/**
 * A registry's manifest or index, checked: an index's platform manifests, or an image manifest's
 * config and layers, each a descriptor with a digest. Anything else a registry sends is E_MANIFEST.
 */
export function manifestDocument(bytes: Buffer, name: string): { mediaType?: string; manifests: Descriptor[] } | { mediaType?: string; config: Descriptor; layers: Descriptor[]; manifests?: undefined } {
  const bad = (why: string) => new SkiffError('E_MANIFEST', `${name}: the registry sent a manifest skiff cannot read (${why})`, { hint: 'skiff reads Docker schema 2 and OCI manifests and indexes' })
  let doc: unknown
  try {
    doc = JSON.parse(bytes.toString('utf8'))
  } catch {
    throw bad('not JSON')
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw bad('not a JSON object')
  const d = doc as { mediaType?: unknown; manifests?: unknown; config?: unknown; layers?: unknown; schemaVersion?: unknown }
  const mediaType = typeof d.mediaType === 'string' ? d.mediaType : undefined
  const descriptor = (x: unknown): x is Descriptor => !!x && typeof x === 'object' && typeof (x as Descriptor).digest === 'string' && (x as Descriptor).digest.startsWith('sha256:') && /^[0-9a-f]{64}$/.test((x as Descriptor).digest.slice(7))
  if ('manifests' in d) {
    if (!Array.isArray(d.manifests) || !d.manifests.every(descriptor)) throw bad('an index whose manifests are not descriptors')
    return { mediaType, manifests: d.manifests }
  }
  if (!descriptor(d.config) || !Array.isArray(d.layers)) throw bad(mediaType ?? `schema ${String(d.schemaVersion)}`)
  if (!d.layers.every(descriptor)) throw bad('a layer that is not a sha256 descriptor')
  return { mediaType, config: d.config, layers: d.layers }
}

async function fetchJson(client: RegistryClient, path: string, accept: string[], name: string, digest?: string): Promise<{ bytes: Buffer; digest: string; mediaType: string; doc: ReturnType<typeof manifestDocument> }> {
  const res = await client.get(path, accept)
  const bytes = Buffer.from(await res.arrayBuffer())
  const got = sha256(bytes)
  if (digest && got !== digest) throw badBlob('manifest', digest, got)
  const doc = manifestDocument(bytes, name)
  return { bytes, digest: got, mediaType: doc.mediaType ?? res.headers.get('content-type') ?? '', doc }
}

/**
 * Download a blob to `file`, hashing as it streams; `file` exists only when it is right.
 * Bytes arrive in tmp/partial-<hex>, which outlives an interrupted pull: the next attempt (a
 * retry after a reset, or the next `skiff pull`) asks only for the rest with a Range request.
 * A lock per blob keeps two pulls from writing the same partial file.
 */
async function download(client: RegistryClient, store: Store, d: Descriptor, file: string, onBytes: (n: number) => void = () => {}, feed?: Feed): Promise<void> {
  const partial = join(store.root, 'tmp', `partial-${digestHex(d.digest)}`)
  await withLock(`${partial}.lock`, async () => {
    for (let attempt = 0; ; attempt++) {
      try {
        await fetchRest(client, d, partial, onBytes, feed)
        break
      } catch (err) {
        if (err instanceof SkiffError || attempt >= 3) {
          if (err instanceof SkiffError) throw err
          throw new SkiffError('E_DOWNLOAD', `download of blob ${d.digest} failed: ${(err as Error).message}`, {
            hint: 'pull again: it resumes where this one stopped',
          })
        }
        await new Promise((r) => setTimeout(r, 300 * 2 ** attempt))
      }
    }
    renameSync(partial, file)
  })
}

/**
 * The blob's bytes passed on to an unpacker as they arrive. `fed` counts what it has had, so a
 * resumed or restarted download gives it each byte once: bytes of an earlier attempt come from
 * the partial file, bytes it already had are skipped.
 */
export interface Feed {
  sink: Writable
  fed: number
}

async function feedFrom(feed: Feed, chunk: Buffer, offset: number): Promise<void> {
  const end = offset + chunk.length
  if (end <= feed.fed) return
  const part = offset >= feed.fed ? chunk : chunk.subarray(feed.fed - offset)
  feed.fed = end
  if (!feed.sink.write(part)) await new Promise<void>((resolve) => feed.sink.once('drain', resolve))
}

/** Append what `partial` lacks of blob `d`, then check the whole file against the digest. */
async function fetchRest(client: RegistryClient, d: Descriptor, partial: string, onBytes: (n: number) => void, feed?: Feed): Promise<void> {
  let hash = createHash('sha256')
  let have = 0
  if (existsSync(partial)) {
    for await (const chunk of createReadStream(partial, { highWaterMark: READ_CHUNK })) {
      hash.update(chunk as Buffer)
      have += (chunk as Buffer).length
    }
  }
  if (have > d.size) {
    hash = createHash('sha256')
    have = 0
  }
  if (have < d.size) {
    const res = await client.get(`blobs/${d.digest}`, [], have > 0 ? { range: `bytes=${have}-` } : {})
    if (have > 0 && res.status !== 206) {
      // the registry ignored the range: start over
      hash = createHash('sha256')
      have = 0
    }
    const flags = have > 0 ? 'a' : 'w'
    if (feed && feed.fed < have) {
      // what an earlier attempt wrote, and the unpacker has not had yet
      for await (const chunk of createReadStream(partial, { start: feed.fed, end: have - 1, highWaterMark: READ_CHUNK })) await feedFrom(feed, chunk as Buffer, feed.fed)
    }
    await pipeline(res.body, tapInto(hash, (n) => {
      have += n
      onBytes(n)
    }, feed ? (chunk) => feedFrom(feed, chunk, have - chunk.length) : undefined), createWriteStream(partial, { flags, mode: 0o600 }))
  }
  verify(d, `sha256:${hash.digest('hex')}`, have, partial)
}

function tapInto(hash: ReturnType<typeof createHash>, count: (n: number) => void, pass?: (chunk: Buffer) => Promise<void>): Transform {
  return new Transform({
    transform(chunk: Buffer, _e, done) {
      hash.update(chunk)
      count(chunk.length)
      if (!pass) return done(null, chunk)
      pass(chunk).then(() => done(null, chunk), done)
    },
  })
}

/** A wrong blob is refused and thrown away, so the next pull fetches it afresh. */
function verify(d: Descriptor, got: string, size: number, partial: string): void {
  if (got !== d.digest || (typeof d.size === 'number' && size !== d.size)) {
    rmSync(partial, { force: true })
    if (got !== d.digest) throw badBlob('blob', d.digest, got)
    throw new SkiffError('E_BAD_SIZE', `blob ${d.digest} has ${size} bytes, the manifest says ${d.size}: refused`, { hint: 'pull again' })
  }
}

export async function pullImage(text: string, opts: PullOptions): Promise<{ id: string; name: string; warnings: string[] }> {
  // registries.conf: a short name's alias, the registry's mirrors (in order) and its location
  const { aliasFor, endpointsFor, registriesConf } = await import('./registries.js')
  const conf = registriesConf()
  const ref = parseReference(aliasFor(conf, text) ?? text)
  const name = formatReference(ref)
  const store = await openStore(resolvePaths())
  const wanted = opts.platform ?? hostPlatform()

  let client: RegistryClient | undefined
  let top: Awaited<ReturnType<typeof fetchJson>> | undefined
  const endpoints = endpointsFor(conf, ref, opts.tlsVerify)
  for (const [i, ep] of endpoints.entries()) {
    client = new RegistryClient(ep.domain, ep.path, { tlsVerify: ep.tlsVerify })
    try {
      top = await fetchJson(client, `manifests/${ref.digest ?? ref.tag}`, MANIFEST_TYPES, name, ref.digest)
      if (ep.mirror) opts.progress.message(`Pulling ${name} from the mirror ${ep.domain}/${ep.path}`)
      break
    } catch (err) {
      // a mirror that fails or lacks the image: the next one, then the origin
      if (i === endpoints.length - 1) throw err
      opts.progress.message(`mirror ${ep.domain}: ${(err as Error).message.split('\n')[0]}; trying the next`)
    }
  }
  if (!client || !top) throw new SkiffError('E_REGISTRY', `${name}: no registry to pull from`, { hint: 'check registries.conf' })
  let manifestDigest = top.digest
  if (top.doc.manifests) {
    const index = top.doc
    const [os, architecture, variant] = wanted.split('/')
    const pick = index.manifests.find((m) => m.platform?.os === os && m.platform?.architecture === architecture && (!variant || m.platform?.variant === variant))
    if (!pick) {
      const have = index.manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}${m.platform?.variant ? `/${m.platform.variant}` : ''}`).join(', ')
      throw new SkiffError('E_NO_PLATFORM', `${name} has no image for ${wanted} (it has: ${have})`, { hint: 'choose one with --platform' })
    }
    top = await fetchJson(client, `manifests/${pick.digest}`, MANIFEST_TYPES, name, pick.digest)
    manifestDigest = pick.digest
  }
  const manifest = top.doc
  if (manifest.manifests) throw new SkiffError('E_MANIFEST', `${name}: an index that names another index`, { hint: 'skiff reads Docker schema 2 and OCI manifests and indexes' })
  opts.progress.message(`Trying to pull ${name}...`)
  const staged: string[] = []
  try {
    const fetched = { client, store, name, manifestDigest, opts, staged }
    return await fetchImage(fetched, manifest.config, manifest.layers)
  } finally {
    // blobs moved into the store leave nothing here; a failed pull's downloads go
    for (const f of staged) rmSync(f, { force: true })
  }
}

interface PullContext {
  client: RegistryClient
  store: Store
  name: string
  manifestDigest: string
  opts: PullOptions
  /** files under tmp/ this pull wrote */
  staged: string[]
}

/** Config and layers → the store; layers already stored are not downloaded again. */
async function fetchImage(ctx: PullContext, configDesc: Descriptor, layerDescs: Descriptor[]): Promise<{ id: string; name: string; warnings: string[] }> {
  const { client, store, name, opts } = ctx
  const stage = (what: string) => {
    const f = join(store.root, 'tmp', `pull-${process.pid}-${what}-${randomBytes(4).toString('hex')}`)
    ctx.staged.push(f)
    return f
  }
  const storedConfig = blobPath(store, configDesc.digest)
  const configFile = existsSync(storedConfig) ? storedConfig : stage('config')
  if (configFile !== storedConfig) await download(client, store, configDesc, configFile)
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as OciImageConfig
  const diffIDs = config.rootfs?.diff_ids ?? []
  if (diffIDs.length !== layerDescs.length) {
    throw new SkiffError('E_MANIFEST', `${name}: the config lists ${diffIDs.length} layers, the manifest ${layerDescs.length}`, { hint: 'the image is damaged in the registry' })
  }
  // a blob to download and a tree to unpack (at least its size) for each layer not stored yet
  const need = layerDescs.reduce((n, l, i) => n + (hasLayer(store, diffIDs[i]!) ? 0 : existsSync(blobPath(store, l.digest)) ? l.size : 2 * l.size), 0)
  checkRoom(store, need, `pulling ${name}`)
  const layers: ArchiveLayer[] = []
  const todo: (() => Promise<void>)[] = []
  const streaming = new Map<string, Promise<StorageResult | undefined>>()
  for (const [i, l] of layerDescs.entries()) {
    const stored = blobPath(store, l.digest)
    const file = existsSync(stored) ? stored : stage('layer')
    layers.push({ file, digest: l.digest, size: l.size, mediaType: l.mediaType ?? '', diffID: diffIDs[i]! })
    if (file === stored) {
      opts.progress.done(l.digest.slice(7, 19), 'Already exists')
      continue
    }
    const id = l.digest.slice(7, 19)
    opts.progress.start(id, l.size)
    const diffID = diffIDs[i]!
    todo.push(async () => {
      // unpacked while it downloads, unless stored already (or being unpacked for this image)
      const unpack = hasLayer(store, diffID) || streaming.has(diffID) ? undefined : streamUnpack(store, diffID)
      if (unpack) streaming.set(diffID, unpack.done)
      try {
        await download(client, store, l, file, (n) => opts.progress.advance(id, n), unpack?.feed)
        unpack?.feed.sink.end()
      } catch (err) {
        unpack?.feed.sink.destroy(err as Error)
        throw err
      }
      opts.progress.done(id, `Download complete (${l.size} bytes)`)
    })
  }
  // three downloads at a time, as Docker does
  const running = new Set<Promise<void>>()
  for (const job of todo) {
    const p: Promise<void> = job().finally(() => running.delete(p))
    running.add(p)
    if (running.size >= 3) await Promise.race(running)
  }
  await Promise.all(running)
  // A streamed unpack that failed (or could not start) is done again from the stored blob below,
  // where its error, if it is one, is reported.
  const streamed = (await Promise.all(streaming.values())).filter((r): r is StorageResult => !!r)
  opts.progress.finish()
  const image: ArchiveImage = { configDigest: configDesc.digest, config, configFile, layers, names: [name], manifestDigest: ctx.manifestDigest }
  const warnings = [...unpackWarnings(streamed), ...(await storeImages(store, [image], true))]
  recordEvent(store.root, makeEvent('image', 'pull', name, { name }))
  return { id: image.configDigest, name, warnings }
}

/**
 * A storage worker in the user namespace that unpacks one layer from its stdin, fed by the
 * download. Its diffID is checked before the layer is put in place, and the download's digest
 * before its stdin ends: nothing unverified is ever used.
 */
function streamUnpack(store: Store, diffID: string): { feed: Feed; done: Promise<StorageResult | undefined> } {
  const sink = new PassThrough({ highWaterMark: 1 << 20 })
  const job = { op: 'unpack', blob: '-', diffID, dest: layerDir(store, diffID), staging: join(store.root, 'tmp', `layer-${process.pid}-${randomBytes(6).toString('hex')}`) }
  const done = runSelfInUserns(['__storage', '--job', JSON.stringify(job)], sink).then(
    (r) => (JSON.parse(r.stdout || '[]') as StorageResult[])[0],
    (err: Error) => {
      sink.resume() // nobody reads it any more: let the download go on
      mark(`streamed unpack of ${diffID.slice(7, 19)} failed (unpacked after the download instead): ${err.message}`)
      return undefined
    },
  )
  return { feed: { sink, fed: 0 }, done }
}

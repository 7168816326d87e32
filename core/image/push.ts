// skiff push: an image of the store to a registry (distribution API v2), through the same client
// as pull (auth, TLS, retries). Does I/O.
//
// Each blob (the layers, then the config): HEAD first, and not sent again when the registry has
// it; else mounted from another repository of the same registry that has it (the image was pulled
// from there); else uploaded, in one PUT up to CHUNK bytes, in PATCHes of CHUNK bytes beyond,
// resuming from the offset the registry confirms after a failed chunk. Then the manifest, in
// Docker schema 2 or OCI form, under the tag.
import { closeSync, createReadStream, createWriteStream, existsSync, openSync, readSync, renameSync, rmSync, statSync } from 'node:fs'
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { createGunzip, createGzip } from 'node:zlib'
import { SkiffError } from '../errors.js'
import { formatReference, parseReference, type Reference } from '../reference.js'
import { blobPath, findImage, type ImageRecord, type Store } from '../storage/store.js'
import { makeEvent, recordEvent } from '../events.js'
import { RegistryClient } from './registry.js'
import type { PullProgress } from './pull-progress.js'
import { isGzip, isZstd } from '../storage/layer-unpack.js'

/** Blobs up to this size go in one request; bigger ones in PATCHes of this size. */
export const CHUNK = 16 << 20

export interface PushOptions {
  tlsVerify: boolean
  /** manifest form: Docker schema 2 or OCI (default: v2s2 unless a layer is zstd, which only OCI has) */
  format?: 'oci' | 'v2s2'
  compression?: 'gzip' | 'zstd'
  progress: PullProgress
  /** smaller chunks (tests) */
  chunk?: number
}

const DOCKER = {
  manifest: 'application/vnd.docker.distribution.manifest.v2+json',
  config: 'application/vnd.docker.container.image.v1+json',
  gzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
}
const OCI = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  tar: 'application/vnd.oci.image.layer.v1.tar',
}

interface Blob {
  digest: string
  size: number
  mediaType: string
  path: string
}

/** The compression a stored blob has, read from its first bytes. */
function compressionOf(path: string): 'gzip' | 'zstd' | 'none' {
  const head = Buffer.alloc(4)
  const fd = openSync(path, 'r')
  try {
    readSync(fd, head, 0, 4, 0)
  } finally {
    closeSync(fd)
  }
  return isGzip(head) ? 'gzip' : isZstd(head) ? 'zstd' : 'none'
}

/**
 * A layer blob in the compression asked for: the stored one when it already is, else made (and
 * kept in the store, content-addressed, for the next push). zstd is the `zstd` program's.
 */
async function layerIn(store: Store, stored: string, want: 'gzip' | 'zstd'): Promise<{ path: string; digest: string; size: number }> {
  const have = compressionOf(stored)
  if (have === want) {
    const size = statSync(stored).size
    return { path: stored, digest: `sha256:${stored.split('/').pop()}`, size }
  }
  const tmp = join(store.root, 'tmp', `push-${process.pid}-${randomBytes(6).toString('hex')}`)
  const hash = createHash('sha256')
  let size = 0
  const out = createWriteStream(tmp, { mode: 0o600 })
  try {
    const plain = have === 'gzip' ? createReadStream(stored).pipe(createGunzip()) : have === 'zstd' ? spawnFilter('zstd', ['-d', '-c', stored]) : createReadStream(stored)
    const squeeze = want === 'gzip' ? createGzip() : spawnFilter('zstd', ['-q', '-c', '-3'], plain)
    if (want === 'gzip') plain.pipe(squeeze as NodeJS.WritableStream)
    squeeze.on('data', (c: Buffer) => {
      hash.update(c)
      size += c.length
    })
    await pipeline(squeeze, out)
    const digest = `sha256:${hash.digest('hex')}`
    renameSync(tmp, blobPath(store, digest))
    return { path: blobPath(store, digest), digest, size }
  } finally {
    rmSync(tmp, { force: true })
  }
}

/** `cmd args` as a stream filter (stdin from `input` when given), its stdout read. */
function spawnFilter(cmd: string, args: string[], input?: NodeJS.ReadableStream): NodeJS.ReadableStream {
  const child = spawn(cmd, args, { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] })
  child.on('error', (err) => child.stdout!.destroy(new SkiffError('E_ZSTD', `cannot run ${cmd}: ${err.message}`, { hint: 'install zstd (Debian: apt install zstd), or push with --compression-format gzip' })))
  if (input) input.pipe(child.stdin!)
  return child.stdout!
}

/** The part of `path` from `at`, `len` bytes, as one Buffer (a chunk of an upload). */
function readPart(path: string, at: number, len: number): Buffer {
  const buf = Buffer.alloc(len)
  const fd = openSync(path, 'r')
  try {
    let got = 0
    while (got < len) {
      const n = readSync(fd, buf, got, len - got, at + got)
      if (n === 0) break
      got += n
    }
  } finally {
    closeSync(fd)
  }
  return buf
}

/** Where the registry says the next request of an upload goes (Location may be relative). */
function nextUrl(client: RegistryClient, location: string | null): string {
  if (!location) throw new SkiffError('E_REGISTRY', `${client.domain}: an upload answer without Location`, { hint: 'the registry is failing; try again later' })
  return new URL(location, `${client.base}/`).toString()
}

async function upload(client: RegistryClient, blob: Blob, chunk: number, from: string | undefined, progress: PullProgress): Promise<'exists' | 'mounted' | 'pushed'> {
  const head = await client.send('HEAD', `blobs/${blob.digest}`, { allow: [404] })
  await head.arrayBuffer().catch(() => undefined)
  if (head.status === 200) return 'exists'
  const start = await client.send('POST', `blobs/uploads/${from ? `?mount=${blob.digest}&from=${encodeURIComponent(from)}` : ''}`, { headers: { 'content-length': '0' }, allow: [201, 202] })
  await start.arrayBuffer().catch(() => undefined)
  if (start.status === 201) return 'mounted'
  let url = nextUrl(client, start.headers.get('location'))
  const withDigest = (u: string) => `${u}${u.includes('?') ? '&' : '?'}digest=${encodeURIComponent(blob.digest)}`
  progress.start(blob.digest.slice(7, 19), blob.size)
  if (blob.size <= chunk) {
    const put = await client.send('PUT', withDigest(url), {
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
      body: () => createReadStream(blob.path),
    })
    await put.arrayBuffer().catch(() => undefined)
    progress.advance(blob.digest.slice(7, 19), blob.size)
    return 'pushed'
  }
  // chunked: PATCH each part; after a failure, ask where the registry is and go on from there
  let at = 0
  let failures = 0
  while (at < blob.size) {
    const len = Math.min(chunk, blob.size - at)
    try {
      const res = await client.send('PATCH', url, {
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(len), 'content-range': `${at}-${at + len - 1}` },
        body: () => readPart(blob.path, at, len),
      })
      await res.arrayBuffer().catch(() => undefined)
      url = nextUrl(client, res.headers.get('location'))
      at += len
      progress.advance(blob.digest.slice(7, 19), len)
    } catch (err) {
      if (++failures > 3) throw err
      const status = await client.send('GET', url, { allow: [204] })
      await status.arrayBuffer().catch(() => undefined)
      const range = /^0-(\d+)$/.exec(status.headers.get('range') ?? '')
      at = range ? Number(range[1]) + 1 : 0
      url = nextUrl(client, status.headers.get('location') ?? url)
    }
  }
  const done = await client.send('PUT', withDigest(url), { headers: { 'content-length': '0' } })
  await done.arrayBuffer().catch(() => undefined)
  return 'pushed'
}

/** Another repository of `ref`'s registry that this image came from: blobs may be mounted from it. */
function mountSource(img: ImageRecord, ref: Reference): string | undefined {
  for (const n of img.names) {
    try {
      const r = parseReference(n)
      if (r.domain === ref.domain && r.path !== ref.path) return r.path
    } catch {}
  }
  return undefined
}

export async function pushImage(store: Store, source: string, dest: string | undefined, opts: PushOptions): Promise<{ name: string; digest: string; size: number }> {
  const img = await findImage(store, source)
  const ref = parseReference(dest ?? source)
  if (ref.digest) throw new SkiffError('E_USAGE', `cannot push to a digest (${dest ?? source})`, { hint: 'push to a tag: NAME:TAG' })
  const name = formatReference(ref)
  const compression = opts.compression ?? 'gzip'
  const format = opts.format ?? (compression === 'zstd' ? 'oci' : 'v2s2')
  if (format === 'v2s2' && compression === 'zstd') throw new SkiffError('E_USAGE', 'Docker schema 2 manifests have no zstd layers', { hint: 'push with --format oci, or --compression-format gzip' })
  const configPath = blobPath(store, img.id)
  if (!existsSync(configPath)) throw new SkiffError('E_STORE', `the config of ${source} (${img.id}) is missing from the store`, { hint: 'pull or load the image again' })
  const types = format === 'oci' ? OCI : DOCKER
  // registries.conf: where the registry really is, and whether it may be spoken to at all
  const { endpointsFor, registriesConf } = await import('./registries.js')
  const origin = endpointsFor(registriesConf(), ref, opts.tlsVerify).at(-1)!
  const client = new RegistryClient(origin.domain, origin.path, { tlsVerify: origin.tlsVerify })
  const from = mountSource(img, ref)
  opts.progress.message(`Pushing ${name}`)
  const layers: Blob[] = []
  for (const l of img.layers) {
    const stored = blobPath(store, l.digest)
    if (!existsSync(stored)) throw new SkiffError('E_STORE', `layer ${l.digest} of ${source} is missing from the store`, { hint: 'pull or load the image again' })
    const b = await layerIn(store, stored, compression)
    layers.push({ ...b, mediaType: compression === 'zstd' ? OCI.zstd : types.gzip })
  }
  const config: Blob = { digest: img.id, size: statSync(configPath).size, mediaType: types.config, path: configPath }
  for (const b of [...layers, config]) {
    const how = await upload(client, b, opts.chunk ?? CHUNK, from, opts.progress)
    opts.progress.done(b.digest.slice(7, 19), how === 'exists' ? 'Layer already exists' : how === 'mounted' ? `Mounted from ${from}` : 'Pushed')
  }
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: types.manifest,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  }))
  const put = await client.send('PUT', `manifests/${ref.tag ?? 'latest'}`, {
    headers: { 'content-type': types.manifest, 'content-length': String(manifest.length) },
    body: () => manifest,
  })
  await put.arrayBuffer().catch(() => undefined)
  const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`
  opts.progress.finish()
  recordEvent(store.root, makeEvent('image', 'push', img.id, { name }))
  return { name, digest, size: manifest.length }
}

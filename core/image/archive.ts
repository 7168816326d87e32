// Image archives → verified images: `docker save` tars (classic and Docker 25 layouts), OCI image
// archives and OCI image layout directories. Does I/O (reads the unpacked archive).
//
// The archive is first unpacked into a staging directory (by node-tar, which keeps everything
// inside it); then only files named by the manifests are read, and every one is checked against
// its digest before it is used.
import { closeSync, existsSync, openSync, realpathSync, readFileSync, readSync, statSync } from 'node:fs'
import { arch } from 'node:os'
import { join, normalize } from 'node:path'
import { digestHex, sha256, sha256File } from '../digest.js'
import { SkiffError } from '../errors.js'
import { normalizeReference } from '../reference.js'
import type { OciImageConfig } from '../storage/store.js'

export interface ArchiveLayer {
  /** file inside the staging directory */
  file: string
  digest: string
  size: number
  mediaType: string
  diffID: string
}

export interface ArchiveImage {
  configDigest: string
  config: OciImageConfig
  configFile: string
  layers: ArchiveLayer[]
  names: string[]
  manifestDigest?: string
}

const MT_INDEX = ['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']

function damaged(what: string, hint = 'the archive is damaged or was not written by docker save / skopeo / podman save'): SkiffError {
  return new SkiffError('E_BAD_ARCHIVE', what, { hint })
}

function readJson<T>(path: string, what: string): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T
  } catch (err) {
    throw damaged(`cannot read ${what} (${path}): ${(err as Error).message}`)
  }
}

/**
 * A file named inside the archive, which must exist there: a name that leads out of it (`../x`,
 * `/etc/x`) or to nothing is a damaged archive, not a crash.
 */
function inside(dir: string, rel: unknown, what: string): string {
  if (typeof rel !== 'string' || !rel) throw damaged(`${what}: expected a file name in the archive, found ${JSON.stringify(rel)}`)
  const clean = normalize(rel)
  if (clean.startsWith('/') || clean.split('/').includes('..')) throw damaged(`${what}: the archive names a path outside itself: ${rel}`)
  const path = join(dir, clean)
  // docker save writes a layer that two images share once, and a symlink to it for the other:
  // follow links, but only to files that are in the archive too
  let real
  try {
    real = realpathSync(path)
  } catch {
    throw damaged(`${what}: ${rel} is not in the archive`)
  }
  const root = realpathSync(dir)
  if (!real.startsWith(`${root}/`)) throw damaged(`${what}: ${rel} links to a file outside the archive`)
  if (!statSync(real).isFile()) throw damaged(`${what}: ${rel} is not a regular file in the archive`)
  return real
}

/** JSON from the archive: unparsable is damaged, not a crash. */
function parseJson<T>(bytes: Buffer, what: string): T {
  try {
    const v = JSON.parse(bytes.toString('utf8')) as T
    if (!v || typeof v !== 'object') throw new Error('not a JSON object')
    return v
  } catch (err) {
    throw damaged(`${what} is not valid JSON: ${(err as Error).message}`)
  }
}

function parseConfig(bytes: Buffer, what: string): OciImageConfig {
  return parseJson<OciImageConfig>(bytes, `image config ${what}`)
}

function gzipped(file: string): boolean {
  const head = Buffer.alloc(2)
  const fd = openSync(file, 'r')
  try {
    return readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b
  } finally {
    closeSync(fd)
  }
}

function diffIDs(config: OciImageConfig, count: number, where: string): string[] {
  const ids = config.rootfs?.diff_ids ?? []
  if (ids.length !== count) throw damaged(`${where}: the config lists ${ids.length} layers but the manifest ${count}`)
  for (const id of ids) digestHex(id, 'diff_id')
  return ids
}

/** Every image in the unpacked archive (or layout directory) `dir`. */
export async function readArchive(dir: string): Promise<ArchiveImage[]> {
  if (existsSync(join(dir, 'manifest.json'))) return readDockerArchive(dir)
  if (existsSync(join(dir, 'index.json'))) return readOciLayout(dir)
  throw damaged('not an image archive: it has neither manifest.json (docker save) nor index.json (OCI)')
}

async function readDockerArchive(dir: string): Promise<ArchiveImage[]> {
  const manifest = readJson<{ Config: string; RepoTags?: string[] | null; Layers: string[] }[]>(join(dir, 'manifest.json'), 'manifest.json')
  if (!Array.isArray(manifest)) throw damaged('manifest.json is not a list')
  const out: ArchiveImage[] = []
  for (const m of manifest) {
    if (!m || typeof m !== 'object' || !Array.isArray(m.Layers)) throw damaged('manifest.json: an entry without Config and Layers')
    const configFile = inside(dir, m.Config, 'manifest.json Config')
    const configBytes = readFileSync(configFile)
    const configDigest = sha256(configBytes)
    // The file name carries the digest in both layouts (<hex>.json, blobs/sha256/<hex>).
    const named = /([0-9a-f]{64})(\.json)?$/.exec(m.Config)?.[1]
    if (named && `sha256:${named}` !== configDigest) throw damaged(`config ${m.Config} does not match its digest (got ${configDigest})`)
    const config = parseConfig(configBytes, m.Config)
    const ids = diffIDs(config, m.Layers.length, m.Config)
    const layers: ArchiveLayer[] = []
    for (const [i, rel] of m.Layers.entries()) {
      const file = inside(dir, rel, 'manifest.json Layers')
      const { digest, size } = await sha256File(file)
      const namedLayer = /blobs\/sha256\/([0-9a-f]{64})$/.exec(rel)?.[1]
      if (namedLayer && `sha256:${namedLayer}` !== digest) throw damaged(`layer ${rel} does not match its digest (got ${digest})`)
      const gz = gzipped(file)
      layers.push({
        file,
        digest,
        size,
        mediaType: gz ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.docker.image.rootfs.diff.tar',
        diffID: ids[i]!,
      })
    }
    const names = (m.RepoTags ?? []).map((t) => normalizeReference(t))
    out.push({ configDigest, config, configFile, layers, names })
  }
  return out
}

interface Descriptor {
  mediaType?: string
  digest: string
  size: number
  platform?: { architecture?: string; os?: string; variant?: string }
  annotations?: Record<string, string>
}

const hostArch = () => ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' })[arch()] ?? arch()

/** Read a blob named by a descriptor, checking its size and digest. */
function readBlob(dir: string, d: Descriptor): Buffer {
  const file = join(dir, 'blobs', 'sha256', digestHex(d.digest))
  if (!existsSync(file)) throw damaged(`blob ${d.digest} is missing from the archive`)
  const bytes = readFileSync(file)
  if (sha256(bytes) !== d.digest) throw damaged(`blob ${d.digest} does not match its digest (got ${sha256(bytes)})`)
  if (typeof d.size === 'number' && bytes.length !== d.size) throw damaged(`blob ${d.digest} has ${bytes.length} bytes, the manifest says ${d.size}`)
  return bytes
}

function nameOf(d: Descriptor): string[] {
  const full = d.annotations?.['io.containerd.image.name']
  const ref = d.annotations?.['org.opencontainers.image.ref.name']
  for (const n of [full, ref]) {
    // A bare tag ("latest") names no repository; only full references are kept.
    if (n && (n.includes('/') || n.includes(':'))) {
      try {
        return [normalizeReference(n)]
      } catch {
        continue
      }
    }
  }
  return []
}

async function readOciLayout(dir: string): Promise<ArchiveImage[]> {
  const index = readJson<{ manifests?: Descriptor[] }>(join(dir, 'index.json'), 'index.json')
  const out: ArchiveImage[] = []
  const visit = async (descs: Descriptor[], names: string[], depth: number): Promise<void> => {
    if (depth > 4) throw damaged('nested indexes go too deep')
    const manifests = descs.filter((d) => !MT_INDEX.includes(d.mediaType ?? ''))
    const indexes = descs.filter((d) => MT_INDEX.includes(d.mediaType ?? ''))
    for (const d of indexes) {
      const nested = parseJson<{ manifests?: Descriptor[] }>(readBlob(dir, d), `index ${d.digest}`)
      await visit(nested.manifests ?? [], [...names, ...nameOf(d)], depth + 1)
    }
    // Several platforms: the host's only (linux/amd64 here); a single manifest is taken as is.
    const candidates = manifests.length > 1 ? manifests.filter((d) => !d.platform || (d.platform.os === 'linux' && d.platform.architecture === hostArch())) : manifests
    for (const d of candidates) {
      const manifestBytes = readBlob(dir, d)
      const manifest = parseJson<{ config: Descriptor; layers: Descriptor[] }>(manifestBytes, `manifest ${d.digest}`)
      if (!manifest.config || !Array.isArray(manifest.layers)) throw damaged(`manifest ${d.digest} has no config or layers`)
      const configBytes = readBlob(dir, manifest.config)
      const config = parseConfig(configBytes, manifest.config.digest)
      const ids = diffIDs(config, manifest.layers.length, manifest.config.digest)
      const layers: ArchiveLayer[] = []
      for (const [i, l] of manifest.layers.entries()) {
        const file = join(dir, 'blobs', 'sha256', digestHex(l.digest))
        if (!existsSync(file)) throw damaged(`layer ${l.digest} is missing from the archive`)
        const { digest, size } = await sha256File(file)
        if (digest !== l.digest) throw damaged(`layer ${l.digest} does not match its digest (got ${digest})`)
        if (size !== l.size) throw damaged(`layer ${l.digest} has ${size} bytes, the manifest says ${l.size}`)
        layers.push({ file, digest, size, mediaType: l.mediaType ?? 'application/vnd.oci.image.layer.v1.tar', diffID: ids[i]! })
      }
      out.push({
        configDigest: manifest.config.digest,
        config,
        configFile: join(dir, 'blobs', 'sha256', digestHex(manifest.config.digest)),
        layers,
        names: [...new Set([...names, ...nameOf(d)])],
        manifestDigest: d.digest,
      })
    }
  }
  await visit(index.manifests ?? [], [], 0)
  if (out.length === 0) throw damaged(`the OCI index lists no image for linux/${hostArch()}`, 'choose an archive with an image for this machine')
  return out
}

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}

// skiff save: images → one archive that both `docker load` (Docker 25 layout: manifest.json over
// an OCI layout) and OCI tools read. Blobs go in unchanged, so every digest survives a
// save → rmi → load round trip. Does I/O.
import { randomBytes } from 'node:crypto'
import { copyFileSync, linkSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { create } from 'tar'
import { digestHex, sha256 } from '../digest.js'
import { familiarName } from './inspect.js'
import { resolvePaths } from '../paths.js'
import { parseReference } from '../reference.js'
import { blobPath, findImage, openStore, type ImageRecord, type Store } from '../storage/store.js'

const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar'

function ociLayerType(mediaType: string): string {
  return /gzip/.test(mediaType) ? `${OCI_LAYER}+gzip` : /zstd/.test(mediaType) ? `${OCI_LAYER}+zstd` : OCI_LAYER
}

/** `to`: the stream, or a function that opens it once every image is found. */
export async function saveImages(refs: string[], format: 'docker-archive' | 'oci-archive', to: NodeJS.WritableStream | (() => NodeJS.WritableStream)): Promise<void> {
  const store = await openStore(resolvePaths())
  const images: { rec: ImageRecord; name?: string }[] = []
  for (const ref of refs) {
    const rec = await findImage(store, ref)
    let name: string | undefined
    try {
      const r = parseReference(ref)
      const full = `${r.domain}/${r.path}:${r.tag}`
      if (!ref.startsWith('sha256:') && rec.names.includes(full)) name = full
    } catch {}
    images.push({ rec, name: name ?? rec.names[0] })
  }
  const out = typeof to === 'function' ? to() : to
  const dir = join(store.root, 'tmp', `save-${process.pid}-${randomBytes(4).toString('hex')}`)
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true })
  try {
    const files = new Set<string>(['oci-layout', 'index.json'])
    const put = (digest: string) => {
      const rel = `blobs/sha256/${digestHex(digest)}`
      if (files.has(rel)) return rel
      try {
        linkSync(blobPath(store, digest), join(dir, rel))
      } catch {
        copyFileSync(blobPath(store, digest), join(dir, rel))
      }
      files.add(rel)
      return rel
    }
    const index: object[] = []
    const dockerManifest: object[] = []
    for (const { rec, name } of images) {
      const configRel = put(rec.id)
      const layerRels = rec.layers.map((l) => put(l.digest))
      const manifest = Buffer.from(JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: rec.id, size: configSize(store, rec) },
        layers: rec.layers.map((l) => ({ mediaType: ociLayerType(l.mediaType), digest: l.digest, size: l.size })),
      }))
      const manifestDigest = sha256(manifest)
      writeFileSync(join(dir, 'blobs', 'sha256', digestHex(manifestDigest)), manifest)
      files.add(`blobs/sha256/${digestHex(manifestDigest)}`)
      const annotations: Record<string, string> = {}
      if (name) {
        annotations['io.containerd.image.name'] = name
        annotations['org.opencontainers.image.ref.name'] = parseReference(name).tag ?? 'latest'
      }
      index.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: manifestDigest, size: manifest.length, annotations })
      dockerManifest.push({ Config: configRel, RepoTags: name ? [familiarName(name)] : null, Layers: layerRels })
    }
    writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
    writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: index }))
    if (format === 'docker-archive') {
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify(dockerManifest))
      files.add('manifest.json')
    }
    await pipeline(create({ cwd: dir, portable: true, noDirRecurse: true }, [...files].sort()) as unknown as NodeJS.ReadableStream, out)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function configSize(store: Store, rec: ImageRecord): number {
  return statSync(blobPath(store, rec.id)).size
}

// An image record → the JSON `docker image inspect` prints (the fields tools read). Pure.
import { formatReference, parseReference } from '../reference.js'
import type { ImageRecord } from '../storage/store.js'

/** docker.io/library/busybox:latest → busybox:latest, as Docker prints RepoTags. */
export function familiarName(name: string): string {
  return name.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '')
}

export function inspectImage(rec: ImageRecord): Record<string, unknown> {
  const repoDigests = rec.manifestDigest
    ? [...new Set(rec.names.map((n) => {
        const r = parseReference(n)
        return familiarName(formatReference({ domain: r.domain, path: r.path })) + `@${rec.manifestDigest}`
      }))]
    : []
  return {
    Id: rec.id,
    RepoTags: rec.names.map(familiarName),
    RepoDigests: repoDigests,
    Parent: '',
    // Docker's: the comment of the image's last history line (commit -m, import -m)
    Comment: ((rec.config.history ?? []) as { comment?: string }[]).at(-1)?.comment ?? '',
    Created: rec.created ?? '',
    Author: rec.config.author ?? '',
    Config: rec.config.config ?? {},
    Architecture: rec.config.architecture ?? '',
    Os: rec.config.os ?? '',
    Size: rec.layers.reduce((n, l) => n + l.size, 0),
    RootFS: { Type: 'layers', Layers: rec.layers.map((l) => l.diffID) },
    Metadata: { LastTagTime: rec.loaded },
  }
}

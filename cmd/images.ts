// skiff images [-q] [--no-trunc] [--digests] [--format json|TEMPLATE]
import type { CommandSpec } from './cli.js'
import { formatTable, goTime } from './table.js'

interface ImagesArgs {
  repository?: string
  filter: string[]
  all: boolean
  quiet: boolean
  'no-trunc': boolean
  digests: boolean
  format?: string
}

/** "3 days ago", as Docker prints CREATED. */
export function ago(iso: string | undefined, now = Date.now()): string {
  if (!iso) return 'N/A'
  const s = Math.max(0, (now - Date.parse(iso)) / 1000)
  const units: [number, string][] = [[31536000, 'year'], [2592000, 'month'], [604800, 'week'], [86400, 'day'], [3600, 'hour'], [60, 'minute'], [1, 'second']]
  for (const [size, name] of units) {
    const n = Math.floor(s / size)
    if (n >= 1) return `${n} ${name}${n > 1 ? 's' : ''} ago`
  }
  return 'Less than a second ago'
}

/** 1.2MB, as Docker prints SIZE (powers of 1000). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB']
  let v = bytes
  let i = 0
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000
    i++
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0).replace(/\.0+$/, '')}${units[i]}`
}

/** The column of each field in `--format 'table …'`, as Docker names them. */
const IMAGE_HEADERS: Record<string, string> = {
  ID: 'IMAGE ID', Repository: 'REPOSITORY', Tag: 'TAG', Digest: 'DIGEST', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', Size: 'SIZE',
}

const spec: CommandSpec<ImagesArgs> = {
  usage: 'images [OPTIONS] [REPOSITORY[:TAG]]',
  describe: 'List images',
  positionals: ['repository'],
  options: [
    { name: 'all', alias: 'a', type: 'boolean', default: false, describe: 'All images, with the intermediate ones skiff build makes (its cache)' },
    { name: 'filter', alias: 'f', type: 'string', array: true, placeholder: 'KEY=VALUE', describe: 'Only images that match: dangling, label, before, since, reference' },
    { name: 'quiet', alias: 'q', type: 'boolean', default: false, describe: 'Only show image ids' },
    { name: 'no-trunc', type: 'boolean', default: false, describe: "Don't truncate ids" },
    { name: 'digests', type: 'boolean', default: false, describe: 'Show manifest digests' },
    { name: 'format', type: 'string', placeholder: 'FORMAT', describe: "json (one array), or a Go template: '{{.Repository}}:{{.Tag}}', 'table {{.ID}}\\t{{.Size}}' (fields: ID Repository Tag Digest CreatedSince CreatedAt Size)" },
  ],
  handler: async (argv) => {
    const { additionalStores, listImages, openStore } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const { parseReference, familiarRepository } = await import('../core/reference.js')
    const { compareText } = await import('../core/clock.js')
    const store = await openStore(resolvePaths())
    // a row (one name of an image) shown: with a reference filter, only the names it matches
    let rowFilter: (repo: string, tag: string) => boolean = () => true
    // and the read-only stores' images that the user's store does not have (podman lists them too)
    const own = listImages(store)
    const shared = additionalStores().flatMap((root) => listImages({ root }).map((i) => ({ ...i, store: root })))
    let images = [...own, ...shared.filter((i, n) => !own.some((o) => o.id === i.id) && shared.findIndex((x) => x.id === i.id) === n)].filter((i) => argv.all || !i.intermediate || i.names.length > 0).sort((a, b) => compareText(b.created ?? '', a.created ?? ''))
    if (argv.filter.length || argv.repository) {
      const { imageFilters, imageMatches, rowMatches } = await import('../core/image/filter.js')
      const { findImage } = await import('../core/storage/store.js')
      const filters = imageFilters(argv.filter)
      // IMAGE[:TAG] given as an argument is Docker's reference filter
      if (argv.repository) filters.set('reference', [...(filters.get('reference') ?? []), argv.repository])
      const created = new Map<string, string | undefined>()
      for (const v of [...(filters.get('before') ?? []), ...(filters.get('since') ?? [])]) created.set(v, (await findImage(store, v)).created)
      images = images.filter((i) => imageMatches(i, filters, (ref) => created.get(ref)))
      const references = filters.get('reference')
      if (references) rowFilter = (repo, tag) => rowMatches(repo, tag, references)
    }
    const id = (full: string) => (argv['no-trunc'] ? full : full.slice(7, 19))
    if (argv.format === 'json') {
      const rows = images.map((i) => ({
        Id: i.id,
        Names: i.names,
        Digest: i.manifestDigest ?? '',
        Created: i.created ?? '',
        Size: i.layers.reduce((n, l) => n + l.size, 0),
        Layers: i.layers.map((l) => l.diffID),
      }))
      process.stdout.write(JSON.stringify(rows, null, 2) + '\n')
      return
    }
    if (argv.quiet) {
      process.stdout.write([...new Set(images.map((i) => id(i.id)))].map((s) => `${s}\n`).join(''))
      return
    }
    // one row per name, as Docker lists them
    const rows = images.flatMap((img) => (img.names.length > 0 ? img.names : ['<none>:<none>']).flatMap((name) => {
      let repo = '<none>'
      let tag = '<none>'
      if (name !== '<none>:<none>') {
        const r = parseReference(name, true)
        repo = familiarRepository(r)
        tag = r.tag ?? '<none>'
      }
      if (!rowFilter(repo, tag)) return []
      return [{
        ID: id(img.id),
        Repository: repo,
        Tag: tag,
        Digest: img.manifestDigest ?? '<none>',
        CreatedSince: ago(img.created),
        CreatedAt: goTime(img.created),
        Size: humanSize(img.layers.reduce((n, l) => n + l.size, 0)),
      }]
    }))
    if (argv.format !== undefined) {
      const { formatRows } = await import('./format.js')
      process.stdout.write(formatRows(argv.format, rows, IMAGE_HEADERS, `{{.Repository}}\t{{.Tag}}\t${argv.digests ? '{{.Digest}}\t' : ''}{{.ID}}\t{{.CreatedSince}}\t{{.Size}}`))
      return
    }
    const table: string[][] = [['REPOSITORY', 'TAG', ...(argv.digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'SIZE']]
    for (const r of rows) table.push([r.Repository, r.Tag, ...(argv.digests ? [r.Digest] : []), r.ID, r.CreatedSince, r.Size])
    process.stdout.write(formatTable(table))
  },
}
export default spec

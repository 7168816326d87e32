// skiff system df (what the store holds and what could be reclaimed) and system prune (that
// reclaimed: stopped containers, unused networks and images, with --volumes unused volumes).
import { lstatSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { SkiffError } from '../core/errors.js'
import type { CommandSpec } from './cli.js'
import { formatTable } from './table.js'
import { humanSize } from './images.js'

interface SystemArgs {
  action: string
  format?: string
  all: boolean
  volumes: boolean
  force: boolean
}

/** Bytes under `dir`, not following symlinks (hard links counted once). */
export function duTree(dir: string, seen = new Set<string>()): number {
  let total = 0
  let entries: string[]
  try {
    entries = readdirSync(dir)
  } catch {
    return 0
  }
  for (const name of entries) {
    const p = join(dir, name)
    let st
    try {
      st = lstatSync(p)
    } catch {
      continue
    }
    const key = `${st.dev}:${st.ino}`
    if (seen.has(key)) continue
    seen.add(key)
    total += st.blocks * 512
    if (st.isDirectory()) total += duTree(p, seen)
  }
  return total
}

const spec: CommandSpec<SystemArgs> = {
  usage: 'system df [--format json] | system prune [-a] [--volumes] [-f]',
  describe: 'Show disk usage, or remove what no container needs',
  positionals: ['action'],
  required: 1,
  options: [
    { name: 'format', type: 'string', placeholder: 'FORMAT', describe: 'df: json, or a Go template (fields: Type TotalCount Active Size Reclaimable)' },
    { name: 'all', alias: 'a', type: 'boolean', default: false, describe: 'prune: every image no container uses, not only untagged ones' },
    { name: 'volumes', type: 'boolean', default: false, describe: 'prune: volumes no container uses too' },
    { name: 'force', alias: 'f', type: 'boolean', default: false, describe: 'prune: do not ask (skiff never asks)' },
  ],
  handler: async (argv) => {
    if (argv.action === 'prune') {
      const { openStore } = await import('../core/storage/store.js')
      const { resolvePaths } = await import('../core/paths.js')
      const { pruneContainers, pruneImages, pruneVolumes } = await import('../core/container/prune.js')
      const store = await openStore(resolvePaths())
      const list = (title: string, items: string[]) => (items.length ? `${title}:\n${items.map((i) => `${i}\n`).join('')}\n` : '')
      process.stdout.write(list('Deleted Containers', await pruneContainers(store)))
      const { pruneNetworks } = await import('../core/container/networks.js')
      process.stdout.write(list('Deleted Networks', pruneNetworks(store)))
      if (argv.volumes) process.stdout.write(list('Deleted Volumes', await pruneVolumes(store)))
      process.stdout.write(list('Deleted Images', await pruneImages(store, argv.all)))
      // and the build cache, as docker system prune removes it
      const { pruneBuildCache } = await import('../core/build/prune.js')
      const cache = await pruneBuildCache(store)
      process.stdout.write(list('Deleted build cache objects', cache.images))
      return
    }
    if (argv.action !== 'df') throw new SkiffError('E_USAGE', `unknown system command ${argv.action}`, { hint: 'skiff system df, or skiff system prune' })
    const { listImages, openStore } = await import('../core/storage/store.js')
    const { listContainers } = await import('../core/container/records.js')
    const { resolvePaths } = await import('../core/paths.js')
    const store = await openStore(resolvePaths())
    const images = listImages(store)
    const containers = listContainers(store)
    const used = new Set(containers.map((c) => c.imageId))
    const rows = [
      { Type: 'Images', Total: images.length, Active: images.filter((i) => used.has(i.id)).length, Size: duTree(join(store.root, 'blobs')) + duTree(join(store.root, 'layers')), Reclaimable: 0 },
      { Type: 'Containers', Total: containers.length, Active: containers.filter((c) => c.state.status === 'running').length, Size: duTree(join(store.root, 'containers')), Reclaimable: 0 },
      { Type: 'Staging (tmp)', Total: readdirSync(join(store.root, 'tmp')).length, Active: 0, Size: duTree(join(store.root, 'tmp')), Reclaimable: 0 },
    ]
    // what `image prune -a`, `rm` of stopped containers, and a later load would free
    const unusedImages = images.filter((i) => !used.has(i.id))
    const usedLayers = new Set(images.filter((i) => used.has(i.id)).flatMap((i) => i.layers.map((l) => l.diffID)))
    rows[0]!.Reclaimable = unusedImages.flatMap((i) => i.layers).filter((l) => !usedLayers.has(l.diffID)).reduce((n, l) => n + l.size, 0)
    rows[1]!.Reclaimable = containers.filter((c) => c.state.status !== 'running').reduce((n, c) => n + duTree(join(store.root, 'containers', c.id)), 0)
    rows[2]!.Reclaimable = rows[2]!.Size
    if (argv.format === 'json') {
      process.stdout.write(JSON.stringify(rows, null, 2) + '\n')
      return
    }
    if (argv.format !== undefined) {
      const { formatRows } = await import('./format.js')
      const view = rows.map((r) => ({ Type: r.Type, TotalCount: String(r.Total), Active: String(r.Active), Size: humanSize(r.Size), Reclaimable: humanSize(r.Reclaimable) }))
      const headers = { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' }
      process.stdout.write(formatRows(argv.format, view, headers, '{{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}'))
      return
    }
    const table = [['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'], ...rows.map((r) => [r.Type, String(r.Total), String(r.Active), humanSize(r.Size), humanSize(r.Reclaimable)])]
    process.stdout.write(formatTable(table))
    process.stdout.write(`storage: ${store.root}\n`)
  },
}
export default spec

// skiff system df: what the store holds and what could be reclaimed.
import { lstatSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { SkiffError } from '../core/errors.js'
import type { CommandSpec } from './cli.js'
import { formatTable } from './table.js'
import { humanSize } from './images.js'

interface SystemArgs {
  action: string
  format?: string
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
  usage: 'system df [--format json]',
  describe: 'Show disk usage of images, layers and containers',
  positionals: ['action'],
  required: 1,
  options: [{ name: 'format', type: 'string', placeholder: 'json', describe: 'Print as JSON' }],
  handler: async (argv) => {
    if (argv.action !== 'df') throw new SkiffError('E_USAGE', `unknown system command ${argv.action}`, { hint: 'skiff system df' })
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
    const table = [['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'], ...rows.map((r) => [r.Type, String(r.Total), String(r.Active), humanSize(r.Size), humanSize(r.Reclaimable)])]
    process.stdout.write(formatTable(table))
    process.stdout.write(`storage: ${store.root}\n`)
  },
}
export default spec

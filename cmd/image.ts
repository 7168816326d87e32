// skiff image inspect IMAGE... | skiff image prune [-a]
import { SkiffError } from '../core/errors.js'
import type { CommandSpec } from './cli.js'

interface ImageArgs {
  action: string
  args: string[]
  all: boolean
}

const spec: CommandSpec<ImageArgs> = {
  usage: 'image inspect IMAGE [IMAGE...] | image prune [-a]',
  describe: 'Inspect images (Docker-compatible JSON), or remove unused ones',
  positionals: ['action', 'args...'],
  required: 1,
  options: [{ name: 'all', alias: 'a', type: 'boolean', default: false, describe: 'prune: every image no container uses, not only untagged ones' }],
  handler: async (argv) => {
    const { findImage, listImages, openStore, removeImage } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const store = await openStore(resolvePaths())
    if (argv.action === 'inspect') {
      if (argv.args.length === 0) throw new SkiffError('E_USAGE', 'image inspect needs an image', { hint: 'skiff image inspect IMAGE' })
      const { inspectImage } = await import('../core/image/inspect.js')
      const out = []
      for (const ref of argv.args) out.push(inspectImage(await findImage(store, ref)))
      process.stdout.write(JSON.stringify(out, null, 4) + '\n')
      return
    }
    if (argv.action === 'prune') {
      const { listContainers } = await import('../core/container/records.js')
      const { removeTrees } = await import('../core/storage/remove-trees.js')
      const used = new Set(listContainers(store).map((c) => c.imageId))
      const doomed: string[] = []
      for (const img of listImages(store)) {
        if (used.has(img.id) || (!argv.all && img.names.length > 0)) continue
        const r = await removeImage(store, img.id, false, () => false)
        process.stdout.write(`Deleted: ${r.deleted}\n`)
        doomed.push(...r.unusedLayers)
      }
      await removeTrees(store, doomed, 'prune')
      return
    }
    throw new SkiffError('E_USAGE', `unknown image command ${argv.action}`, { hint: 'skiff image inspect IMAGE, or skiff image prune [-a]' })
  },
}
export default spec

// skiff rmi [-f] IMAGE [IMAGE...]
import type { CommandSpec } from './cli.js'

interface RmiArgs {
  images: string[]
  force: boolean
}

const spec: CommandSpec<RmiArgs> = {
  usage: 'rmi [-f] IMAGE [IMAGE...]',
  describe: 'Remove images',
  positionals: ['images...'],
  required: 1,
  options: [{ name: 'force', alias: 'f', type: 'boolean', default: false, describe: 'Remove images even when containers use them' }],
  handler: async (argv) => {
    const { openStore, removeImage } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const { listContainers } = await import('../core/container/records.js')
    const { removeTrees } = await import('../core/storage/remove-trees.js')
    const store = await openStore(resolvePaths())
    const used = new Set(listContainers(store).map((c) => c.imageId))
    const doomed: string[] = []
    for (const ref of argv.images) {
      const r = await removeImage(store, ref, argv.force, (id) => used.has(id))
      for (const n of r.untagged) process.stdout.write(`Untagged: ${n}\n`)
      if (r.deleted) process.stdout.write(`Deleted: ${r.deleted}\n`)
      doomed.push(...r.unusedLayers)
    }
    await removeTrees(store, doomed, 'rmi')
  },
}
export default spec

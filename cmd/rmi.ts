// skiff rmi [-f] IMAGE [IMAGE...]
import type { CommandSpec } from './cli.js'

interface RmiArgs {
  images: string[]
  force: boolean
  all: boolean
}

const spec: CommandSpec<RmiArgs> = {
  usage: 'rmi [-f] IMAGE [IMAGE...] | rmi -a [-f]',
  describe: 'Remove images',
  positionals: ['images...'],
  options: [
    { name: 'force', alias: 'f', type: 'boolean', default: false, describe: 'Remove images even when containers use them' },
    { name: 'all', alias: 'a', type: 'boolean', default: false, describe: 'Remove every image (as podman rmi -a)' },
  ],
  handler: async (argv) => {
    const { openStore, removeImage } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const { listContainers } = await import('../core/container/records.js')
    const { removeTrees } = await import('../core/storage/remove-trees.js')
    const { SkiffError } = await import('../core/errors.js')
    if (!argv.all && argv.images.length === 0) throw new SkiffError('E_USAGE', 'rmi needs an image (or -a for all of them)', { hint: 'skiff rmi IMAGE' })
    if (argv.all && argv.images.length) throw new SkiffError('E_USAGE', 'rmi -a removes every image: name none', { hint: 'skiff rmi -a, or skiff rmi IMAGE...' })
    const store = await openStore(resolvePaths())
    const used = new Set(listContainers(store).map((c) => c.imageId))
    const doomed: string[] = []
    const refs = argv.all ? (await import('../core/storage/store.js')).listImages(store).map((i) => i.id) : argv.images
    for (const ref of refs) {
      const r = await removeImage(store, ref, argv.force, (id) => used.has(id))
      for (const n of r.untagged) process.stdout.write(`Untagged: ${n}\n`)
      if (r.deleted) process.stdout.write(`Deleted: ${r.deleted}\n`)
      doomed.push(...r.unusedLayers)
    }
    await removeTrees(store, doomed, 'rmi')
  },
}
export default spec

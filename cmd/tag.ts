// skiff tag SOURCE TARGET [TARGET...]
import type { CommandSpec } from './cli.js'

interface TagArgs {
  source: string
  targets: string[]
}

const spec: CommandSpec<TagArgs> = {
  usage: 'tag SOURCE_IMAGE TARGET_IMAGE [TARGET_IMAGE...]',
  describe: 'Give an image other names',
  positionals: ['source', 'targets...'],
  required: 2,
  options: [],
  handler: async (argv) => {
    const { openStore, tagImage } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    await tagImage(await openStore(resolvePaths()), argv.source, argv.targets)
  },
}
export default spec

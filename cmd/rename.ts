// skiff rename CONTAINER NEW_NAME
import type { CommandSpec } from './cli.js'

const spec: CommandSpec<{ container: string; name: string }> = {
  usage: 'rename CONTAINER NEW_NAME',
  describe: 'Rename a container',
  positionals: ['container', 'name'],
  required: 2,
  options: [],
  handler: async (argv) => {
    const { openStore } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const { renameContainer } = await import('../core/container/rename.js')
    const { findContainer } = await import('../core/container/records.js')
    const store = await openStore(resolvePaths())
    renameContainer(store, findContainer(store, argv.container), argv.name)
  },
}
export default spec

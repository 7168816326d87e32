// skiff rm CONTAINER [CONTAINER...]
import { SkiffError } from '../core/errors.js'
import type { CommandSpec } from './cli.js'

interface RmArgs {
  containers: string[]
}

const spec: CommandSpec<RmArgs> = {
  usage: 'rm CONTAINER [CONTAINER...]',
  describe: 'Remove stopped containers',
  positionals: ['containers...'],
  required: 1,
  options: [],
  handler: async (argv) => {
    const { containerDir, findContainer } = await import('../core/containers.js')
    const { openStore } = await import('../core/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const { removeTrees } = await import('../core/remove-trees.js')
    const store = await openStore(resolvePaths())
    const targets = argv.containers.map((name) => findContainer(store, name))
    for (const c of targets) {
      if (c.status === 'running') {
        throw new SkiffError('E_CONTAINER_RUNNING', `container ${c.id.slice(0, 12)} is running (skiff process ${c.pid})`, {
          hint: 'stop it first: it ends when its command does, or with Ctrl-C in its terminal',
        })
      }
    }
    await removeTrees(store, targets.map((c) => containerDir(store, c.id)), 'rm')
    for (const c of targets) process.stdout.write(`${c.id}\n`)
  },
}
export default spec

// skiff container prune (every container that is not running, removed) and container exists. (`container ls`, `container
// rm` and the other Docker spellings are mapped to their verbs in main.ts.)
import { SkiffError } from '../core/errors.js'
import type { CommandSpec } from './cli.js'

interface ContainerArgs {
  action: string
  args: string[]
  force: boolean
}

const spec: CommandSpec<ContainerArgs> = {
  usage: 'container prune [-f] | container exists NAME | container ls|inspect|rm|start|stop|kill|restart|wait|logs|exec ...',
  describe: 'Manage containers',
  positionals: ['action', 'args...'],
  required: 1,
  options: [{ name: 'force', alias: 'f', type: 'boolean', default: false, describe: 'prune: do not ask (skiff never asks)' }],
  handler: async (argv) => {
    if (argv.action !== 'prune' && argv.action !== 'exists') {
      throw new SkiffError('E_USAGE', `unknown container command ${argv.action}`, { hint: 'container ls, inspect, rm, start, stop, kill, restart, wait, logs, exec, prune or exists' })
    }
    const { openStore } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const store = await openStore(resolvePaths())
    if (argv.action === 'exists') {
      // exit 0 when the container is here, 1 when not (podman container exists)
      const { findContainer } = await import('../core/container/records.js')
      if (argv.args.length !== 1) throw new SkiffError('E_USAGE', 'container exists takes one container', { hint: 'skiff container exists NAME' })
      try {
        findContainer(store, argv.args[0]!)
      } catch (err) {
        if ((err as SkiffError).code !== 'E_NO_CONTAINER') throw err
        process.exitCode = 1
      }
      return
    }
    const { pruneContainers } = await import('../core/container/prune.js')
    const removed = await pruneContainers(store)
    process.stdout.write(removed.length ? `Deleted Containers:\n${removed.map((id) => `${id}\n`).join('')}` : '')
  },
}
export default spec

// skiff container prune: remove every container that is not running. (`container ls`, `container
// rm` and the other Docker spellings are mapped to their verbs in main.ts.)
import { SkiffError } from '../core/errors.js'
import type { CommandSpec } from './cli.js'

interface ContainerArgs {
  action: string
  force: boolean
}

const spec: CommandSpec<ContainerArgs> = {
  usage: 'container prune [-f] | container ls|inspect|rm|start|stop|kill|restart|wait|logs|exec ...',
  describe: 'Manage containers',
  positionals: ['action'],
  required: 1,
  options: [{ name: 'force', alias: 'f', type: 'boolean', default: false, describe: 'prune: do not ask (skiff never asks)' }],
  handler: async (argv) => {
    if (argv.action !== 'prune') {
      throw new SkiffError('E_USAGE', `unknown container command ${argv.action}`, { hint: 'container ls, inspect, rm, start, stop, kill, restart, wait, logs, exec or prune' })
    }
    const { listContainers } = await import('../core/container/records.js')
    const { openStore } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const { removeContainers } = await import('../core/container/stop.js')
    const store = await openStore(resolvePaths())
    const stopped = listContainers(store).filter((c) => c.state.status === 'created' || c.state.status === 'exited')
    const removed = await removeContainers(store, stopped, false)
    process.stdout.write(removed.length ? `Deleted Containers:\n${removed.map((id) => `${id}\n`).join('')}` : '')
  },
}
export default spec

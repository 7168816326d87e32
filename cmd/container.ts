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
    const { dependents, removeContainers } = await import('../core/container/stop.js')
    const store = await openStore(resolvePaths())
    const all = listContainers(store)
    const isStopped = (c: (typeof all)[number]) => c.state.status === 'created' || c.state.status === 'exited'
    // one whose network a container that stays (a running one) shares, stays too
    const stopped = all.filter((c) => isStopped(c) && dependents(all, c).every(isStopped))
    const removed = await removeContainers(store, stopped, false)
    process.stdout.write(removed.length ? `Deleted Containers:\n${removed.map((id) => `${id}\n`).join('')}` : '')
  },
}
export default spec

// skiff rm CONTAINER [CONTAINER...]
import { renameSync } from 'node:fs'
import { join } from 'node:path'
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
    const { runSelfInUserns } = await import('../core/in-userns.js')
    const store = await openStore(resolvePaths())
    const targets = argv.containers.map((name) => findContainer(store, name))
    for (const c of targets) {
      if (c.status === 'running') {
        throw new SkiffError('E_CONTAINER_RUNNING', `container ${c.id.slice(0, 12)} is running (skiff process ${c.pid})`, {
          hint: 'stop it first: it ends when its command does, or with Ctrl-C in its terminal',
        })
      }
    }
    // Out of sight first (a rename, atomic), then removed inside the user namespace, where the
    // files of mapped ids in its upper layer can be deleted. A killed rm leaves only tmp/ debris.
    const doomed = targets.map((c) => {
      const to = join(store.root, 'tmp', `rm-${process.pid}-${c.id.slice(0, 12)}`)
      renameSync(containerDir(store, c.id), to)
      return to
    })
    await runSelfInUserns(['__storage'], JSON.stringify(doomed.map((path) => ({ op: 'remove', path }))))
    for (const c of targets) process.stdout.write(`${c.id}\n`)
  },
}
export default spec

// skiff rm [-f] CONTAINER [CONTAINER...]
import type { CommandSpec } from './cli.js'

interface RmArgs {
  containers: string[]
  force: boolean
  volumes: boolean
}

const spec: CommandSpec<RmArgs> = {
  usage: 'rm [-f] [-v] CONTAINER [CONTAINER...]',
  describe: 'Remove containers',
  positionals: ['containers...'],
  required: 1,
  options: [
    { name: 'force', alias: 'f', type: 'boolean', default: false, describe: 'Kill running containers first' },
    { name: 'volumes', alias: 'v', type: 'boolean', default: false, describe: 'Remove their anonymous volumes too' },
  ],
  handler: async (argv) => {
    const { findContainer } = await import('../core/container/records.js')
    const { openStore } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const { removeContainers } = await import('../core/container/stop.js')
    const { SkiffError } = await import('../core/errors.js')
    const store = await openStore(resolvePaths())
    const targets = []
    for (const name of argv.containers) {
      try {
        targets.push(findContainer(store, name))
      } catch (err) {
        // rm -f of a container that is not there is not an error (Docker)
        if (!(argv.force && (err as InstanceType<typeof SkiffError>).code === 'E_NO_CONTAINER')) throw err
      }
    }
    for (const id of await removeContainers(store, targets, argv.force)) {
      const c = targets.find((t) => t.id === id)!
      process.stdout.write(`${argv.containers.includes(c.name) ? c.name : id}\n`)
    }
    if (argv.volumes) {
      const { getVolume, removeVolumes } = await import('../core/storage/volumes.js')
      const anonymous = targets.flatMap((c) => c.mounts.filter((m) => m.Anonymous && m.Name && getVolume(store, m.Name)).map((m) => m.Name!))
      await removeVolumes(store, anonymous, () => [])
    }
  },
}
export default spec

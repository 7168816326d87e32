// skiff rm [-f] CONTAINER [CONTAINER...]
import type { CommandSpec } from './cli.js'

interface RmArgs {
  containers: string[]
  force: boolean
  volumes: boolean
  all: boolean
  time?: number
}

const spec: CommandSpec<RmArgs> = {
  usage: 'rm [-f] [-t SECONDS] [-v] CONTAINER [CONTAINER...] | rm -a [-f]',
  describe: 'Remove containers',
  positionals: ['containers...'],
  options: [
    { name: 'force', alias: 'f', type: 'boolean', default: false, describe: 'Stop running containers first (SIGKILL, or the stop signal and -t)' },
    { name: 'time', alias: 't', type: 'number', placeholder: 'SECONDS', describe: 'With -f: stop running containers with their stop signal, then SIGKILL after SECONDS' },
    { name: 'all', alias: 'a', type: 'boolean', default: false, describe: 'Remove every container (running ones only with -f), as podman rm -a' },
    { name: 'volumes', alias: 'v', type: 'boolean', default: false, describe: 'Remove their anonymous volumes too' },
  ],
  handler: async (argv) => {
    const { findContainer } = await import('../core/container/records.js')
    const { openStore } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const { removeContainers } = await import('../core/container/stop.js')
    const { SkiffError } = await import('../core/errors.js')
    if (!argv.all && argv.containers.length === 0) throw new SkiffError('E_USAGE', 'rm needs a container (or -a for all of them)', { hint: 'skiff rm CONTAINER' })
    if (argv.all && argv.containers.length) throw new SkiffError('E_USAGE', 'rm -a removes every container: name none', { hint: 'skiff rm -a, or skiff rm CONTAINER...' })
    if (argv.time !== undefined && (argv.time < 0 || !Number.isInteger(argv.time))) throw new SkiffError('E_USAGE', `--time ${argv.time}: expected whole seconds`, { hint: 'e.g. -t 5' })
    const store = await openStore(resolvePaths())
    const targets = []
    const { isUp, listContainers } = await import('../core/container/records.js')
    if (argv.all) {
      // the running ones only with -f, as podman; the others are removed
      targets.push(...listContainers(store).filter((c) => argv.force || !isUp(c.state)))
    }
    for (const name of argv.containers) {
      try {
        targets.push(findContainer(store, name))
      } catch (err) {
        // rm -f of a container that is not there is not an error (Docker)
        if (!(argv.force && (err as InstanceType<typeof SkiffError>).code === 'E_NO_CONTAINER')) throw err
      }
    }
    if (argv.force && argv.time !== undefined) {
      // -t: the stop signal first, SIGKILL only after the time (rm -f alone kills at once)
      const { stopContainer } = await import('../core/container/stop.js')
      for (const c of targets) if (isUp(c.state)) await stopContainer(store, c, argv.time)
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

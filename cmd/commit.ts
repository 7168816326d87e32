// skiff commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]
import type { CommandSpec } from './cli.js'

interface CommitArgs {
  container: string
  name?: string
  change: string[]
  message?: string
  author?: string
  pause: boolean
}

const spec: CommandSpec<CommitArgs> = {
  usage: 'commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]',
  describe: "Make a new image from a container's changes",
  positionals: ['container', 'name'],
  required: 1,
  options: [
    { name: 'change', alias: 'c', type: 'string', array: true, placeholder: 'INSTRUCTION', describe: 'A Dockerfile instruction for the config (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR, STOPSIGNAL)' },
    { name: 'message', alias: 'm', type: 'string', placeholder: 'TEXT', describe: 'A comment in the image history' },
    { name: 'author', alias: 'a', type: 'string', placeholder: 'NAME', describe: 'The author (e.g. "Ann <ann@example.org>")' },
    { name: 'pause', alias: 'p', type: 'boolean', default: true, describe: 'Pause a running container while its files are read (--pause=false: do not)' },
  ],
  handler: async (argv) => {
    const { openStore } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const { findContainer } = await import('../core/container/records.js')
    const { commitContainer } = await import('../core/build/commit.js')
    const store = await openStore(resolvePaths())
    const c = findContainer(store, argv.container)
    const id = await commitContainer(store, c, argv.name, { changes: argv.change, message: argv.message, author: argv.author, pause: argv.pause })
    process.stdout.write(`${id}\n`)
  },
}
export default spec

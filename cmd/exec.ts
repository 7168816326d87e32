// skiff exec [OPTIONS] CONTAINER COMMAND [ARG...]
import { SkiffError } from '../core/errors.js'
import type { CommandSpec } from './cli.js'
import { detachKeysOption, parseDetachKeysOption } from './detach-keys.js'

interface ExecArgs {
  container: string
  interactive: boolean
  tty: boolean
  detach: boolean
  'detach-keys'?: string
  'preserve-fds': number
  env: string[]
  'env-file': string[]
  user?: string
  workdir?: string
  privileged: boolean
}

/** --env-file as run reads it: regular text files of KEY=VALUE lines. */
async function envFromFiles(files: string[]): Promise<string[]> {
  if (!files.length) return []
  const { readUserTextFile } = await import('../core/user-file.js')
  const { parseEnvFile } = await import('./run-options.js')
  return files.flatMap((f) => parseEnvFile(readUserTextFile(f, '--env-file')))
}

const spec: CommandSpec<ExecArgs> = {
  usage: 'exec [OPTIONS] CONTAINER COMMAND [ARG...]',
  describe: 'Run a command in a running container',
  positionals: ['container'],
  required: 1,
  options: [
    { name: 'interactive', alias: 'i', type: 'boolean', default: false, describe: 'Keep stdin open' },
    { name: 'tty', alias: 't', type: 'boolean', default: false, describe: 'Allocate a pseudo-terminal' },
    { name: 'detach', alias: 'd', type: 'boolean', default: false, describe: 'Run the command in the background' },
    detachKeysOption,
    { name: 'preserve-fds', type: 'number', default: 0, placeholder: 'N', describe: "Pass skiff's fds 3 to 3+N-1 on to the command (as podman)" },
    { name: 'env', alias: 'e', type: 'string', array: true, placeholder: 'KEY=VALUE', describe: 'Set an environment variable' },
    { name: 'env-file', type: 'string', array: true, placeholder: 'FILE', describe: 'Read environment variables from a file (KEY=VALUE lines)' },
    { name: 'user', alias: 'u', type: 'string', placeholder: 'USER[:GROUP]', describe: 'User name or uid, and group' },
    { name: 'workdir', alias: 'w', type: 'string', placeholder: 'DIR', describe: 'Working directory inside the container' },
    { name: 'privileged', type: 'boolean', default: false, describe: "Every capability of the container's user namespace (its seccomp filter stays)" },
  ],
  handler: async (argv) => {
    if (argv.containerCommand.length === 0) {
      throw new SkiffError('E_USAGE', 'exec needs a command after the container', { hint: `e.g. skiff exec -it ${argv.container} sh` })
    }
    const { openStore } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const { findContainer } = await import('../core/container/records.js')
    const { execInContainer } = await import('../core/container/exec.js')
    if (argv.workdir !== undefined) (await import('./run-options.js')).checkWorkdir(argv.workdir)
    const detachKeys = parseDetachKeysOption(argv['detach-keys'])
    const store = await openStore(resolvePaths())
    const c = findContainer(store, argv.container)
    process.exitCode = await execInContainer(store, c, {
      args: argv.containerCommand,
      env: [...(await envFromFiles(argv['env-file'])), ...argv.env],
      user: argv.user,
      workdir: argv.workdir,
      tty: argv.tty,
      interactive: argv.interactive,
      detach: argv.detach,
      detachKeys,
      privileged: argv.privileged,
      preserveFds: argv['preserve-fds'] ? (await import('./run-options.js')).checkPreserveFds(argv['preserve-fds']) : 0,
    })
  },
}
export default spec

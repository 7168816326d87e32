// skiff run [OPTIONS] IMAGE [COMMAND] [ARG...]: create + start, attached or detached (-d).
import { mark } from '../core/trace.js'
import type { CommandSpec } from './cli.js'
import { detachKeysOption, parseDetachKeysOption } from './detach-keys.js'
import { checkPreserveFds, openCidfile, createOptions, toCreateOptions, type CreateArgs } from './run-options.js'

export { parseEnvFile } from './run-options.js'

interface RunArgs extends CreateArgs {
  detach: boolean
  'detach-keys'?: string
  'preserve-fds': number
}

const spec: CommandSpec<RunArgs> = {
  usage: 'run [OPTIONS] IMAGE [COMMAND] [ARG...]',
  describe: 'Run a command in a new container',
  positionals: ['image'],
  required: 1,
  options: [
    { name: 'detach', alias: 'd', type: 'boolean', default: false, describe: 'Run in the background and print the container id' },
    detachKeysOption,
    { name: 'preserve-fds', type: 'number', default: 0, placeholder: 'N', describe: "Pass skiff's fds 3 to 3+N-1 on to the command (as podman)" },
    ...createOptions,
  ],
  handler: async (argv) => {
    const opts = await toCreateOptions(argv)
    const detachKeys = parseDetachKeysOption(argv['detach-keys'])
    if (opts.logDriver === 'passthrough' && argv.detach) {
      const { SkiffError } = await import('../core/errors.js')
      throw new SkiffError('E_USAGE', '--log-driver passthrough passes the output to this terminal: it cannot be used with -d', { hint: 'drop -d, or use --log-driver k8s-file (the default) or none' })
    }
    mark('options made')
    // a rank of a Slurm job step under the hpc profile: the step's one container on this node
    if (opts.profile?.name === 'hpc' && !argv.detach) {
      const { localTasks, slurmStep, runInStep } = await import('../core/container/slurm-step.js')
      const step = slurmStep(process.env)
      // (one task on this node: it is the container's only user, and a plain run is the quicker)
      if (step && localTasks(process.env) !== 1) {
        if (argv.cidfile !== undefined || argv['preserve-fds'] || argv.name !== undefined) {
          const { SkiffError } = await import('../core/errors.js')
          throw new SkiffError('E_USAGE', 'in a Slurm job step the ranks share one container per node: --name, --cidfile and --preserve-fds do not apply (PMI_FD passes by itself)', { hint: 'leave them out, or give --profile=default for a container of each rank\'s own' })
        }
        process.exitCode = await runInStep(opts, step)
        return
      }
    }
    const { createContainer } = await import('../core/container/create.js')
    const { runPrelude, startContainer } = await import('../core/container/start.js')
    const preserveFds = argv['preserve-fds'] ? checkPreserveFds(argv['preserve-fds']) : 0
    const cidfile = openCidfile(argv.cidfile)
    const prelude = await runPrelude({ detach: argv.detach, interactive: opts.interactive, tty: opts.tty, net: opts.net, cgroups: opts.cgroups, preserveFds, userns: opts.userns })
    let created
    try {
      created = await createContainer(opts)
    } catch (err) {
      prelude?.cancel()
      cidfile?.remove()
      throw err
    }
    const { store, record } = created
    cidfile?.write(record.id)
    let detached = argv.detach
    try {
      const status = await startContainer(store, record, { detach: argv.detach, prelude, detachKeys, preserveFds })
      if (argv.detach) process.stdout.write(`${record.id}\n`)
      else if (status === undefined) detached = true
      else process.exitCode = status
    } finally {
      if (opts.rm && !detached) {
        const { forgetRemoved } = await import('../core/container/start.js')
        forgetRemoved(store, record)
      }
    }
  },
}
export default spec

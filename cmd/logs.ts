// skiff logs [-f] [-t] [--tail N] [--since T] [--until T] CONTAINER
import { SkiffError } from '../core/errors.js'
import type { CommandSpec } from './cli.js'

interface LogsArgs {
  container: string
  follow: boolean
  timestamps: boolean
  tail: string
  since?: string
  until?: string
}

const spec: CommandSpec<LogsArgs> = {
  usage: 'logs [OPTIONS] CONTAINER',
  describe: 'Show the output of a detached container',
  positionals: ['container'],
  required: 1,
  options: [
    { name: 'follow', alias: 'f', type: 'boolean', default: false, describe: 'Keep printing new output until the container stops' },
    { name: 'timestamps', alias: 't', type: 'boolean', default: false, describe: 'Show the time of every line' },
    { name: 'tail', alias: 'n', type: 'string', default: 'all', placeholder: 'N', describe: 'Only the last N lines' },
    { name: 'since', type: 'string', placeholder: 'TIME', describe: 'Only lines since TIME (2026-11-24T10:00:00Z, a Unix time, or 10m)' },
    { name: 'until', type: 'string', placeholder: 'TIME', describe: 'Only lines before TIME' },
  ],
  handler: async (argv) => {
    const { openStore } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const { containerFile, findContainer, readState } = await import('../core/container/records.js')
    const { parseSince, printLogs } = await import('../core/container/logs.js')
    const store = await openStore(resolvePaths())
    const c = findContainer(store, argv.container)
    if (c.hostConfig.LogDriver === 'none' || c.hostConfig.LogDriver === 'passthrough') {
      throw new SkiffError('E_NO_LOGS', `container ${c.name} keeps no logs (--log-driver ${c.hostConfig.LogDriver})`, { hint: 'run it with --log-driver k8s-file (the default) to keep its output' })
    }
    let tail: number | undefined
    if (argv.tail !== 'all') {
      if (!/^\d+$/.test(argv.tail)) throw new SkiffError('E_USAGE', `--tail ${argv.tail}: expected a number or "all"`, { hint: 'e.g. --tail 20' })
      tail = Number(argv.tail)
    }
    const up = () => ['running', 'restarting'].includes(readState(store, c).status)
    await printLogs(containerFile(store, c.id, 'ctr.log'), {
      follow: argv.follow,
      timestamps: argv.timestamps,
      tail,
      since: argv.since !== undefined ? parseSince(argv.since) : undefined,
      until: argv.until !== undefined ? parseSince(argv.until) : undefined,
    }, up, { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) })
  },
}
export default spec

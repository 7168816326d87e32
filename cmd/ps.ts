// skiff ps [-a] [-q] [--no-trunc] [--format json]
import type { CommandSpec } from './cli.js'
import { formatTable } from './table.js'
import { ago } from './images.js'

interface PsArgs {
  all: boolean
  quiet: boolean
  'no-trunc': boolean
  format?: string
}

const spec: CommandSpec<PsArgs> = {
  usage: 'ps [OPTIONS]',
  describe: 'List containers',
  positionals: [],
  options: [
    { name: 'all', alias: 'a', type: 'boolean', default: false, describe: 'Show all containers (default: running ones)' },
    { name: 'quiet', alias: 'q', type: 'boolean', default: false, describe: 'Only show container ids' },
    { name: 'no-trunc', type: 'boolean', default: false, describe: "Don't truncate output" },
    { name: 'format', type: 'string', placeholder: 'json', describe: 'Print as JSON (one array)' },
  ],
  handler: async (argv) => {
    const { listContainers } = await import('../core/containers.js')
    const { openStore } = await import('../core/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const all = listContainers(await openStore(resolvePaths()))
    const shown = argv.all ? all : all.filter((c) => c.status === 'running')
    if (argv.format === 'json') {
      process.stdout.write(JSON.stringify(shown, null, 2) + '\n')
      return
    }
    const id = (s: string) => (argv['no-trunc'] ? s : s.slice(0, 12))
    if (argv.quiet) {
      process.stdout.write(shown.map((c) => `${id(c.id)}\n`).join(''))
      return
    }
    const table = [['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS']]
    for (const c of shown) {
      let cmd = c.command.join(' ')
      if (!argv['no-trunc'] && cmd.length > 20) cmd = `${cmd.slice(0, 19)}…`
      const status = c.status === 'running' ? 'Up' : c.exitCode === undefined ? 'Exited' : `Exited (${c.exitCode}) ${ago(c.finishedAt)}`
      table.push([id(c.id), c.image, `"${cmd}"`, ago(c.created), status])
    }
    process.stdout.write(formatTable(table))
  },
}
export default spec

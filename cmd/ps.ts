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
    const { describeStatus, listContainers } = await import('../core/container/records.js')
    const { describePorts } = await import('../core/net/network.js')
    const { openStore } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const all = listContainers(await openStore(resolvePaths()))
    const shown = argv.all ? all : all.filter((c) => c.state.status === 'running' || c.state.status === 'restarting')
    const id = (s: string) => (argv['no-trunc'] ? s : s.slice(0, 12))
    if (argv.quiet) {
      process.stdout.write(shown.map((c) => `${id(c.id)}\n`).join(''))
      return
    }
    if (argv.format === 'json') {
      const rows = shown.map((c) => ({
        Id: c.id,
        Names: [c.name],
        Image: c.image,
        ImageID: c.imageId,
        Command: c.plan.process.args,
        Created: c.created,
        State: c.state.status,
        Status: describeStatus(c.state, ago),
        ExitCode: c.state.exitCode ?? null,
        Pid: c.state.pid ?? 0,
        StartedAt: c.state.startedAt ?? null,
        Mounts: c.mounts.map((m) => m.Destination),
        Ports: (c.network?.ports ?? []).map((p) => ({ host_ip: p.hostIp, host_port: p.hostPort, container_port: p.containerPort, protocol: p.proto })),
        Networks: [c.network?.mode ?? 'none'],
      }))
      process.stdout.write(JSON.stringify(rows, null, 2) + '\n')
      return
    }
    const table = [['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES']]
    for (const c of shown) {
      let cmd = c.plan.process.args.join(' ')
      if (!argv['no-trunc'] && cmd.length > 20) cmd = `${cmd.slice(0, 19)}…`
      table.push([id(c.id), c.image, `"${cmd}"`, ago(c.created), describeStatus(c.state, ago), describePorts(c.network?.ports ?? []), c.name])
    }
    process.stdout.write(formatTable(table))
  },
}
export default spec

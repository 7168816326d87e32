// skiff ps [-a] [-q] [--no-trunc] [--format json|TEMPLATE]
import type { CommandSpec } from './cli.js'
import { formatTable, goTime } from './table.js'
import { ago } from './images.js'

interface PsArgs {
  filter: string[]
  latest: boolean
  last?: number
  all: boolean
  quiet: boolean
  'no-trunc': boolean
  format?: string
}

/** The column of each field in `--format 'table …'`, as Docker names them. */
const PS_HEADERS: Record<string, string | (() => string)> = {
  ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', CreatedAt: 'CREATED AT', RunningFor: 'CREATED', Ports: 'PORTS',
  State: 'STATE', Status: 'STATUS', Names: 'NAMES', Labels: 'LABELS', Label: () => 'LABEL', Mounts: 'MOUNTS', Networks: 'NETWORKS',
}
const PS_TABLE = '{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}'

const spec: CommandSpec<PsArgs> = {
  usage: 'ps [OPTIONS]',
  describe: 'List containers',
  positionals: [],
  options: [
    { name: 'all', alias: 'a', type: 'boolean', default: false, describe: 'Show all containers (default: running ones)' },
    { name: 'latest', alias: 'l', type: 'boolean', default: false, describe: 'Only the container created last (of any state)' },
    { name: 'last', alias: 'n', type: 'number', placeholder: 'N', describe: 'Only the N containers created last (of any state)' },
    { name: 'filter', alias: 'f', type: 'string', array: true, placeholder: 'KEY=VALUE', describe: 'Only containers that match: id, name, label, status, exited, ancestor, before, since, volume, network, publish, expose, health' },
    { name: 'quiet', alias: 'q', type: 'boolean', default: false, describe: 'Only show container ids' },
    { name: 'no-trunc', type: 'boolean', default: false, describe: "Don't truncate output" },
    { name: 'format', type: 'string', placeholder: 'FORMAT', describe: "json (one array), or a Go template: '{{.Names}}', 'table {{.ID}}\\t{{.Status}}' (fields: ID Image Command CreatedAt RunningFor Ports State Status Names Labels Label Mounts Networks)" },
  ],
  handler: async (argv) => {
    const { describeStatus, findContainer, isUp, listContainers } = await import('../core/container/records.js')
    const { describePorts } = await import('../core/net/network.js')
    const { openStore } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const store = await openStore(resolvePaths())
    const all = listContainers(store)
    if (argv.last !== undefined && (argv.last < 0 || !Number.isInteger(argv.last))) {
      const { SkiffError } = await import('../core/errors.js')
      throw new SkiffError('E_USAGE', `--last ${argv.last}: expected a count`, { hint: 'e.g. -n 3' })
    }
    const filters = argv.filter.length ? (await import('../core/container/filter.js')).containerFilters(argv.filter) : undefined
    // every container with -a, -l, -n, or a status or exit-code filter (as Docker's); else the running ones
    const everyState = argv.all || argv.latest || argv.last !== undefined || !!filters?.has('status') || !!filters?.has('exited')
    let shown = everyState ? all : all.filter((c) => isUp(c.state))
    if (filters) {
      const { containerMatches } = await import('../core/container/filter.js')
      const { findImage } = await import('../core/storage/store.js')
      // the images ancestor= names, looked up once
      const imageIds = new Map<string, string | undefined>()
      for (const v of filters.get('ancestor') ?? []) imageIds.set(v, await findImage(store, v).then((i) => i.id, () => undefined))
      // and the containers before= and since= name, resolved as every verb resolves them
      const others = new Map<string, ReturnType<typeof findContainer> | undefined>()
      for (const v of [...(filters.get('before') ?? []), ...(filters.get('since') ?? [])]) {
        try {
          others.set(v, findContainer(store, v))
        } catch (err) {
          if ((err as { code?: string }).code !== 'E_NO_CONTAINER') throw err
        }
      }
      const look = { imageId: (ref: string) => imageIds.get(ref), container: (ref: string) => others.get(ref) }
      shown = shown.filter((c) => containerMatches(c, filters, look))
    }
    // listContainers gives the newest first
    if (argv.latest) shown = shown.slice(0, 1)
    else if (argv.last !== undefined && argv.last > 0) shown = shown.slice(0, argv.last)
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
        Networks: networkNames(c),
      }))
      process.stdout.write(JSON.stringify(rows, null, 2) + '\n')
      return
    }
    if (argv.format !== undefined) {
      // a Go template over Docker's fields (docker/cli formatter/container.go)
      const { formatRows } = await import('./format.js')
      const rows = shown.map((c) => {
        const labels: Record<string, string> = c.config.Labels ?? {}
        let cmd = c.plan.process.args.join(' ')
        if (!argv['no-trunc'] && cmd.length > 20) cmd = `${cmd.slice(0, 19)}…`
        return {
          ID: id(c.id),
          Image: c.image,
          Command: `"${cmd}"`,
          CreatedAt: goTime(c.created),
          RunningFor: ago(c.created),
          Ports: describePorts(c.network?.ports ?? []),
          State: c.state.status,
          Status: describeStatus(c.state, ago),
          Names: c.name,
          Labels: Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(','),
          Label: (key: unknown) => labels[String(key)] ?? '',
          Mounts: c.mounts.map((m) => m.Name ?? m.Source).join(','),
          Networks: networkNames(c).join(','),
        }
      })
      process.stdout.write(formatRows(argv.format, rows, PS_HEADERS, PS_TABLE))
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

/** The networks of a container as ps shows them: its bridge networks' names, or its mode. */
function networkNames(c: { network?: { mode: string; networks?: { name: string }[] } }): string[] {
  return c.network?.networks?.length ? c.network.networks.map((n) => n.name) : [c.network?.mode ?? 'none']
}

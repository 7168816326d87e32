// skiff volume create [NAME] | ls | inspect NAME... | rm [-f] NAME... | prune
import { SkiffError } from '../core/errors.js'
import type { CommandSpec } from './cli.js'
import { formatTable } from './table.js'

interface VolumeArgs {
  action: string
  names: string[]
  label: string[]
  filter: string[]
  quiet: boolean
  format?: string
  force: boolean
}

const spec: CommandSpec<VolumeArgs> = {
  usage: 'volume create [NAME] [--label K=V] | ls [-q] [--filter KEY=VALUE] [--format FORMAT] | inspect [--format FORMAT] NAME... | rm [-f] NAME... | prune [-f]',
  describe: 'Manage named volumes',
  positionals: ['action', 'names...'],
  required: 1,
  options: [
    { name: 'label', type: 'string', array: true, placeholder: 'KEY=VALUE', describe: 'create: a label' },
    { name: 'quiet', alias: 'q', type: 'boolean', default: false, describe: 'ls: names only' },
    { name: 'filter', type: 'string', array: true, placeholder: 'KEY=VALUE', describe: 'ls: only volumes that match: name, label, dangling (used by no container), driver' },
    { name: 'format', type: 'string', placeholder: 'FORMAT', describe: "ls, inspect: json, or a Go template ('{{.Name}}'; ls fields: Name Driver Scope Mountpoint Labels Label)" },
    { name: 'force', alias: 'f', type: 'boolean', default: false, describe: 'rm: no error for a missing volume; prune: do not ask (skiff never asks)' },
  ],
  handler: async (argv) => {
    const { openStore } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const vol = await import('../core/storage/volumes.js')
    const store = await openStore(resolvePaths())
    const { volumeUsers } = await import('../core/container/prune.js')
    const usedBy = volumeUsers(store)
    switch (argv.action) {
      case 'create': {
        if (argv.names.length > 1) throw new SkiffError('E_USAGE', 'volume create takes one name', { hint: 'skiff volume create NAME' })
        const labels = Object.fromEntries(argv.label.map((l) => [l.slice(0, l.indexOf('=') < 0 ? l.length : l.indexOf('=')), l.includes('=') ? l.slice(l.indexOf('=') + 1) : '']))
        const { volume } = vol.ensureVolume(store, argv.names[0] ?? '', labels)
        process.stdout.write(`${volume.Name}\n`)
        return
      }
      case 'ls':
      case 'list': {
        let all = vol.listVolumes(store)
        if (argv.filter.length) {
          const { filterBool, labelsMatch, matchFilters, nameMatches, parseFilters } = await import('../core/filters.js')
          const filters = parseFilters(argv.filter, ['name', 'label', 'dangling', 'driver'], 'volume ls')
          for (const d of filters.get('dangling') ?? []) filterBool('dangling', d)
          all = all.filter((v) => matchFilters(filters, (key, x) =>
            key === 'name' ? nameMatches(v.Name, x)
              : key === 'label' ? labelsMatch(v.Labels, [x])
                : key === 'dangling' ? filterBool(key, x) === (usedBy(v.Name).length === 0)
                  : v.Driver === x))
        }
        if (argv.quiet) return void process.stdout.write(all.map((v) => `${v.Name}\n`).join(''))
        if (argv.format === 'json') return void process.stdout.write(JSON.stringify(all, null, 2) + '\n')
        if (argv.format !== undefined) {
          const { formatRows } = await import('./format.js')
          const rows = all.map((v) => {
            const labels: Record<string, string> = v.Labels ?? {}
            return {
              Name: v.Name,
              Driver: v.Driver,
              Scope: v.Scope ?? 'local',
              Mountpoint: v.Mountpoint,
              Labels: Object.entries(labels).map(([k, x]) => `${k}=${x}`).join(','),
              Label: (key: unknown) => labels[String(key)] ?? '',
            }
          })
          const headers = { Name: 'VOLUME NAME', Driver: 'DRIVER', Scope: 'SCOPE', Mountpoint: 'MOUNTPOINT', Labels: 'LABELS', Label: () => 'LABEL' }
          return void process.stdout.write(formatRows(argv.format, rows, headers, '{{.Driver}}\t{{.Name}}'))
        }
        process.stdout.write(formatTable([['DRIVER', 'VOLUME NAME'], ...all.map((v) => [v.Driver, v.Name])]))
        return
      }
      case 'inspect': {
        if (!argv.names.length) throw new SkiffError('E_USAGE', 'volume inspect needs a name', { hint: 'skiff volume inspect NAME' })
        const out = argv.names.map((n) => {
          const v = vol.getVolume(store, n)
          if (!v) throw new SkiffError('E_NO_VOLUME', `No such volume: ${n}`, { hint: '`skiff volume ls` lists volumes' })
          return v
        })
        if (argv.format !== undefined && argv.format !== 'json') {
          const { formatObject } = await import('./format.js')
          return void process.stdout.write(out.map((v) => formatObject(argv.format!, v)).join(''))
        }
        process.stdout.write(JSON.stringify(out, null, 4) + '\n')
        return
      }
      case 'rm':
      case 'remove': {
        if (!argv.names.length) throw new SkiffError('E_USAGE', 'volume rm needs a name', { hint: 'skiff volume rm NAME' })
        const names = argv.force ? argv.names.filter((n) => vol.getVolume(store, n)) : argv.names
        for (const n of await vol.removeVolumes(store, names, usedBy)) process.stdout.write(`${n}\n`)
        return
      }
      case 'prune': {
        const { pruneVolumes } = await import('../core/container/prune.js')
        const unused = await pruneVolumes(store)
        process.stdout.write(unused.length ? `Deleted Volumes:\n${unused.map((n) => `${n}\n`).join('')}` : '')
        return
      }
      case 'exists': {
        if (argv.names.length !== 1) throw new SkiffError('E_USAGE', 'volume exists takes one name', { hint: 'skiff volume exists NAME' })
        process.exitCode = vol.getVolume(store, argv.names[0]!) ? 0 : 1
        return
      }
    }
    throw new SkiffError('E_USAGE', `unknown volume command ${argv.action}`, { hint: 'create, ls, inspect, rm, prune or exists' })
  },
}
export default spec

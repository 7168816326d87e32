// skiff network create | ls | inspect | rm | prune | connect | disconnect (| exists)
import { SkiffError } from '../core/errors.js'
import type { CommandSpec } from './cli.js'
import { formatTable } from './table.js'

interface NetworkArgs {
  action: string
  names: string[]
  subnet?: string
  gateway?: string
  'ip-range'?: string
  internal: boolean
  ipv6: boolean
  driver?: string
  label: string[]
  opt: string[]
  alias: string[]
  ip?: string
  filter: string[]
  quiet: boolean
  format?: string
  force: boolean
  'no-trunc': boolean
}

const USAGE = 'network create [--subnet CIDR] [--gateway IP] [--ip-range CIDR] [--internal] [--ipv6] [--label K=V] [--opt mtu=N] NAME | ls [-q] [--filter K=V] [--format F] | ' +
  'inspect [--format F] NET... | rm [-f] NET... | prune [-f] [--filter K=V] | connect [--alias A] [--ip IP] NET CONTAINER | disconnect [-f] NET CONTAINER'

const spec: CommandSpec<NetworkArgs> = {
  usage: USAGE,
  describe: 'Manage bridge networks: containers on one reach each other by name',
  positionals: ['action', 'names...'],
  required: 1,
  options: [
    { name: 'subnet', type: 'string', placeholder: 'CIDR', describe: 'create: the IPv4 subnet (default: a free 10.89.N.0/24)' },
    { name: 'gateway', type: 'string', placeholder: 'IP', describe: 'create: the gateway address (default: the first of the subnet)' },
    { name: 'ip-range', type: 'string', placeholder: 'CIDR', describe: 'create: hand out addresses from this part of the subnet only' },
    { name: 'internal', type: 'boolean', default: false, describe: 'create: no way out of the network (its containers reach only each other)' },
    { name: 'ipv6', type: 'boolean', default: false, describe: 'create: IPv6 addresses too (a ULA /64)' },
    { name: 'driver', alias: 'd', type: 'string', placeholder: 'DRIVER', describe: 'create: bridge (the only one)' },
    { name: 'label', type: 'string', array: true, placeholder: 'KEY=VALUE', describe: 'create: a label' },
    { name: 'opt', alias: 'o', type: 'string', array: true, placeholder: 'KEY=VALUE', describe: 'create: a driver option: mtu=N (com.docker.network.driver.mtu)' },
    { name: 'alias', type: 'string', array: true, placeholder: 'NAME', describe: 'connect: another name the container answers to there' },
    { name: 'ip', type: 'string', placeholder: 'IPv4', describe: 'connect: the address there' },
    { name: 'filter', type: 'string', array: true, placeholder: 'KEY=VALUE', describe: 'ls: name, id, driver, label, type (custom|builtin), dangling; prune: label. (-f is --filter for ls, --format for inspect, --force for rm, prune and disconnect, as in Docker)' },
    { name: 'quiet', alias: 'q', type: 'boolean', default: false, describe: 'ls: ids only' },
    { name: 'format', type: 'string', placeholder: 'FORMAT', describe: "ls, inspect: json, or a Go template ('{{.Name}}'; ls fields: ID Name Driver Scope IPv6 Internal Labels Label CreatedAt)" },
    { name: 'force', type: 'boolean', default: false, describe: 'rm: no error for a missing network; disconnect: no error when not connected; prune: do not ask (skiff never asks)' },
    { name: 'no-trunc', type: 'boolean', default: false, describe: 'ls: full ids' },
  ],
  handler: async (argv) => {
    const { openStore } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const nets = await import('../core/net/networks.js')
    const verbs = await import('../core/container/networks.js')
    const store = await openStore(resolvePaths())
    const root = store.root
    const one = (what: string, hint: string) => {
      if (argv.names.length !== 1) throw new SkiffError('E_USAGE', `network ${argv.action} takes one ${what}`, { hint })
      return argv.names[0]!
    }
    const pairs = (list: string[], what: string) => Object.fromEntries(list.map((l) => {
      const i = l.indexOf('=')
      if (what === '--opt' && i < 0) throw new SkiffError('E_USAGE', `--opt ${l}: expected KEY=VALUE`, { hint: 'e.g. --opt mtu=1500' })
      return i < 0 ? [l, ''] : [l.slice(0, i), l.slice(i + 1)]
    }))
    switch (argv.action) {
      case 'create': {
        const name = one('name', 'skiff network create [--subnet CIDR] NAME')
        if (argv.driver !== undefined && argv.driver !== 'bridge') {
          throw new SkiffError('E_USAGE', `--driver ${argv.driver}: skiff has only the bridge driver`, { hint: 'leave --driver out' })
        }
        let subnet = argv.subnet
        let ipv6 = argv.ipv6
        if (subnet?.includes(':')) throw new SkiffError('E_USAGE', `--subnet ${subnet}: give the IPv4 subnet; --ipv6 adds an IPv6 /64 of skiff's choosing`, { hint: 'e.g. --subnet 10.90.0.0/24 --ipv6' })
        const { ip4ToInt } = await import('../core/net/bridge.js')
        if (argv.gateway !== undefined && ip4ToInt(argv.gateway) === undefined) throw new SkiffError('E_USAGE', `--gateway ${argv.gateway}: not an IPv4 address`, { hint: 'e.g. --gateway 10.90.0.1' })
        const n = nets.createNetwork(root, {
          name, subnet, gateway: argv.gateway, ipRange: argv['ip-range'], internal: argv.internal, ipv6, labels: pairs(argv.label, '--label'), options: pairs(argv.opt, '--opt'),
        })
        const { makeEvent, recordEvent } = await import('../core/events.js')
        recordEvent(root, makeEvent('network', 'create', n.Id, { name: n.Name, type: 'bridge' }))
        process.stdout.write(`${n.Id}\n`)
        return
      }
      case 'ls':
      case 'list': {
        let all = nets.listNetworks(root)
        if (argv.filter.length) {
          const { filterBool, labelsMatch, matchFilters, nameMatches, parseFilters } = await import('../core/filters.js')
          const filters = parseFilters(argv.filter, ['name', 'id', 'driver', 'label', 'type', 'dangling'], 'network ls')
          all = all.filter((n) => matchFilters(filters, (key, x) =>
            key === 'name' ? nameMatches(n.Name, x)
              : key === 'id' ? n.Id.startsWith(x)
                : key === 'driver' ? x === 'bridge'
                  : key === 'label' ? labelsMatch(n.Labels, [x])
                    : key === 'type' ? (x === 'builtin') === !!n.Default
                      : filterBool(key, x) === (!n.Default && verbs.containersOn(store, n).length === 0)))
        }
        const id = (x: string) => (argv['no-trunc'] ? x : x.slice(0, 12))
        if (argv.quiet) return void process.stdout.write(all.map((n) => `${id(n.Id)}\n`).join(''))
        if (argv.format === 'json') return void process.stdout.write(JSON.stringify(all.map((n) => verbs.inspectNetworkWithContainers(store, n)), null, 2) + '\n')
        if (argv.format !== undefined) {
          const { formatRows } = await import('./format.js')
          const rows = all.map((n) => ({
            ID: id(n.Id),
            Name: n.Name,
            Driver: 'bridge',
            Scope: 'local',
            IPv6: String(!!n.Subnet6),
            Internal: String(n.Internal),
            Labels: Object.entries(n.Labels).map(([k, x]) => `${k}=${x}`).join(','),
            Label: (key: unknown) => n.Labels[String(key)] ?? '',
            CreatedAt: n.Created,
          }))
          const headers = { ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv6: 'IPV6', Internal: 'INTERNAL', Labels: 'LABELS', Label: () => 'LABEL', CreatedAt: 'CREATED' }
          return void process.stdout.write(formatRows(argv.format, rows, headers, '{{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}'))
        }
        process.stdout.write(formatTable([['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'], ...all.map((n) => [id(n.Id), n.Name, 'bridge', 'local'])]))
        return
      }
      case 'inspect': {
        if (!argv.names.length) throw new SkiffError('E_USAGE', 'network inspect needs a network', { hint: 'skiff network inspect NAME' })
        const out = argv.names.map((n) => verbs.inspectNetworkWithContainers(store, nets.findNetwork(root, n)))
        const format = argv.format
        if (format !== undefined && format !== 'json') {
          const { formatObject } = await import('./format.js')
          return void process.stdout.write(out.map((v) => formatObject(format, v)).join(''))
        }
        process.stdout.write(JSON.stringify(out, null, 4) + '\n')
        return
      }
      case 'rm':
      case 'remove': {
        if (!argv.names.length) throw new SkiffError('E_USAGE', 'network rm needs a network', { hint: 'skiff network rm NAME' })
        const { makeEvent, recordEvent } = await import('../core/events.js')
        let failed: unknown
        for (const ref of argv.names) {
          try {
            const n = nets.findNetwork(root, ref)
            verbs.removeNetwork(store, n)
            recordEvent(root, makeEvent('network', 'destroy', n.Id, { name: n.Name, type: 'bridge' }))
            process.stdout.write(`${ref}\n`)
          } catch (err) {
            if (argv.force && (err as SkiffError).code === 'E_NO_NETWORK') continue
            // Docker goes on with the others and fails at the end
            const { printError } = await import('./report.js')
            if (failed) printError(failed)
            failed = err
          }
        }
        if (failed) throw failed
        return
      }
      case 'prune': {
        let keep = (_n: { Labels: Record<string, string> }) => false
        if (argv.filter.length) {
          const { labelsMatch, matchFilters, parseFilters } = await import('../core/filters.js')
          const filters = parseFilters(argv.filter, ['label'], 'network prune')
          keep = (n) => !matchFilters(filters, (_key, x) => labelsMatch(n.Labels, [x]))
        }
        const removed = verbs.pruneNetworks(store, keep)
        process.stdout.write(removed.length ? `Deleted Networks:\n${removed.map((n) => `${n}\n`).join('')}` : '')
        return
      }
      case 'connect':
      case 'disconnect': {
        if (argv.names.length !== 2) throw new SkiffError('E_USAGE', `network ${argv.action} takes a network and a container`, { hint: `skiff network ${argv.action} NET CONTAINER` })
        const n = nets.findNetwork(root, argv.names[0]!)
        const { findContainer } = await import('../core/container/records.js')
        const rec = findContainer(store, argv.names[1]!)
        if (argv.action === 'connect') {
          if (argv.ip !== undefined) {
            const { ip4ToInt } = await import('../core/net/bridge.js')
            if (ip4ToInt(argv.ip) === undefined) throw new SkiffError('E_USAGE', `--ip ${argv.ip}: not an IPv4 address`, { hint: 'e.g. --ip 10.89.0.10' })
          }
          await verbs.connectContainer(store, rec, n, { aliases: argv.alias, ip: argv.ip })
        } else {
          await verbs.disconnectContainer(store, rec, n, argv.force)
        }
        const { containerEvent } = await import('../core/container/records.js')
        containerEvent(store, rec, argv.action, { network: n.Name })
        return
      }
      case 'exists': {
        const name = one('network', 'skiff network exists NAME')
        try {
          nets.findNetwork(root, name)
          process.exitCode = 0
        } catch {
          process.exitCode = 1
        }
        return
      }
    }
    throw new SkiffError('E_USAGE', `unknown network command ${argv.action}`, { hint: 'create, ls, inspect, rm, prune, connect, disconnect or exists' })
  },
}
export default spec

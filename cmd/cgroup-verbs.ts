// pause, unpause, update, stats: the verbs that use a container's cgroup. Each is a spec.
import { availableParallelism } from 'node:os'
import { SkiffError } from '../core/errors.js'
import type { CommandSpec } from './cli.js'
import { createOptions, parseSize } from './run-options.js'
import { formatTable } from './table.js'

async function open() {
  const { openStore } = await import('../core/storage/store.js')
  const { resolvePaths } = await import('../core/paths.js')
  const { findContainer } = await import('../core/container/records.js')
  const store = await openStore(resolvePaths())
  return { store, find: (name: string) => findContainer(store, name) }
}

export const pause: CommandSpec<{ containers: string[] }> = {
  usage: 'pause CONTAINER [CONTAINER...]',
  describe: 'Freeze every process of containers (cgroup.freeze)',
  positionals: ['containers...'],
  required: 1,
  options: [],
  handler: async (argv) => {
    const { store, find } = await open()
    const { pauseContainer } = await import('../core/container/cgroup.js')
    for (const n of argv.containers) {
      await pauseContainer(store, find(n))
      process.stdout.write(`${n}\n`)
    }
  },
}

export const unpause: CommandSpec<{ containers: string[] }> = {
  usage: 'unpause CONTAINER [CONTAINER...]',
  describe: 'Thaw paused containers',
  positionals: ['containers...'],
  required: 1,
  options: [],
  handler: async (argv) => {
    const { store, find } = await open()
    const { unpauseContainer } = await import('../core/container/cgroup.js')
    for (const n of argv.containers) {
      await unpauseContainer(store, find(n))
      process.stdout.write(`${n}\n`)
    }
  },
}

const LIMIT_FLAGS = ['memory', 'memory-reservation', 'memory-swap', 'cpus', 'cpu-shares', 'cpu-weight', 'cpuset-cpus', 'cpuset-mems', 'pids-limit', 'blkio-weight', 'cgroup-conf']

export const update: CommandSpec<Record<string, unknown> & { containers: string[] }> = {
  usage: 'update [LIMITS] CONTAINER [CONTAINER...]',
  describe: 'Change the limits of running containers',
  positionals: ['containers...'],
  required: 1,
  options: createOptions.filter((o) => LIMIT_FLAGS.includes(o.name)),
  handler: async (argv) => {
    const { store, find } = await open()
    const { updateContainer } = await import('../core/container/cgroup.js')
    const { parseCpus } = await import('../core/cgroup/limits.js')
    const size = (v: unknown, option: string) => (v === undefined ? undefined : v === '-1' ? -1 : parseSize(String(v), option))
    const conf: Record<string, string> = {}
    for (const kv of (argv['cgroup-conf'] as string[]) ?? []) conf[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1)
    const limits = {
      memory: size(argv.memory, '--memory'),
      memoryReservation: size(argv['memory-reservation'], '--memory-reservation'),
      memorySwap: size(argv['memory-swap'], '--memory-swap'),
      cpus: argv.cpus !== undefined ? parseCpus(String(argv.cpus)) : undefined,
      cpuShares: argv['cpu-shares'] as number | undefined,
      cpuWeight: argv['cpu-weight'] as number | undefined,
      cpusetCpus: argv['cpuset-cpus'] as string | undefined,
      cpusetMems: argv['cpuset-mems'] as string | undefined,
      pidsLimit: argv['pids-limit'] as number | undefined,
      blkioWeight: argv['blkio-weight'] as number | undefined,
      conf,
    }
    if (Object.entries(limits).every(([k, v]) => (k === 'conf' ? Object.keys(conf).length === 0 : v === undefined))) {
      throw new SkiffError('E_USAGE', 'update needs a limit to change', { hint: 'e.g. skiff update --memory 256m --cpus 1 web' })
    }
    for (const n of argv.containers) {
      updateContainer(store, find(n), limits)
      process.stdout.write(`${n}\n`)
    }
  },
}

const mb = (n: number) => (n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(2)}GiB` : `${(n / (1 << 20)).toFixed(2)}MiB`)

export const stats: CommandSpec<{ containers: string[]; 'no-stream': boolean; format?: string }> = {
  usage: 'stats [--no-stream] [--format json|TEMPLATE] [CONTAINER...]',
  describe: 'CPU, memory, pids and block I/O of running containers (from their cgroups)',
  positionals: ['containers...'],
  options: [
    { name: 'no-stream', type: 'boolean', default: false, describe: 'One reading, then exit' },
    { name: 'format', type: 'string', placeholder: 'FORMAT', describe: 'json (one JSON array per reading), or a Go template (fields: Container ID Name CPUPerc MemUsage MemPerc BlockIO PIDs)' },
  ],
  handler: async (argv) => {
    const { store, find } = await open()
    const { listContainers } = await import('../core/container/records.js')
    const { cgroupOf, readStats } = await import('../core/container/cgroup.js')
    const targets = argv.containers.length ? argv.containers.map(find) : listContainers(store).filter((c) => c.state.status === 'running')
    const withCg = targets.map((c) => ({ c, cg: cgroupOf(store, c) }))
    for (const t of withCg) {
      if (!t.cg) throw new SkiffError('E_NO_CGROUP', `container ${t.c.name} has no cgroup: no statistics`, { hint: '`skiff info` shows why this host gives containers no cgroup' })
    }
    const ncpu = availableParallelism()
    let before = withCg.map((t) => readStats(t.cg!))
    let at = Date.now()
    for (;;) {
      await new Promise((r) => setTimeout(r, 500))
      const now = withCg.map((t) => readStats(t.cg!))
      const dt = (Date.now() - at) * 1000
      const rows = withCg.map((t, i) => {
        const s = now[i]!
        const cpu = Math.max(0, ((s.cpuUsec - before[i]!.cpuUsec) / dt) * 100)
        return { id: t.c.id, name: t.c.name, cpuPercent: Number(cpu.toFixed(2)), memoryUsage: s.memory, memoryLimit: s.memoryLimit, pids: s.pids, blockRead: s.ioRead, blockWrite: s.ioWrite, cpus: ncpu }
      })
      if (argv.format === 'json') process.stdout.write(JSON.stringify(rows) + '\n')
      else if (argv.format !== undefined) {
        // Docker's stats fields (docker/cli formatter/stats.go)
        const { formatRows } = await import('./format.js')
        const view = rows.map((r) => ({
          Container: r.id.slice(0, 12),
          ID: r.id.slice(0, 12),
          Name: r.name,
          CPUPerc: `${r.cpuPercent.toFixed(2)}%`,
          MemUsage: `${mb(r.memoryUsage)} / ${r.memoryLimit === 'max' ? 'unlimited' : mb(r.memoryLimit)}`,
          MemPerc: r.memoryLimit === 'max' ? '--' : `${((r.memoryUsage / Number(r.memoryLimit)) * 100).toFixed(2)}%`,
          BlockIO: `${mb(r.blockRead)} / ${mb(r.blockWrite)}`,
          PIDs: String(r.pids),
        }))
        const headers = { Container: 'CONTAINER', ID: 'CONTAINER ID', Name: 'NAME', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT', MemPerc: 'MEM %', BlockIO: 'BLOCK I/O', PIDs: 'PIDS' }
        process.stdout.write(formatRows(argv.format, view, headers, '{{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.PIDs}}\t{{.BlockIO}}'))
      } else {
        const table = [['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'PIDS', 'BLOCK I/O']]
        for (const r of rows) table.push([r.id.slice(0, 12), r.name, `${r.cpuPercent.toFixed(2)}%`, `${mb(r.memoryUsage)} / ${r.memoryLimit === 'max' ? 'unlimited' : mb(r.memoryLimit)}`, String(r.pids), `${mb(r.blockRead)} / ${mb(r.blockWrite)}`])
        process.stdout.write((argv['no-stream'] ? '' : '\x1b[2J\x1b[H') + formatTable(table))
      }
      if (argv['no-stream']) return
      before = now
      at = Date.now()
    }
  },
}

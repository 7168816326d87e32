// skiff top CONTAINER: the container's processes, as the host sees them.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs'
import { SkiffError } from '../core/errors.js'
import type { CommandSpec } from './cli.js'
import { formatTable } from './table.js'

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

const spec: CommandSpec<{ container: string }> = {
  usage: 'top CONTAINER',
  describe: 'Show the processes of a running container',
  positionals: ['container'],
  required: 1,
  options: [],
  handler: async (argv) => {
    const { openStore } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const { findContainer } = await import('../core/container/records.js')
    const store = await openStore(resolvePaths())
    const c = findContainer(store, argv.container)
    if (c.state.status !== 'running' || !c.state.pid) throw new SkiffError('E_NOT_RUNNING', `container ${c.name} is not running`, { hint: `skiff start ${c.name}` })
    // every process in the pid namespace of the container's pid 1
    const ns = readlinkSync(`/proc/${c.state.pid}/ns/pid`)
    const rows = [['UID', 'PID', 'PPID', 'STAT', 'CMD']]
    for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(a) - Number(b))) {
      try {
        if (readlinkSync(`/proc/${p}/ns/pid`) !== ns) continue
      } catch {
        continue
      }
      const stat = read(`/proc/${p}/stat`)
      const status = read(`/proc/${p}/status`)
      if (!stat || !status) continue
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1] ?? '?'
      const cmd = (read(`/proc/${p}/cmdline`) ?? '').split('\0').filter(Boolean).join(' ') || `[${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}]`
      rows.push([uid, p, fields[1] ?? '?', fields[0] ?? '?', cmd])
    }
    process.stdout.write(formatTable(rows))
  },
}
export default spec

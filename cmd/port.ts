// skiff port CONTAINER [PRIVATE_PORT[/PROTO]]: where a container's ports are published.
import type { CommandSpec } from './cli.js'

const spec: CommandSpec<{ container: string; port?: string }> = {
  usage: 'port CONTAINER [PRIVATE_PORT[/PROTO]]',
  describe: 'List the published ports of a container',
  positionals: ['container', 'port'],
  required: 1,
  options: [],
  handler: async (argv) => {
    const { openStore } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const { findContainer } = await import('../core/container/records.js')
    const store = await openStore(resolvePaths())
    const c = findContainer(store, argv.container)
    const [want, proto] = (argv.port ?? '').split('/')
    let shown = 0
    for (const p of c.network?.ports ?? []) {
      if (want && (String(p.containerPort) !== want || (proto && p.proto !== proto))) continue
      const host = `${p.hostIp || '0.0.0.0'}:${p.hostPort}`
      process.stdout.write(argv.port ? `${host}\n` : `${p.containerPort}/${p.proto} -> ${host}\n`)
      shown++
    }
    if (argv.port && !shown) {
      const { SkiffError } = await import('../core/errors.js')
      // Docker's words and status
      throw new SkiffError('E_NO_PORT', `No public port '${want}/${proto || 'tcp'}' published for ${c.name}`, { hint: `\`skiff port ${c.name}\` lists what it publishes`, exitCode: 1 })
    }
  },
}
export default spec

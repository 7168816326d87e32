// skiff diff CONTAINER: files added (A), changed (C) and deleted (D) since the image.
import { join } from 'node:path'
import type { CommandSpec } from './cli.js'

const spec: CommandSpec<{ container: string }> = {
  usage: 'diff CONTAINER',
  describe: "Show the changes to a container's files since its image",
  positionals: ['container'],
  required: 1,
  options: [],
  handler: async (argv) => {
    const { openStore } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const { containerDir, findContainer } = await import('../core/container/records.js')
    const { diffUpper } = await import('../core/container/diff.js')
    const store = await openStore(resolvePaths())
    const c = findContainer(store, argv.container)
    const rootfs = c.plan.rootfs
    const lowers = rootfs?.kind === 'overlay' ? rootfs.lowerdirs.map((d) => join(rootfs.layersDir, d)) : []
    for (const ch of diffUpper(join(containerDir(store, c.id), 'upper'), lowers, c.plan.mounts.filter((m) => m.kind === 'bind' || m.kind === 'mount').map((m) => m.target))) process.stdout.write(`${ch.kind} ${ch.path}\n`)
  },
}
export default spec

// skiff export [-o FILE] CONTAINER: the container's whole filesystem as a tar archive.
import { SkiffError } from '../core/errors.js'
import type { CommandSpec } from './cli.js'

const spec: CommandSpec<{ container: string; output?: string }> = {
  usage: 'export [-o FILE] CONTAINER',
  describe: "Write a container's filesystem as a tar archive",
  positionals: ['container'],
  required: 1,
  options: [{ name: 'output', alias: 'o', type: 'string', placeholder: 'FILE', describe: 'Write to FILE instead of stdout' }],
  handler: async (argv) => {
    const { openStore } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const { findContainer } = await import('../core/container/records.js')
    const { exportContainer } = await import('../core/container/cp.js')
    if (!argv.output && process.stdout.isTTY) {
      throw new SkiffError('E_USAGE', 'refusing to write a tar archive to a terminal', { hint: 'use -o FILE, or redirect: skiff export CONTAINER > fs.tar' })
    }
    const store = await openStore(resolvePaths())
    const c = findContainer(store, argv.container)
    if (!argv.output) return exportContainer(store, c, process.stdout)
    const { openOutputFile } = await import('../core/output-file.js')
    const out = openOutputFile(argv.output, '-o')
    try {
      await exportContainer(store, c, out.stream)
      out.commit()
    } catch (err) {
      out.abort()
      throw err
    }
  },
}
export default spec

// skiff attach CONTAINER: this terminal to a detached container's terminal (Ctrl-P Ctrl-Q detaches).
import type { CommandSpec } from './cli.js'

const spec: CommandSpec<{ container: string }> = {
  usage: 'attach CONTAINER',
  describe: "Attach this terminal to a detached container's terminal (detach: Ctrl-P Ctrl-Q)",
  positionals: ['container'],
  required: 1,
  options: [],
  handler: async (argv) => {
    const { openStore } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const { findContainer } = await import('../core/container/records.js')
    const { attach } = await import('../core/container/attach.js')
    const store = await openStore(resolvePaths())
    const status = await attach(store, findContainer(store, argv.container))
    if (status === undefined) process.stderr.write('read escape sequence\n')
    process.exitCode = status ?? 0
  },
}
export default spec

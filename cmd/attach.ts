// skiff attach CONTAINER: this terminal to a detached container's terminal (Ctrl-P Ctrl-Q detaches).
import type { CommandSpec } from './cli.js'
import { detachKeysOption } from './detach-keys.js'

const spec: CommandSpec<{ container: string; 'detach-keys'?: string }> = {
  usage: 'attach [--detach-keys KEYS] CONTAINER',
  describe: "Attach this terminal to a detached container's terminal (detach: Ctrl-P Ctrl-Q)",
  positionals: ['container'],
  required: 1,
  options: [detachKeysOption],
  handler: async (argv) => {
    const { openStore } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const { findContainer } = await import('../core/container/records.js')
    const { attach, DEFAULT_DETACH_KEYS, parseDetachKeys } = await import('../core/container/attach.js')
    const keys = argv['detach-keys'] !== undefined ? parseDetachKeys(argv['detach-keys']) : DEFAULT_DETACH_KEYS
    const store = await openStore(resolvePaths())
    const status = await attach(store, findContainer(store, argv.container), keys)
    if (status === undefined) process.stderr.write('read escape sequence\n')
    process.exitCode = status ?? 0
  },
}
export default spec

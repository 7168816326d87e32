// skiff version: the version, the Node inside, the shim the executable carries and how it starts.
import { isSingleExecutable, shimDigest, shimPath } from '../core/shim-binary.js'
import { spawnKind } from '../core/launch/shim-process.js'
import type { CommandSpec } from './cli.js'

declare const SKIFF_VERSION: string

const spec: CommandSpec = {
  usage: 'version',
  describe: 'Show the version of skiff and of its parts',
  options: [],
  positionals: [],
  handler: () => {
    const lines = [
      `skiff version ${typeof SKIFF_VERSION === 'string' ? SKIFF_VERSION : 'dev'}`,
      `node: ${process.version}`,
      `shim: sha256:${shimDigest || 'unknown'} (${isSingleExecutable() ? 'embedded' : 'beside the bundle'})`,
      `shim path: ${shimPath()}`,
      `shim started by: ${spawnKind() === 'vfork' ? 'posix_spawn (the spawn addon)' : "Node's fork (the spawn addon did not load: SKIFF_TRACE=1 says why)"}`,
    ]
    process.stdout.write(lines.join('\n') + '\n')
  },
}
export default spec

// skiff version: the version, the Node inside, the shim the executable carries and how it starts.
import { isSingleExecutable, shimDigest, shimPath } from '../core/shim-binary.js'
import { spawnKind } from '../core/launch/shim-process.js'
import type { CommandSpec } from './cli.js'
import { hostArch } from '../core/platform.js'

declare const SKIFF_VERSION: string

const spec: CommandSpec<{ format?: string }> = {
  usage: 'version [--format FORMAT]',
  describe: 'Show the version of skiff and of its parts',
  options: [{ name: 'format', alias: 'f', type: 'string', placeholder: 'FORMAT', describe: "json, or a Go template over {Client: {Version, NodeVersion, Os, Arch, Shim}}, e.g. '{{.Client.Version}}'" }],
  positionals: [],
  handler: async (argv) => {
    if (argv.format !== undefined) {
      const value = {
        Client: {
          Version: typeof SKIFF_VERSION === 'string' ? SKIFF_VERSION : 'dev',
          NodeVersion: process.version,
          Os: process.platform,
          Arch: hostArch(),
          Shim: `sha256:${shimDigest || 'unknown'}`,
        },
      }
      if (argv.format === 'json') return void process.stdout.write(`${JSON.stringify(value)}\n`)
      const { formatObject } = await import('./format.js')
      return void process.stdout.write(formatObject(argv.format, value))
    }
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

// skiff load [-i FILE] [-q]
import { SkiffError } from '../core/errors.js'
import type { CommandSpec } from './cli.js'

interface LoadArgs {
  input?: string
  quiet: boolean
}

const spec: CommandSpec<LoadArgs> = {
  usage: 'load [-i FILE] [-q]',
  describe: 'Load images from a docker-save archive, an OCI archive or an OCI layout directory',
  positionals: [],
  options: [
    { name: 'input', alias: 'i', type: 'string', placeholder: 'FILE', describe: 'Read from FILE (a tar archive or an OCI layout directory) instead of stdin' },
    { name: 'quiet', alias: 'q', type: 'boolean', default: false, describe: 'Print only the loaded names or ids' },
  ],
  handler: async (argv) => {
    const { loadImages } = await import('../core/image/load.js')
    if (!argv.input && process.stdin.isTTY) {
      throw new SkiffError('E_USAGE', 'no archive given and stdin is a terminal', { hint: 'use skiff load -i FILE, or skiff load < FILE' })
    }
    const result = await loadImages(argv.input ?? process.stdin)
    for (const w of result.warnings) process.stderr.write(`skiff: warning: ${w}\n`)
    const { makeEvent, recordEvent } = await import('../core/events.js')
    const { resolvePaths } = await import('../core/paths.js')
    for (const img of result.images) {
      recordEvent(resolvePaths().storage, makeEvent('image', 'load', img.id, { name: img.names[0] ?? img.id }))
      if (img.names.length === 0) process.stdout.write(argv.quiet ? `${img.id}\n` : `Loaded image ID: ${img.id}\n`)
      for (const n of img.names) process.stdout.write(argv.quiet ? `${n}\n` : `Loaded image: ${n}\n`)
    }
  },
}
export default spec

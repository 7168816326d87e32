// skiff import [OPTIONS] FILE|URL|- [REPOSITORY[:TAG]]
import { createReadStream, existsSync } from 'node:fs'
import type { Readable } from 'node:stream'
import type { CommandSpec } from './cli.js'

interface ImportArgs {
  source: string
  name?: string
  change: string[]
  message?: string
}

const spec: CommandSpec<ImportArgs> = {
  usage: 'import [OPTIONS] FILE|URL|- [REPOSITORY[:TAG]]',
  describe: 'Make an image from a tar of a root filesystem',
  positionals: ['source', 'name'],
  required: 1,
  options: [
    { name: 'change', alias: 'c', type: 'string', array: true, placeholder: 'INSTRUCTION', describe: 'A Dockerfile instruction for the config (CMD, ENTRYPOINT, ENV, ...)' },
    { name: 'message', alias: 'm', type: 'string', placeholder: 'TEXT', describe: 'A comment in the image history' },
  ],
  handler: async (argv) => {
    const { SkiffError } = await import('../core/errors.js')
    const { openStore } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const { importImage } = await import('../core/build/commit.js')
    const { normalizeReference } = await import('../core/reference.js')
    if (argv.name) normalizeReference(argv.name)
    let input: Readable
    if (argv.source === '-') input = process.stdin
    else if (/^https?:\/\//.test(argv.source)) {
      const { get } = await import('../core/image/http.js')
      const res = await get(argv.source, { headers: { 'user-agent': 'skiff' } }).catch((err: Error) => {
        throw new SkiffError('E_IMPORT', `cannot download ${argv.source}: ${err.message}`, { hint: 'check the URL and your network' })
      })
      if (res.status !== 200) throw new SkiffError('E_IMPORT', `${argv.source} answered ${res.status}`, { hint: 'check the URL' })
      input = res.body
    } else {
      if (!existsSync(argv.source)) throw new SkiffError('E_USAGE', `no such file: ${argv.source}`, { hint: 'give a tar archive of a root filesystem, a URL, or - for stdin' })
      input = createReadStream(argv.source)
    }
    const id = await importImage(await openStore(resolvePaths()), input, argv.name, { changes: argv.change, message: argv.message })
    process.stdout.write(`${id}\n`)
  },
}
export default spec

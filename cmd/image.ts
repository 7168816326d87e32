// skiff image inspect IMAGE... | skiff image prune [-a]
import { SkiffError } from '../core/errors.js'
import type { CommandSpec } from './cli.js'

interface ImageArgs {
  action: string
  args: string[]
  all: boolean
  force: boolean
}

const spec: CommandSpec<ImageArgs> = {
  usage: 'image inspect IMAGE [IMAGE...] | image prune [-a] [-f] | image exists IMAGE | image history IMAGE | image ls',
  describe: 'Inspect images (Docker-compatible JSON), or remove unused ones',
  positionals: ['action', 'args...'],
  required: 1,
  options: [
    { name: 'all', alias: 'a', type: 'boolean', default: false, describe: 'prune: every image no container uses, not only untagged ones' },
    { name: 'force', alias: 'f', type: 'boolean', default: false, describe: 'prune: do not ask (skiff never asks)' },
  ],
  handler: async (argv) => {
    const { findImage, openStore } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const store = await openStore(resolvePaths())
    if (argv.action === 'inspect') {
      if (argv.args.length === 0) throw new SkiffError('E_USAGE', 'image inspect needs an image', { hint: 'skiff image inspect IMAGE' })
      const { inspectImage } = await import('../core/image/inspect.js')
      const out = []
      for (const ref of argv.args) out.push(inspectImage(await findImage(store, ref)))
      process.stdout.write(JSON.stringify(out, null, 4) + '\n')
      return
    }
    if (argv.action === 'prune') {
      const { pruneImages } = await import('../core/container/prune.js')
      for (const id of await pruneImages(store, argv.all)) process.stdout.write(`Deleted: ${id}\n`)
      return
    }
    if (argv.action === 'exists') {
      // exit 0 when the image is here, 1 when not (podman image exists)
      if (argv.args.length !== 1) throw new SkiffError('E_USAGE', 'image exists takes one image', { hint: 'skiff image exists IMAGE' })
      process.exitCode = await findImage(store, argv.args[0]!).then(() => 0, (err: SkiffError) => {
        if (err.code !== 'E_NO_IMAGE') throw err
        return 1
      })
      return
    }
    if (argv.action === 'history') {
      const { default: history } = await import('./history.js')
      return history.handler({ image: argv.args[0] ?? '', quiet: false, 'no-trunc': false, human: true, containerCommand: [] })
    }
    if (argv.action === 'ls' || argv.action === 'list') {
      const { default: images } = await import('./images.js')
      return images.handler({ repository: argv.args[0], filter: [], all: false, quiet: false, 'no-trunc': false, digests: false, containerCommand: [] })
    }
    throw new SkiffError('E_USAGE', `unknown image command ${argv.action}`, { hint: 'skiff image inspect, prune, exists, history or ls' })
  },
}
export default spec

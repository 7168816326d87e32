// skiff cp [-a] [-L] SRC DEST: one of them CONTAINER:PATH; "-" is a tar stream on stdin/stdout.
import { SkiffError } from '../core/errors.js'
import type { CommandSpec } from './cli.js'

interface CpArgs {
  src: string
  dest: string
  archive: boolean
  'follow-link': boolean
}

const spec: CommandSpec<CpArgs> = {
  usage: 'cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-  /  cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH',
  describe: 'Copy files between a container and the host',
  positionals: ['src', 'dest'],
  required: 2,
  options: [
    { name: 'archive', alias: 'a', type: 'boolean', default: false, describe: 'Keep the uid/gid of copied-in files (default: the container\'s root)' },
    { name: 'follow-link', alias: 'L', type: 'boolean', default: false, describe: 'Follow a symlink given as SRC_PATH' },
  ],
  handler: async (argv) => {
    const { openStore } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const { findContainer } = await import('../core/container/records.js')
    const { copyFromContainer, copyToContainer, parseCpArg } = await import('../core/container/cp.js')
    const src = parseCpArg(argv.src)
    const dest = parseCpArg(argv.dest)
    if (!!src.container === !!dest.container) {
      throw new SkiffError('E_USAGE', src.container ? 'cp between two containers is not supported' : 'cp needs a CONTAINER:PATH on one side', {
        hint: 'e.g. skiff cp web:/etc/hosts ./hosts, or skiff cp ./conf web:/etc/app/',
      })
    }
    const store = await openStore(resolvePaths())
    if (src.container) await copyFromContainer(store, findContainer(store, src.container), src.path, dest.path, { follow: argv['follow-link'] })
    else await copyToContainer(store, findContainer(store, dest.container!), src.path, dest.path, { archive: argv.archive })
  },
}
export default spec

// skiff builder prune [-a] [-f]: the build cache removed (docker builder prune)
import { SkiffError } from '../core/errors.js'
import type { CommandSpec } from './cli.js'

const spec: CommandSpec<{ action: string; all: boolean; force: boolean }> = {
  usage: 'builder prune [-a] [-f]',
  describe: "Remove skiff build's cache",
  positionals: ['action'],
  required: 1,
  options: [
    { name: 'all', alias: 'a', type: 'boolean', default: false, describe: 'All of the cache (skiff keeps no other kind: the same)' },
    { name: 'force', alias: 'f', type: 'boolean', default: false, describe: 'Do not ask (skiff never asks)' },
  ],
  handler: async (argv) => {
    if (argv.action !== 'prune') throw new SkiffError('E_USAGE', `unknown builder command ${argv.action}`, { hint: 'skiff builder prune' })
    const { openStore } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const { pruneBuildCache } = await import('../core/build/prune.js')
    const r = await pruneBuildCache(await openStore(resolvePaths()))
    if (r.images.length) process.stdout.write(`Deleted build cache objects:\n${r.images.map((i) => `${i}\n`).join('')}`)
    process.stdout.write(`Removed ${r.entries} cache entries and ${r.images.length} intermediate images\n`)
  },
}
export default spec

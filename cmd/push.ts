// skiff push IMAGE [DESTINATION]
import { writeFileSync } from 'node:fs'
import type { CommandSpec } from './cli.js'
import { parseTlsVerify } from './pull.js'

interface PushArgs {
  image: string
  destination?: string
  'tls-verify': string
  format?: string
  'compression-format'?: string
  quiet: boolean
  'digestfile'?: string
}

const spec: CommandSpec<PushArgs> = {
  usage: 'push [OPTIONS] IMAGE [DESTINATION]',
  describe: 'Push an image to a registry',
  positionals: ['image', 'destination'],
  required: 1,
  options: [
    { name: 'tls-verify', type: 'string', default: 'true', placeholder: 'BOOL', describe: 'false: allow plain HTTP and unverified TLS for this registry' },
    { name: 'format', type: 'string', placeholder: 'oci|v2s2', describe: 'Manifest form (default v2s2, Docker schema 2; oci with zstd)' },
    { name: 'compression-format', type: 'string', placeholder: 'gzip|zstd', describe: 'Layer compression (default gzip; zstd needs the zstd program)' },
    { name: 'quiet', alias: 'q', type: 'boolean', default: false, describe: 'No progress' },
    { name: 'digestfile', type: 'string', placeholder: 'FILE', describe: "Write the manifest's digest to FILE" },
  ],
  handler: async (argv) => {
    const { SkiffError } = await import('../core/errors.js')
    if (argv.format !== undefined && argv.format !== 'oci' && argv.format !== 'v2s2') {
      throw new SkiffError('E_USAGE', `--format ${argv.format}: oci or v2s2`, { hint: 'v2s2 is what Docker pushes; oci is the OCI image manifest' })
    }
    const compression = argv['compression-format']
    if (compression !== undefined && compression !== 'gzip' && compression !== 'zstd') {
      throw new SkiffError('E_USAGE', `--compression-format ${compression}: gzip or zstd`, { hint: 'gzip is what every registry and client reads' })
    }
    const { openStore } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const { pushImage } = await import('../core/image/push.js')
    const { plainProgress, quietProgress, terminalProgress } = await import('../core/image/pull-progress.js')
    const progress = argv.quiet ? quietProgress : process.stderr.isTTY ? terminalProgress(process.stderr) : plainProgress((s) => process.stderr.write(s))
    const r = await pushImage(await openStore(resolvePaths()), argv.image, argv.destination, {
      tlsVerify: parseTlsVerify(argv['tls-verify']),
      format: argv.format as 'oci' | 'v2s2' | undefined,
      compression: compression as 'gzip' | 'zstd' | undefined,
      progress,
    })
    if (argv.digestfile) writeFileSync(argv.digestfile, r.digest)
    if (!argv.quiet) process.stderr.write(`${r.name.split(':').pop()}: digest: ${r.digest} size: ${r.size}\n`)
  },
}
export default spec

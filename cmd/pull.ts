// skiff pull [OPTIONS] IMAGE
import type { CommandSpec } from './cli.js'

interface PullArgs {
  image: string
  quiet: boolean
  platform?: string
  'tls-verify': string
}

/** --tls-verify=false / true: a string option, so "--tls-verify false" also works. */
export function parseTlsVerify(value: string): boolean {
  return !/^(false|0|no)$/i.test(value)
}

/** Bars on a terminal, lines otherwise, nothing with -q. */
export async function progressFor(quiet: boolean) {
  const { plainProgress, quietProgress, terminalProgress } = await import('../core/image/pull-progress.js')
  if (quiet) return quietProgress
  return process.stderr.isTTY ? terminalProgress(process.stderr) : plainProgress((s) => process.stderr.write(s))
}

const spec: CommandSpec<PullArgs> = {
  usage: 'pull [OPTIONS] IMAGE',
  describe: 'Pull an image from a registry',
  positionals: ['image'],
  required: 1,
  options: [
    { name: 'quiet', alias: 'q', type: 'boolean', default: false, describe: 'Print only the image id' },
    { name: 'platform', type: 'string', placeholder: 'OS/ARCH', describe: 'Platform of a multi-platform image (default: this machine\'s)' },
    { name: 'tls-verify', type: 'string', default: 'true', placeholder: 'BOOL', describe: 'Require HTTPS with a verified certificate (loopback registries always use HTTP)' },
  ],
  handler: async (argv) => {
    const { pullImage } = await import('../core/image/pull.js')
    const r = await pullImage(argv.image, {
      tlsVerify: parseTlsVerify(argv['tls-verify']),
      platform: argv.platform,
      progress: await progressFor(argv.quiet),
    })
    for (const w of r.warnings) process.stderr.write(`skiff: warning: ${w}\n`)
    process.stdout.write(argv.quiet ? `${r.id}\n` : `Pulled ${r.name}\n${r.id}\n`)
  },
}
export default spec

// skiff save [-o FILE] [--format docker-archive|oci-archive] IMAGE [IMAGE...]
import { SkiffError } from '../core/errors.js'
import type { CommandSpec } from './cli.js'

interface SaveArgs {
  images: string[]
  output?: string
  format: string
}

const spec: CommandSpec<SaveArgs> = {
  usage: 'save [-o FILE] [--format docker-archive|oci-archive] IMAGE [IMAGE...]',
  describe: 'Write images to an archive (docker save format by default)',
  positionals: ['images...'],
  required: 1,
  options: [
    { name: 'output', alias: 'o', type: 'string', placeholder: 'FILE', describe: 'Write to FILE instead of stdout' },
    { name: 'format', type: 'string', default: 'docker-archive', placeholder: 'FORMAT', describe: 'docker-archive (also an OCI layout) or oci-archive' },
  ],
  handler: async (argv) => {
    if (argv.format !== 'docker-archive' && argv.format !== 'oci-archive') {
      throw new SkiffError('E_USAGE', `--format ${argv.format}: expected docker-archive or oci-archive`, { hint: "see 'skiff save --help'" })
    }
    if (!argv.output && process.stdout.isTTY) {
      throw new SkiffError('E_USAGE', 'refusing to write an archive to a terminal', { hint: 'use -o FILE or redirect stdout' })
    }
    const { saveImages } = await import('../core/image/save.js')
    if (!argv.output) return saveImages(argv.images, argv.format, process.stdout)
    const { openOutputFile } = await import('../core/output-file.js')
    let out: import('../core/output-file.js').OutputFile | undefined
    try {
      // the file is opened once the images are found: a missing image makes no file
      await saveImages(argv.images, argv.format, () => (out = openOutputFile(argv.output!, '-o')).stream)
      out?.commit()
    } catch (err) {
      out?.abort()
      throw err
    }
  },
}
export default spec

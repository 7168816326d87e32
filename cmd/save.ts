// skiff save [-o FILE] [--format docker-archive|oci-archive|squashfs] IMAGE [IMAGE...]
import { resolve } from 'node:path'
import { SkiffError } from '../core/errors.js'
import type { CommandSpec } from './cli.js'

interface SaveArgs {
  images: string[]
  output?: string
  format: string
}

const spec: CommandSpec<SaveArgs> = {
  usage: 'save [-o FILE] [--format docker-archive|oci-archive|squashfs] IMAGE [IMAGE...]',
  describe: 'Write images to an archive (docker save format by default)',
  positionals: ['images...'],
  required: 1,
  options: [
    { name: 'output', alias: 'o', type: 'string', placeholder: 'FILE', describe: 'Write to FILE instead of stdout' },
    { name: 'format', type: 'string', default: 'docker-archive', placeholder: 'FORMAT', describe: 'docker-archive (also an OCI layout), oci-archive, or squashfs (a single-file image for skiff run FILE.sqsh; needs -o and one image)' },
  ],
  handler: async (argv) => {
    if (argv.format !== 'docker-archive' && argv.format !== 'oci-archive' && argv.format !== 'squashfs') {
      throw new SkiffError('E_USAGE', `--format ${argv.format}: expected docker-archive, oci-archive or squashfs`, { hint: "see 'skiff save --help'" })
    }
    if (argv.format === 'squashfs') return saveSquashfs(argv)
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
/** --format squashfs: one image into a file mksquashfs writes (under a temporary name until complete). */
async function saveSquashfs(argv: SaveArgs): Promise<void> {
  if (!argv.output || argv.images.length !== 1) {
    throw new SkiffError('E_USAGE', '--format squashfs writes one image to a file: give -o FILE and one image', { hint: 'e.g. skiff save --format squashfs -o app.sqsh app:latest' })
  }
  const [{ findImage, openStore }, { resolvePaths }, { writeSquashfsImage }, { openOutputFile }] = await Promise.all([
    import('../core/storage/store.js'), import('../core/paths.js'), import('../core/image/squashfs.js'), import('../core/output-file.js'),
  ])
  const store = await openStore(resolvePaths())
  await findImage(store, argv.images[0]!) // a missing image makes no file
  // absolute: mksquashfs runs in the storage worker, whose working directory is not ours
  const out = openOutputFile(resolve(argv.output), '-o')
  try {
    out.stream.destroy()
    await writeSquashfsImage(store, argv.images[0]!, out.path)
    out.commit()
  } catch (err) {
    out.abort()
    throw err
  }
}

export default spec

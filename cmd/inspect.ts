// skiff inspect NAME... : containers first, then images (as Docker looks them up).
import type { CommandSpec } from './cli.js'

interface InspectArgs {
  names: string[]
  type?: string
}

const spec: CommandSpec<InspectArgs> = {
  usage: 'inspect [--type container|image] NAME [NAME...]',
  describe: 'Show containers or images as Docker-compatible JSON',
  positionals: ['names...'],
  required: 1,
  options: [{ name: 'type', type: 'string', placeholder: 'container|image', describe: 'Only look for this kind of object' }],
  handler: async (argv) => {
    const { openStore, findImage } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const { containerDir, findContainer } = await import('../core/container/records.js')
    const { inspectContainer } = await import('../core/container/inspect.js')
    const { inspectImage } = await import('../core/image/inspect.js')
    const { SkiffError } = await import('../core/errors.js')
    const store = await openStore(resolvePaths())
    const out: unknown[] = []
    for (const name of argv.names) {
      if (argv.type !== 'image') {
        try {
          const c = findContainer(store, name)
          out.push(inspectContainer(c, containerDir(store, c.id)))
          continue
        } catch (err) {
          if ((err as InstanceType<typeof SkiffError>).code !== 'E_NO_CONTAINER' || argv.type === 'container') throw err
        }
      }
      try {
        out.push(inspectImage(await findImage(store, name)))
      } catch (err) {
        if ((err as InstanceType<typeof SkiffError>).code !== 'E_NO_IMAGE') throw err
        throw new SkiffError('E_NO_OBJECT', `no such container or image: ${name}`, { hint: '`skiff ps -a` lists containers, `skiff images` images' })
      }
    }
    process.stdout.write(JSON.stringify(out, null, 4) + '\n')
  },
}
export default spec

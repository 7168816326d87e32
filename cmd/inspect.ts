// skiff inspect NAME... : containers first, then images (as Docker looks them up).
import type { CommandSpec } from './cli.js'

interface InspectArgs {
  names: string[]
  type?: string
  format?: string
}

const spec: CommandSpec<InspectArgs> = {
  usage: 'inspect [--type container|image] [-f FORMAT] NAME [NAME...]',
  describe: 'Show containers or images as Docker-compatible JSON',
  positionals: ['names...'],
  required: 1,
  options: [
    { name: 'type', type: 'string', placeholder: 'container|image', describe: 'Only look for this kind of object' },
    { name: 'format', alias: 'f', type: 'string', placeholder: 'FORMAT', describe: "A Go template applied to each object, e.g. '{{.State.Pid}}' or '{{json .Config}}'" },
  ],
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
          let networks: Record<string, unknown> | undefined
          if (c.network?.mode === 'bridge') networks = (await import('../core/container/networks.js')).inspectEndpoints(store, c)
          out.push(inspectContainer(c, containerDir(store, c.id), networks))
          continue
        } catch (err) {
          if ((err as InstanceType<typeof SkiffError>).code !== 'E_NO_CONTAINER' || argv.type === 'container') throw err
        }
      }
      try {
        out.push(inspectImage(await findImage(store, name)))
      } catch (err) {
        if ((err as InstanceType<typeof SkiffError>).code !== 'E_NO_IMAGE') throw err
        throw new SkiffError('E_NO_OBJECT', `No such object: ${name}`, { hint: '`skiff ps -a` lists containers, `skiff images` images' })
      }
    }
    if (argv.format !== undefined && argv.format !== 'json') {
      const { formatObject } = await import('./format.js')
      process.stdout.write(out.map((o) => formatObject(argv.format!, o)).join(''))
      return
    }
    process.stdout.write(JSON.stringify(out, null, 4) + '\n')
  },
}
export default spec

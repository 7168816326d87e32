// skiff create [OPTIONS] IMAGE [COMMAND] [ARG...]: a container, ready to start.
import type { CommandSpec } from './cli.js'
import { createOptions, openCidfile, toCreateOptions, type CreateArgs } from './run-options.js'

const spec: CommandSpec<CreateArgs> = {
  usage: 'create [OPTIONS] IMAGE [COMMAND] [ARG...]',
  describe: 'Create a container without starting it',
  positionals: ['image'],
  required: 1,
  options: createOptions,
  handler: async (argv) => {
    const { createContainer } = await import('../core/container/create.js')
    const opts = await toCreateOptions(argv)
    const cidfile = openCidfile(argv.cidfile)
    let record
    try {
      record = (await createContainer(opts)).record
    } catch (err) {
      cidfile?.remove()
      throw err
    }
    cidfile?.write(record.id)
    process.stdout.write(`${record.id}\n`)
  },
}
export default spec

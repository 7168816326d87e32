// skiff create [OPTIONS] IMAGE [COMMAND] [ARG...]: a container, ready to start.
import type { CommandSpec } from './cli.js'
import { checkCidfile, createOptions, toCreateOptions, writeCidfile, type CreateArgs } from './run-options.js'

const spec: CommandSpec<CreateArgs> = {
  usage: 'create [OPTIONS] IMAGE [COMMAND] [ARG...]',
  describe: 'Create a container without starting it',
  positionals: ['image'],
  required: 1,
  options: createOptions,
  handler: async (argv) => {
    const { createContainer } = await import('../core/container/create.js')
    const opts = await toCreateOptions(argv)
    const cidfile = checkCidfile(argv.cidfile)
    const { record } = await createContainer(opts)
    writeCidfile(cidfile, record.id)
    process.stdout.write(`${record.id}\n`)
  },
}
export default spec

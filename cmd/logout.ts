// skiff logout REGISTRY
import { SkiffError } from '../core/errors.js'
import type { CommandSpec } from './cli.js'

const spec: CommandSpec<{ registry: string }> = {
  usage: 'logout REGISTRY',
  describe: 'Log out of a registry',
  positionals: ['registry'],
  required: 1,
  options: [],
  handler: async (argv) => {
    const { logout } = await import('../core/image/login.js')
    if (!logout(argv.registry)) {
      throw new SkiffError('E_NOT_LOGGED_IN', `not logged in to ${argv.registry}`, { hint: 'nothing to do (credentials in ~/.docker/config.json are docker\'s: use docker logout)' })
    }
    process.stdout.write(`Removed login credentials for ${argv.registry}\n`)
  },
}
export default spec

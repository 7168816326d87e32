// skiff login [-u USER] [-p PASSWORD | --password-stdin] REGISTRY
import { readFileSync } from 'node:fs'
import { SkiffError } from '../core/errors.js'
import type { CommandSpec } from './cli.js'
import { parseTlsVerify } from './pull.js'

interface LoginArgs {
  registry: string
  username?: string
  password?: string
  'password-stdin': boolean
  'tls-verify': string
}

const spec: CommandSpec<LoginArgs> = {
  usage: 'login [-u USER] [-p PASSWORD | --password-stdin] REGISTRY',
  describe: 'Log in to a registry',
  positionals: ['registry'],
  required: 1,
  options: [
    { name: 'username', alias: 'u', type: 'string', placeholder: 'USER', describe: 'User name' },
    { name: 'password', alias: 'p', type: 'string', placeholder: 'PASSWORD', describe: 'Password (visible to other users in ps: prefer --password-stdin)' },
    { name: 'password-stdin', type: 'boolean', default: false, describe: 'Read the password from stdin' },
    { name: 'tls-verify', type: 'string', default: 'true', placeholder: 'BOOL', describe: 'Require verified HTTPS' },
  ],
  handler: async (argv) => {
    const password = argv['password-stdin'] ? readFileSync(0, 'utf8').replace(/\r?\n$/, '') : argv.password
    if (!argv.username || password === undefined) {
      throw new SkiffError('E_USAGE', 'login needs a user name and a password', { hint: 'skiff login -u USER --password-stdin REGISTRY < password-file' })
    }
    const { login } = await import('../core/image/login.js')
    const key = await login(argv.registry, argv.username, password, parseTlsVerify(argv['tls-verify']))
    process.stdout.write(`Login Succeeded (${key})\n`)
  },
}
export default spec

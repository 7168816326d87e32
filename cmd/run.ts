// skiff run [OPTIONS] IMAGE [COMMAND] [ARG...]
import { readFileSync } from 'node:fs'
import { SkiffError } from '../core/errors.js'
import type { CommandSpec } from './cli.js'
import { parseTlsVerify } from './pull.js'

interface RunArgs {
  image: string
  rm: boolean
  interactive: boolean
  tty: boolean
  env: string[]
  'env-file': string[]
  workdir?: string
  user?: string
  hostname?: string
  entrypoint?: string
  pull: string
  platform?: string
  'tls-verify': string
}

/** Lines of an --env-file: KEY=value or KEY, skipping blanks and # comments (as Docker). */
export function parseEnvFile(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/\r$/, '').trimStart())
    .filter((l) => l !== '' && !l.startsWith('#'))
}

const spec: CommandSpec<RunArgs> = {
  usage: 'run [OPTIONS] IMAGE [COMMAND] [ARG...]',
  describe: 'Run a command in a new container',
  positionals: ['image'],
  required: 1,
  options: [
    { name: 'rm', type: 'boolean', default: false, describe: 'Remove the container when it exits' },
    { name: 'interactive', alias: 'i', type: 'boolean', default: false, describe: 'Keep stdin open' },
    { name: 'tty', alias: 't', type: 'boolean', default: false, describe: 'Allocate a pseudo-terminal' },
    { name: 'env', alias: 'e', type: 'string', array: true, placeholder: 'KEY=VALUE', describe: 'Set an environment variable (KEY alone copies it from here)' },
    { name: 'env-file', type: 'string', array: true, placeholder: 'FILE', describe: 'Read environment variables from a file' },
    { name: 'workdir', alias: 'w', type: 'string', placeholder: 'DIR', describe: 'Working directory inside the container' },
    { name: 'user', alias: 'u', type: 'string', placeholder: 'USER[:GROUP]', describe: 'User name or uid, and group name or gid' },
    { name: 'hostname', alias: 'h', type: 'string', placeholder: 'NAME', describe: 'Container host name' },
    { name: 'entrypoint', type: 'string', placeholder: 'CMD', describe: "Override the image's entrypoint" },
    { name: 'pull', type: 'string', default: 'missing', placeholder: 'always|missing|never', describe: 'Pull the image before running' },
    { name: 'platform', type: 'string', placeholder: 'OS/ARCH', describe: 'Platform to pull' },
    { name: 'tls-verify', type: 'string', default: 'true', placeholder: 'BOOL', describe: 'Require verified HTTPS when pulling' },
  ],
  handler: async (argv) => {
    const fromFiles = argv['env-file'].flatMap((f) => {
      try {
        return parseEnvFile(readFileSync(f, 'utf8'))
      } catch (err) {
        throw new SkiffError('E_ENV_FILE', `cannot read --env-file ${f}: ${(err as Error).message}`, { hint: 'check the path' })
      }
    })
    if (!['always', 'missing', 'never'].includes(argv.pull)) {
      throw new SkiffError('E_USAGE', `--pull=${argv.pull}: expected always, missing or never`, { hint: "see 'skiff run --help'" })
    }
    const { runContainer } = await import('../core/container-run.js')
    process.exitCode = await runContainer({
      image: argv.image,
      args: argv.containerCommand,
      rm: argv.rm,
      interactive: argv.interactive,
      tty: argv.tty,
      env: [...fromFiles, ...argv.env],
      workdir: argv.workdir,
      user: argv.user,
      hostname: argv.hostname,
      entrypoint: argv.entrypoint,
      pull: argv.pull as 'always' | 'missing' | 'never',
      pullOptions: { tlsVerify: parseTlsVerify(argv['tls-verify']), platform: argv.platform },
    })
  },
}
export default spec

// skiff's entry point: pick the verb, load only its module, parse its options, report errors.
import { mark } from '../core/trace.js'
import { helpText, parseArgs } from './cli.js'
import { commands } from './commands.js'
import { reportError } from './report.js'
import { SkiffError } from '../core/errors.js'
import { splitAtCommand } from './split-argv.js'

declare const SKIFF_VERSION: string

const version = typeof SKIFF_VERSION === 'string' ? SKIFF_VERSION : 'dev'

function overview(): string {
  const visible = commands.filter((c) => !c.hidden)
  const width = Math.max(...visible.map((c) => c.name.length)) + 2
  return [
    'Usage: skiff COMMAND [OPTIONS]',
    '',
    'Rootless containers in one executable.',
    '',
    'Commands:',
    ...visible.map((c) => `  ${c.name.padEnd(width)}${c.describe}`),
    '',
    'Global options (before the command): --root DIR (storage), --runroot DIR (runtime state),',
    '  --storage-driver DRIVER, --log-level LEVEL (debug: the stack of every error)',
    '',
    "Run 'skiff COMMAND --help' for the options of a command; 'skiff runtime --help' for the OCI runtime",
    "  (runc's command line, also as a link named skiff-runc).",
    '',
  ].join('\n')
}

/** `container ls -a` → `ps -a`, `container rm x` → `rm x`: Docker's management-command spelling. */
const CONTAINER_VERBS: Record<string, string> = { ls: 'ps', list: 'ps', ps: 'ps', inspect: 'inspect', rm: 'rm', start: 'start', stop: 'stop', kill: 'kill', restart: 'restart', wait: 'wait', logs: 'logs', create: 'create', run: 'run', exec: 'exec', cp: 'cp', top: 'top', diff: 'diff', export: 'export', port: 'port', attach: 'attach', pause: 'pause', unpause: 'unpause', update: 'update', stats: 'stats', commit: 'commit', rename: 'rename' }

/** `image build .` → `build .`, `image push x` → `push x`: the image verbs that are verbs of their own. */
const IMAGE_VERBS: Record<string, string> = { build: 'build', push: 'push', pull: 'pull', import: 'import', load: 'load', save: 'save', tag: 'tag', rm: 'rmi' }

/** `network ... -f`: Docker's meaning of -f differs by subcommand. */
const NETWORK_F: Record<string, string> = { ls: '--filter', list: '--filter', inspect: '--format', rm: '--force', remove: '--force', prune: '--force', disconnect: '--force' }

/** Options before the verb, as podman has them: each sets what its environment variable would. */
const GLOBAL_OPTIONS: Record<string, (v: string) => void> = {
  '--root': (v) => void (process.env.SKIFF_ROOT = v),
  '--runroot': (v) => void (process.env.SKIFF_RUNROOT = v),
  '--storage-driver': (v) => void (process.env.SKIFF_STORAGE_DRIVER = v),
  '--log-level': (v) => {
    if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'panic'].includes(v)) {
      throw new SkiffError('E_USAGE', `--log-level ${v}: expected trace, debug, info, warn, error, fatal or panic`, { hint: 'skiff prints errors and warnings; debug adds the stack of every error' })
    }
    if (v === 'debug' || v === 'trace') process.env.SKIFF_DEBUG = '1'
  },
}

/** `skiff --root DIR --log-level debug ps`: the global options applied, the rest returned. */
function globalOptions(argv: string[]): string[] {
  let i = 0
  while (i < argv.length && argv[i]!.startsWith('--')) {
    const [name, inline] = [argv[i]!.split('=')[0]!, argv[i]!.includes('=') ? argv[i]!.slice(argv[i]!.indexOf('=') + 1) : undefined]
    const apply = GLOBAL_OPTIONS[name]
    if (!apply) break
    const value = inline ?? argv[++i]
    if (value === undefined) throw new SkiffError('E_USAGE', `${name} needs a value`, { hint: "see 'skiff --help'" })
    apply(value)
    i++
  }
  return argv.slice(i)
}

/** Invoked through a link named skiff-runc: the OCI runtime's command line (cmd/runtime.ts). */
function invokedAsRuntime(): boolean {
  const name = process.argv0.slice(process.argv0.lastIndexOf('/') + 1)
  return name === 'skiff-runc'
}

async function main(argv: string[]): Promise<number> {
  // nothing skiff writes carries group or other write bits, whatever the caller's umask (0000 in
  // some CI jobs and containers); a stricter umask stays as it is
  process.umask(process.umask(0o022) | 0o022)
  if (invokedAsRuntime() || argv[0] === 'runtime') {
    const { default: runtimeMain } = await import('./runtime.js')
    return runtimeMain(argv[0] === 'runtime' && !invokedAsRuntime() ? argv.slice(1) : argv)
  }
  if (argv[0]?.startsWith('--') && GLOBAL_OPTIONS[argv[0].split('=')[0]!]) argv = globalOptions(argv)
  if (argv[0] === 'container' && argv[1] && CONTAINER_VERBS[argv[1]]) {
    argv = [CONTAINER_VERBS[argv[1]]!, ...(argv[1] === 'inspect' ? ['--type', 'container'] : []), ...argv.slice(2)]
  } else if (argv[0] === 'image' && argv[1] && IMAGE_VERBS[argv[1]]) {
    argv = [IMAGE_VERBS[argv[1]]!, ...argv.slice(2)]
  } else if (argv[0] === 'network' && argv[1] && NETWORK_F[argv[1]]) {
    const f = NETWORK_F[argv[1]]!
    argv = argv.map((a, i) => (i > 1 && a === '-f' ? f : a))
  }
  const first = argv[0]
  if (first === '--version' || first === '-v') {
    process.stdout.write(`skiff version ${version}\n`)
    return 0
  }
  if (first === undefined || first === '--help' || first === 'help') {
    process.stdout.write(overview())
    return first === undefined ? 125 : 0
  }
  const entry = commands.find((c) => c.name === first || c.aliases?.includes(first))
  if (!entry) {
    process.stderr.write(`Error: unknown command ${JSON.stringify(first)}\n  hint: run 'skiff --help' for the list\n`)
    return 125
  }
  let rest = argv.slice(1)
  let containerCommand: string[] = []
  if (entry.valueOptions) {
    const split = splitAtCommand(argv, new Set(entry.valueOptions), 1)
    rest = split.head.slice(1)
    containerCommand = split.command
  }
  const spec = (await entry.load()).default
  mark(`command ${entry.name} loaded`)
  if (rest.includes('--help')) {
    process.stdout.write(helpText(spec))
    return 0
  }
  try {
    const args = parseArgs(entry.name, spec, rest, containerCommand)
    mark('arguments parsed')
    await spec.handler(args)
  } catch (err) {
    return reportError(err, entry.name)
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0
}

// Once nothing is left to do (every write flushed), exit at once: Node's own teardown of the
// environment and the heap takes a few ms more and does nothing skiff needs.
process.once('beforeExit', () => process.exit())

main(process.argv.slice(2)).then(
  (code) => {
    mark('done')
    process.exitCode = code
  },
  (err) => {
    process.exitCode = reportError(err)
  },
)

// skiff build [OPTIONS] CONTEXT: an image from a Dockerfile (core/build/).
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { CommandSpec } from './cli.js'

interface BuildArgs {
  context: string
  tag: string[]
  file?: string
  'build-arg': string[]
  target?: string
  'no-cache': boolean
  pull: boolean
  platform?: string
  network?: string
  label: string[]
  iidfile?: string
  quiet: boolean
}

const spec: CommandSpec<BuildArgs> = {
  usage: 'build [OPTIONS] CONTEXT',
  describe: 'Build an image from a Dockerfile',
  positionals: ['context'],
  required: 1,
  options: [
    { name: 'tag', alias: 't', type: 'string', array: true, placeholder: 'NAME[:TAG]', describe: 'Name the image (more than once: several names)' },
    { name: 'file', alias: 'f', type: 'string', placeholder: 'FILE', describe: 'The Dockerfile (default: CONTEXT/Dockerfile, else CONTEXT/Containerfile; - for stdin)' },
    { name: 'build-arg', type: 'string', array: true, placeholder: 'KEY[=VALUE]', describe: 'A build argument (KEY alone: its value here)' },
    { name: 'target', type: 'string', placeholder: 'STAGE', describe: 'Build up to this stage' },
    { name: 'no-cache', type: 'boolean', default: false, describe: 'Run every step again, ignoring the build cache' },
    { name: 'pull', type: 'boolean', default: false, describe: 'Pull the base images even when they are here' },
    { name: 'platform', type: 'string', placeholder: 'OS/ARCH', describe: 'Only this machine\'s platform (linux/amd64 here): no emulation' },
    { name: 'network', type: 'string', placeholder: 'MODE', describe: 'Network of the RUN steps (as run --network; default: the usual user-mode network)' },
    { name: 'label', type: 'string', array: true, placeholder: 'KEY=VALUE', describe: 'A label on the image' },
    { name: 'iidfile', type: 'string', placeholder: 'FILE', describe: 'Write the image id to FILE' },
    { name: 'quiet', alias: 'q', type: 'boolean', default: false, describe: 'Print only the image id' },
  ],
  handler: async (argv) => {
    const { SkiffError } = await import('../core/errors.js')
    const { openStore } = await import('../core/storage/store.js')
    const { resolvePaths } = await import('../core/paths.js')
    const { build } = await import('../core/build/build.js')
    const { normalizeReference } = await import('../core/reference.js')
    const { hostPlatform } = await import('../core/platform.js')
    if (argv.platform && argv.platform !== hostPlatform()) {
      throw new SkiffError('E_USAGE', `--platform ${argv.platform}: skiff builds for this machine's platform only (${hostPlatform()})`, { hint: `drop --platform, or build on a ${argv.platform} machine` })
    }
    // names are checked before anything is built
    for (const t of argv.tag) normalizeReference(t)
    const fromStdin = argv.context === '-'
    const context = fromStdin ? '' : resolve(argv.context)
    if (!fromStdin && !(existsSync(context) && statSync(context).isDirectory())) {
      throw new SkiffError('E_USAGE', `build context ${argv.context} is not a directory`, { hint: 'give the directory with the Dockerfile and the files it copies, or - for a Dockerfile on stdin' })
    }
    let dockerfile: string
    if (fromStdin || argv.file === '-') dockerfile = readFileSync(0, 'utf8')
    else {
      const path = argv.file ? resolve(argv.file) : [join(context, 'Dockerfile'), join(context, 'Containerfile')].find((p) => existsSync(p))
      if (!path || !existsSync(path)) throw new SkiffError('E_USAGE', `no Dockerfile: ${path ?? join(context, 'Dockerfile')} does not exist`, { hint: 'name it with -f FILE' })
      const { readUserTextFile } = await import('../core/user-file.js')
      dockerfile = readUserTextFile(path, 'Dockerfile')
    }
    const buildArgs: Record<string, string> = {}
    for (const a of argv['build-arg']) {
      const eq = a.indexOf('=')
      if (eq === 0) throw new SkiffError('E_USAGE', `--build-arg ${a}: a name is needed before =`, { hint: '--build-arg KEY=VALUE' })
      if (eq > 0) buildArgs[a.slice(0, eq)] = a.slice(eq + 1)
      else if (process.env[a] !== undefined) buildArgs[a] = process.env[a]!
    }
    const labels: Record<string, string> = {}
    for (const l of argv.label) {
      const eq = l.indexOf('=')
      labels[eq < 0 ? l : l.slice(0, eq)] = eq < 0 ? '' : l.slice(eq + 1)
    }
    const epochText = process.env.SOURCE_DATE_EPOCH
    const epoch = epochText !== undefined && /^\d+$/.test(epochText) ? Number(epochText) : undefined
    const store = await openStore(resolvePaths())
    // without a context (-) COPY finds nothing: an empty directory stands in for it
    const empty = fromStdin ? mkdtempSync(join(store.root, 'tmp', `build-${process.pid}-ctx`)) : undefined
    try {
      const id = await build(store, {
        context: empty ?? context,
        dockerfile,
        tags: argv.tag,
        buildArgs,
        target: argv.target,
        noCache: argv['no-cache'],
        pull: argv.pull,
        network: argv.network,
        labels,
        quiet: argv.quiet,
        epoch,
        log: (line) => {
          if (!argv.quiet) process.stderr.write(`${line}\n`)
        },
      })
      if (!argv.quiet) {
        for (const t of argv.tag) process.stderr.write(`Successfully tagged ${normalizeReference(t)}\n`)
      }
      if (argv.iidfile) writeFileSync(argv.iidfile, id)
      process.stdout.write(`${argv.quiet ? id : id.slice(7)}\n`)
    } finally {
      if (empty) rmSync(empty, { recursive: true, force: true })
    }
  },
}
export default spec

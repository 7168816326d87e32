// `skiff runtime ...` and the link name `skiff-runc`: the OCI runtime command line that runc and
// crun implement, which podman, containerd and Slurm drive. Its own small parser: runc's global
// flags come before the verb, and each verb has flags of its own before its arguments.
import { appendFileSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { SkiffError, isSkiffError } from '../core/errors.js'
import { printError, oneLine } from './report.js'
import type { ProcessPlan } from '../core/plan.js'
import { features, specDocument } from '../core/runtime/features.js'
import { processPlan, realRoot, type OciConfig, type OciResources } from '../core/runtime/config.js'

declare const SKIFF_VERSION: string

interface Flag {
  /** takes a value (else a boolean) */
  value?: boolean
  /** may be given more than once (values collected) */
  many?: boolean
  alias?: string
}

/** runc's global flags; --criu is accepted and means nothing here (no checkpointing). */
const GLOBAL: Record<string, Flag> = {
  root: { value: true },
  log: { value: true },
  'log-format': { value: true },
  debug: {},
  'systemd-cgroup': {},
  rootless: { value: true },
  criu: { value: true },
}

const VERBS: Record<string, Record<string, Flag>> = {
  spec: { bundle: { value: true, alias: 'b' }, rootless: {} },
  create: { bundle: { value: true, alias: 'b' }, 'pid-file': { value: true }, 'console-socket': { value: true }, 'no-pivot': {}, 'no-new-keyring': {}, 'preserve-fds': { value: true } },
  run: { bundle: { value: true, alias: 'b' }, 'pid-file': { value: true }, 'console-socket': { value: true }, 'no-pivot': {}, 'no-new-keyring': {}, 'preserve-fds': { value: true }, detach: { alias: 'd' } },
  start: {},
  state: {},
  kill: { all: { alias: 'a' } },
  delete: { force: { alias: 'f' } },
  list: { format: { value: true, alias: 'f' }, quiet: { alias: 'q' } },
  ps: { format: { value: true, alias: 'f' } },
  exec: {
    'console-socket': { value: true }, cwd: { value: true }, env: { value: true, many: true, alias: 'e' }, tty: { alias: 't' },
    user: { value: true, alias: 'u' }, 'additional-gids': { value: true, many: true, alias: 'g' }, process: { value: true, alias: 'p' },
    detach: { alias: 'd' }, 'pid-file': { value: true }, 'no-new-privs': {}, cap: { value: true, many: true, alias: 'c' },
    'preserve-fds': { value: true }, 'ignore-paused': {}, 'process-label': { value: true }, apparmor: { value: true }, cgroup: { value: true, many: true },
  },
  pause: {},
  resume: {},
  update: { resources: { value: true, alias: 'r' } },
  features: {},
}

const USAGE = `Usage: skiff-runc [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]
       skiff runtime [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]

skiff as an OCI runtime (the command line of runc and crun), for podman, containerd and Slurm.

Commands:
  spec [--rootless] [--bundle DIR]     write a config.json to start from
  create [--bundle DIR] [--pid-file F] [--console-socket S] [--preserve-fds N] ID
  start ID                              run the created container's process
  run [--detach] [create's options] ID  create and start (attached: wait for its end)
  state ID                              the OCI state as JSON
  kill [--all] ID [SIGNAL]              signal the container's process (default SIGTERM)
  delete [--force] ID                   remove a stopped container (--force: any)
  list [--format table|json] [-q]       the containers under --root
  ps [--format table|json] ID [PS ARGS] the container's processes
  exec [--process F | ARGS] [--tty] [--detach] [--pid-file F] [--console-socket S] ID
  features                              what this runtime supports, as JSON
  pause ID, resume ID                   freeze or thaw the container's cgroup
  update --resources FILE ID            new limits (linux.resources JSON; - for stdin)

Global options: --root DIR (default $XDG_RUNTIME_DIR/skiff-runc, /run/skiff-runc as root),
  --log FILE, --log-format text|json, --debug, --systemd-cgroup, --rootless auto|true|false
docs/oci-runtime.md has the details.
`

interface Parsed {
  flags: Record<string, string | string[] | boolean>
  args: string[]
}

function usage(message: string): SkiffError {
  return new SkiffError('E_USAGE', message, { hint: "run 'skiff-runc --help'" })
}

/** Flags of `table` from the front of `argv` (a "--" ends them), then the arguments. */
function parseFlags(argv: string[], table: Record<string, Flag>, where: string, stopAtArg: boolean): Parsed {
  const flags: Parsed['flags'] = {}
  const args: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--') {
      args.push(...argv.slice(i + 1))
      break
    }
    if (!a.startsWith('-') || a === '-' || (args.length && stopAtArg)) {
      args.push(a)
      if (stopAtArg) {
        args.push(...argv.slice(i + 1))
        break
      }
      continue
    }
    const eq = a.indexOf('=')
    const raw = a.replace(/^--?/, '').slice(0, eq < 0 ? undefined : eq - (a.startsWith('--') ? 2 : 1))
    const name = table[raw] ? raw : Object.keys(table).find((k) => table[k]!.alias === raw)
    if (!name) throw usage(`${where}: unknown flag ${a.slice(0, eq < 0 ? undefined : eq)}`)
    const f = table[name]!
    let value: string | boolean = true
    if (f.value) {
      value = eq >= 0 ? a.slice(eq + 1) : argv[++i]!
      if (value === undefined) throw usage(`${where}: ${a} needs a value`)
    } else if (eq >= 0) {
      const v = a.slice(eq + 1)
      if (v !== 'true' && v !== 'false') throw usage(`${where}: ${a}: expected true or false`)
      value = v === 'true'
    }
    if (f.many) flags[name] = [...((flags[name] as string[] | undefined) ?? []), value as string]
    else flags[name] = value
  }
  return { flags, args }
}

function defaultRoot(): string {
  if (realRoot()) return '/run/skiff-runc'
  const xdg = process.env.XDG_RUNTIME_DIR
  if (xdg) return join(xdg, 'skiff-runc')
  throw new SkiffError('E_USAGE', 'XDG_RUNTIME_DIR is not set, so there is no default --root', { hint: 'give --root DIR (a directory of your own, e.g. /tmp/skiff-runc-$USER)' })
}

/** --log and --log-format: where an engine reads why a command failed, as runc writes it. */
function writeLog(path: string | undefined, format: string, level: 'error' | 'warning', msg: string): void {
  if (!path) return
  const time = new Date().toISOString()
  try {
    appendFileSync(path, format === 'json' ? `${JSON.stringify({ level, msg, time })}\n` : `time="${time}" level=${level} msg=${JSON.stringify(oneLine(msg))}\n`)
  } catch {}
}

function logError(path: string | undefined, format: string, err: unknown): void {
  writeLog(path, format, 'error', isSkiffError(err) ? err.message + (err.hint ? ` (hint: ${err.hint})` : '') : err instanceof Error ? err.message : String(err))
}

function one(args: string[], verb: string, what = 'ID'): string {
  if (args.length !== 1) throw usage(`${verb}: expected ${what}${args.length ? `, got ${args.length} arguments` : ''}`)
  return args[0]!
}

function intFlag(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined
  if (typeof v !== 'string' || !/^\d+$/.test(v)) throw usage(`--${name}: expected a number, got ${JSON.stringify(v)}`)
  return Number(v)
}

export default async function runtimeMain(argv: string[]): Promise<number> {
  let logPath: string | undefined
  let logFormat = 'text'
  try {
    if (argv[0] === '--version' || argv[0] === '-v' || argv[0] === 'version') {
      const version = typeof SKIFF_VERSION === 'string' ? SKIFF_VERSION : 'dev'
      process.stdout.write(`skiff-runc version ${version}\nspec: 1.2.0\n`)
      return 0
    }
    const global = parseFlags(argv, GLOBAL, 'skiff-runc', true)
    logPath = global.flags.log as string | undefined
    logFormat = (global.flags['log-format'] as string | undefined) ?? 'text'
    if (!['text', 'json'].includes(logFormat)) throw usage(`--log-format ${logFormat}: expected text or json`)
    const rootless = global.flags.rootless as string | undefined
    if (rootless !== undefined && !['auto', 'true', 'false'].includes(rootless)) throw usage(`--rootless ${rootless}: expected auto, true or false`)
    if (rootless === 'false' && !realRoot()) throw usage('--rootless false: skiff is not running as root of the host here')
    const [verb, ...rest] = global.args
    if (!verb || verb === 'help' || verb === '--help' || verb === '-h') {
      process.stdout.write(USAGE)
      return verb ? 0 : 1
    }
    const table = VERBS[verb]
    if (!table) throw usage(`unknown command ${JSON.stringify(verb)}`)
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(USAGE)
      return 0
    }
    // exec's command follows the id: flags end at the first argument (as for run's)
    const { flags, args } = parseFlags(rest, table, verb, verb === 'exec' || verb === 'ps')
    if (verb === 'spec') return writeSpec((flags.bundle as string | undefined) ?? '.', !!flags.rootless || !realRoot())
    if (verb === 'features') {
      process.stdout.write(`${JSON.stringify(features(), null, 2)}\n`)
      return 0
    }
    const rt = await import('../core/runtime/runtime.js')
    const ctx = {
      root: (global.flags.root as string | undefined) ?? defaultRoot(),
      warn: (message: string) => {
        process.stderr.write(`skiff-runc: warning: ${oneLine(message)}\n`)
        writeLog(logPath, logFormat, 'warning', message)
      },
    }
    switch (verb) {
      case 'create':
      case 'run': {
        const id = one(args, verb)
        const opts = {
          bundle: (flags.bundle as string | undefined) ?? '.',
          pidFile: flags['pid-file'] as string | undefined,
          consoleSocket: flags['console-socket'] as string | undefined,
          preserveFds: intFlag(flags['preserve-fds'], 'preserve-fds'),
        }
        if (verb === 'create') {
          await rt.create(ctx, id, opts)
          return 0
        }
        return await rt.run(ctx, id, { ...opts, detach: !!flags.detach })
      }
      case 'start':
        await rt.start(ctx, one(args, verb))
        return 0
      case 'state':
        process.stdout.write(`${JSON.stringify(rt.state(ctx, one(args, verb)), null, 2)}\n`)
        return 0
      case 'kill': {
        if (args.length < 1 || args.length > 2) throw usage('kill: expected ID [SIGNAL]')
        const { parseSignal } = await import('../core/container/stop.js')
        rt.kill(ctx, args[0]!, parseSignal(args[1] ?? 'TERM'), !!flags.all)
        return 0
      }
      case 'delete':
        await rt.remove(ctx, one(args, verb), !!flags.force)
        return 0
      case 'list':
        printList(rt.list(ctx), (flags.format as string | undefined) ?? 'table', !!flags.quiet)
        return 0
      case 'ps':
        return await printPs(rt.processes(ctx, args[0] ?? one(args, verb)), (flags.format as string | undefined) ?? 'table', args.slice(1))
      case 'exec': {
        const [id, ...command] = args
        if (!id) throw usage('exec: expected ID [COMMAND...]')
        const proc = execProcess(rt.containerConfig(ctx, id), flags, command)
        return await rt.exec(ctx, id, {
          process: proc,
          detach: !!flags.detach,
          pidFile: flags['pid-file'] as string | undefined,
          consoleSocket: flags['console-socket'] as string | undefined,
        })
      }
      case 'pause':
      case 'resume':
        await rt.pause(ctx, one(args, verb), verb === 'pause')
        return 0
      case 'update': {
        const id = one(args, verb)
        const file = flags.resources as string | undefined
        if (!file) throw usage('update: --resources FILE (linux.resources as JSON; - for stdin) is what skiff updates from')
        let resources: OciResources
        try {
          resources = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8'))
        } catch (err) {
          throw new SkiffError('E_USAGE', `--resources ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { hint: 'give a file with linux.resources as JSON (runtime-spec config-linux.md)' })
        }
        await rt.update(ctx, id, resources)
        return 0
      }
    }
    return 0
  } catch (err) {
    logError(logPath, logFormat, err)
    printError(err)
    return isSkiffError(err) && err.exitCode !== 125 ? err.exitCode : 1
  }
}

function printList(states: { id: string; pid: number; status: string; bundle: string; created: string; owner: string }[], format: string, quiet: boolean): void {
  if (quiet) {
    process.stdout.write(states.map((s) => `${s.id}\n`).join(''))
  } else if (format === 'json') {
    process.stdout.write(`${JSON.stringify(states)}\n`)
  } else if (format === 'table') {
    const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], ...states.map((s) => [s.id, String(s.pid), s.status, s.bundle, s.created, s.owner])]
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
    process.stdout.write(rows.map((r) => `${r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i]!) : c)).join('   ')}\n`).join(''))
  } else {
    throw usage(`list --format ${format}: expected table or json`)
  }
}

async function printPs(pids: number[], format: string, psArgs: string[]): Promise<number> {
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(pids)}\n`)
    return 0
  }
  if (format !== 'table') throw usage(`ps --format ${format}: expected table or json`)
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process')
  const r = spawnSync('ps', [...(psArgs.length ? psArgs : ['-ef'])], { encoding: 'utf8' })
  if (r.error || r.status !== 0) throw new SkiffError('E_RUNTIME', `ps ${psArgs.join(' ')} failed: ${r.error?.message ?? r.stderr.trim()}`, { hint: 'check the ps arguments' })
  const lines = r.stdout.split('\n')
  const header = lines[0] ?? ''
  const pidColumn = header.trim().split(/\s+/).indexOf('PID')
  if (pidColumn < 0) throw usage('ps: the ps arguments must print a PID column')
  const wanted = new Set(pids)
  process.stdout.write(`${header}\n${lines.slice(1).filter((l) => wanted.has(Number(l.trim().split(/\s+/)[pidColumn]))).map((l) => `${l}\n`).join('')}`)
  return 0
}

/** The exec's process: --process FILE (an OCI process object), else the container's with ARGS and flags. */
function execProcess(config: OciConfig, flags: Parsed['flags'], command: string[]): ProcessPlan {
  let proc = config.process!
  if (flags.process) {
    const file = flags.process as string
    try {
      proc = JSON.parse(readFileSync(file, 'utf8')) as typeof proc
    } catch (err) {
      throw new SkiffError('E_USAGE', `--process ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { hint: 'give a file with an OCI process object (runtime-spec config.md, "process")' })
    }
  } else {
    if (!command.length) throw usage('exec: a command is needed (or --process FILE)')
    proc = { ...proc, args: command, terminal: !!flags.tty }
    if (flags.cwd) proc.cwd = flags.cwd as string
    if (flags.env) proc.env = [...(proc.env ?? []), ...(flags.env as string[])]
    if (flags.user) {
      const m = /^(\d+)(?::(\d+))?$/.exec(flags.user as string)
      if (!m) throw usage(`--user ${flags.user}: expected UID[:GID]`)
      proc.user = { ...proc.user, uid: Number(m[1]), gid: m[2] ? Number(m[2]) : 0 }
    }
    if (flags['additional-gids']) proc.user = { ...proc.user!, additionalGids: (flags['additional-gids'] as string[]).map(Number) }
    if (flags['no-new-privs']) proc.noNewPrivileges = true
    if (flags.cap) {
      const caps = flags.cap as string[]
      const add = (list: string[] | undefined) => [...new Set([...(list ?? []), ...caps])]
      proc.capabilities = { ...proc.capabilities, bounding: add(proc.capabilities?.bounding), effective: add(proc.capabilities?.effective), permitted: add(proc.capabilities?.permitted) }
    }
  }
  if (flags.apparmor || flags['process-label']) throw new SkiffError('E_UNSUPPORTED', 'exec: AppArmor and SELinux labels are not supported', { hint: 'leave them out' })
  if (flags.cgroup) throw new SkiffError('E_UNSUPPORTED', 'exec --cgroup: this face makes no cgroups', { hint: 'leave it out' })
  const preserve = intFlag(flags['preserve-fds'], 'preserve-fds')
  return { ...processPlan(proc), ...(preserve ? { preserveFds: preserve } : {}) }
}

/** `spec`: runc's default config.json (rootless: a user namespace mapping the user to root). */
function writeSpec(bundle: string, rootless: boolean): number {
  const path = join(bundle, 'config.json')
  if (existsSync(path)) throw new SkiffError('E_CONFLICT', `${path} exists`, { hint: 'remove it first, or write the spec into another --bundle directory' })
  const caps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']
  writeFileSync(path, `${JSON.stringify(specDocument(rootless, caps, process.getuid!(), process.getgid!()), null, '\t')}\n`, { mode: 0o644 })
  return 0
}

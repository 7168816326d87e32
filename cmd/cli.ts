// Command specs as data, argv parsing against them, and help text. Pure.
//
// Neither the yargs framework nor yargs-parser: importing yargs cost ~45 ms at every start
// (`skiff version` 64 ms with it vs 20 ms for `skiff --version` without), and yargs-parser 3–8 ms
// of `run`, whose whole budget is 30 ms. A verb is a spec (options as data) plus a handler;
// main.ts parses, refuses unknown options, and prints help from the same data.
import { SkiffError } from '../core/errors.js'

export interface OptionSpec {
  name: string
  alias?: string
  type: 'boolean' | 'string' | 'number'
  /** repeatable: -e A=1 -e B=2 */
  array?: boolean
  describe: string
  default?: unknown
  /** value name shown in help, e.g. "FILE" */
  placeholder?: string
  hidden?: boolean
}

export interface CommandSpec<A = Record<string, unknown>> {
  /** e.g. "run [OPTIONS] IMAGE [COMMAND] [ARG...]" */
  usage: string
  describe: string
  options: OptionSpec[]
  /** names of the positional arguments, in order; a trailing "..." collects the rest */
  positionals: string[]
  /** how many positionals must be given */
  required?: number
  handler: (args: A & ParsedExtras) => Promise<void> | void
}

export interface ParsedExtras {
  /** arguments after the container's image (run, exec), never parsed as options */
  containerCommand: string[]
}

/**
 * Parse `args` (after the verb) against `spec` → named values; throws a usage SkiffError.
 * Docker's grammar: `--name`, `--name=value`, `--name value`, `-abc` (booleans), `-e VALUE`,
 * `-eVALUE`, `-ite VALUE` (only the last letter of a cluster takes a value), `--` ends options;
 * a boolean takes `--rm=false`; a repeated option is an array when `array`, else the last wins.
 * Values stay strings unless the option is a number. Our own parser: yargs-parser cost 3–8 ms of
 * `run`'s start-up for the same result (measured with SKIFF_TRACE).
 */
export function parseArgs(verb: string, spec: CommandSpec<any>, args: string[], containerCommand: string[]): Record<string, unknown> & ParsedExtras {
  const out: Record<string, unknown> & ParsedExtras = { containerCommand }
  const byName = new Map<string, OptionSpec>()
  const byAlias = new Map<string, OptionSpec>()
  for (const o of spec.options) {
    byName.set(o.name, o)
    if (o.alias) byAlias.set(o.alias, o)
    if (o.default !== undefined) out[o.name] = Array.isArray(o.default) ? [...o.default] : o.default
    else if (o.array) out[o.name] = []
  }
  const set = (o: OptionSpec, shown: string, value: string | boolean) => {
    let v: unknown = value
    if (o.type === 'number') {
      v = Number(value)
      if (value === '' || Number.isNaN(v)) throw usage(verb, `${shown} needs a number`)
    }
    if (o.array) (out[o.name] as unknown[]).push(v)
    else out[o.name] = v
  }
  const positionals: string[] = []
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (a === '--') {
      positionals.push(...args.slice(i + 1))
      break
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=')
      const name = a.slice(2, eq < 0 ? undefined : eq)
      if (name === 'help') continue
      const o = byName.get(name)
      if (!o) throw usage(verb, `unknown option --${name}`)
      if (o.type === 'boolean') {
        const v = eq < 0 ? 'true' : a.slice(eq + 1)
        if (v !== 'true' && v !== 'false') throw usage(verb, `--${name}=${v}: expected true or false`)
        set(o, `--${name}`, v === 'true')
      } else if (eq >= 0) {
        set(o, `--${name}`, a.slice(eq + 1))
      } else {
        if (i + 1 >= args.length) throw usage(verb, `--${name} needs a value`)
        set(o, `--${name}`, args[++i]!)
      }
      continue
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const o = byAlias.get(a[j]!)
        if (!o) throw usage(verb, `unknown option -${a[j]}`)
        if (o.type === 'boolean') {
          set(o, `-${a[j]}`, true)
          continue
        }
        // the rest of the cluster is the value (-eA=1, -p8080:80), else the next argument
        let value = a.slice(j + 1)
        if (value.startsWith('=')) value = value.slice(1)
        if (!value) {
          if (i + 1 >= args.length) throw usage(verb, `-${a[j]} needs a value`)
          value = args[++i]!
        }
        set(o, `-${a[j]}`, value)
        break
      }
      continue
    }
    positionals.push(a)
  }
  const required = spec.required ?? 0
  if (positionals.length < required) throw usage(verb, `${verb} needs ${spec.positionals.slice(0, required).map((p) => (p.endsWith('...') ? `at least one ${p.slice(0, -4).replace(/s$/, '')}` : p)).join(' and ')}`)
  spec.positionals.forEach((name, i) => {
    if (name.endsWith('...')) out[name.slice(0, -3)] = positionals.slice(i)
    else out[name] = positionals[i]
  })
  const max = spec.positionals.some((p) => p.endsWith('...')) ? Infinity : spec.positionals.length
  if (positionals.length > max) throw usage(verb, `unexpected argument ${positionals[max]}`)
  return out
}

function usage(verb: string, message: string): SkiffError {
  return new SkiffError('E_USAGE', message, { hint: `see 'skiff ${verb} --help'`, exitCode: 125 })
}

/** Help text of one verb, from its spec. */
export function helpText(spec: CommandSpec<any>): string {
  const lines = [`Usage: skiff ${spec.usage}`, '', spec.describe, '', 'Options:']
  const rows = spec.options
    .filter((o) => !o.hidden)
    .map((o) => {
      const flags = `${o.alias ? `-${o.alias}, ` : '    '}--${o.name}${o.type === 'boolean' ? '' : ` ${o.placeholder ?? o.type}`}`
      const def = o.default !== undefined && o.default !== false && !(Array.isArray(o.default) && o.default.length === 0) ? ` (default ${JSON.stringify(o.default)})` : ''
      return [flags, `${o.describe}${def}`] as const
    })
  rows.push(['    --help', 'Show this help'])
  const width = Math.max(...rows.map((r) => r[0].length)) + 2
  for (const [flags, text] of rows) lines.push(`  ${flags.padEnd(width)}${text}`)
  return lines.join('\n') + '\n'
}

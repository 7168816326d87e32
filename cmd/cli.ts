// Command specs as data, argv parsing (yargs-parser) against them, and help text. Pure.
//
// skiff uses yargs' own parser, not the yargs framework: importing yargs costs ~45 ms at every
// start (measured: `skiff version` 64 ms with yargs vs 20 ms for `skiff --version` without), and
// `skiff run --rm IMAGE true` has a budget of 30–40 ms in all. A verb is a spec (options as data)
// plus a handler; main.ts parses, checks unknown options, and prints help from the same data.
import parse from 'yargs-parser'
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

/** Parse `args` (after the verb) against `spec` → named values; throws a usage SkiffError. */
export function parseArgs(verb: string, spec: CommandSpec<any>, args: string[], containerCommand: string[]): Record<string, unknown> & ParsedExtras {
  const boolean: string[] = []
  const string: string[] = []
  const number: string[] = []
  const array: string[] = []
  const alias: Record<string, string> = {}
  const defaults: Record<string, unknown> = {}
  for (const o of spec.options) {
    ;(o.type === 'boolean' ? boolean : o.type === 'number' ? number : string).push(o.name)
    if (o.array) array.push(o.name)
    if (o.alias) alias[o.name] = o.alias
    if (o.default !== undefined) defaults[o.name] = o.default
    else if (o.array) defaults[o.name] = []
  }
  const parsed = parse.detailed(args, {
    boolean, string, number, array, alias, default: defaults,
    configuration: { 'camel-case-expansion': false, 'boolean-negation': false, 'strip-aliased': true, 'dot-notation': false, 'duplicate-arguments-array': true, 'greedy-arrays': false, 'unknown-options-as-args': false },
  })
  if (parsed.error) throw usage(verb, parsed.error.message)
  const argv = parsed.argv as Record<string, unknown> & { _: (string | number)[] }
  const known = new Set(['_', '--', 'help', ...spec.options.flatMap((o) => [o.name, o.alias ?? o.name])])
  const unknown = Object.keys(argv).filter((k) => !known.has(k))
  if (unknown.length > 0) {
    throw usage(verb, `unknown option ${unknown.map((k) => (k.length === 1 ? `-${k}` : `--${k}`)).join(', ')}`)
  }
  for (const o of spec.options) {
    const v = argv[o.name]
    if (!o.array && Array.isArray(v)) argv[o.name] = v[v.length - 1]
    if (o.type === 'string' && !o.array && argv[o.name] !== undefined && typeof argv[o.name] !== 'string') argv[o.name] = String(argv[o.name])
    if (o.type === 'number' && argv[o.name] !== undefined && Number.isNaN(argv[o.name])) throw usage(verb, `--${o.name} needs a number`)
  }
  const positionals = argv._.map(String)
  const required = spec.required ?? 0
  if (positionals.length < required) throw usage(verb, `${verb} needs ${spec.positionals.slice(0, required).map((p) => (p.endsWith('...') ? `at least one ${p.slice(0, -4).replace(/s$/, '')}` : p)).join(' and ')}`)
  const out: Record<string, unknown> & ParsedExtras = { ...argv, containerCommand }
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

// skiff completion bash|zsh|fish: a completion script, made from the verbs' own option specs; and
// `skiff __complete KIND`, which the scripts run for names: containers, images, volumes and networks, read
// from the store's name files only (no image config is parsed, nothing is fetched).
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { SkiffError } from '../core/errors.js'
import type { CommandSpec, OptionSpec } from './cli.js'
import { commands } from './commands.js'

/** What a verb's positional arguments name, for completion. */
const NAMES: Record<string, 'containers' | 'images' | 'volumes' | 'networks'> = {
  start: 'containers', stop: 'containers', restart: 'containers', kill: 'containers', wait: 'containers', rm: 'containers', exec: 'containers',
  attach: 'containers', logs: 'containers', inspect: 'containers', cp: 'containers', top: 'containers', diff: 'containers', export: 'containers',
  port: 'containers', pause: 'containers', unpause: 'containers', update: 'containers', stats: 'containers', rename: 'containers',
  run: 'images', create: 'images', rmi: 'images', history: 'images', tag: 'images', save: 'images', image: 'images', push: 'images',
  volume: 'volumes', network: 'networks',
}

async function verbOptions(): Promise<{ name: string; options: OptionSpec[] }[]> {
  const out = []
  for (const c of commands.filter((x) => !x.hidden)) {
    const spec = (await c.load()).default as CommandSpec
    out.push({ name: c.name, options: spec.options.filter((o) => !o.hidden) })
  }
  return out
}

const flags = (options: OptionSpec[]) => options.flatMap((o) => [`--${o.name}`, ...(o.alias ? [`-${o.alias}`] : [])]).join(' ')

export function bashScript(verbs: { name: string; options: OptionSpec[] }[]): string {
  const cases = verbs.map((v) => `    ${v.name}) opts="${flags(v.options)} --help"; kind="${NAMES[v.name] ?? ''}" ;;`).join('\n')
  return `# skiff completion for bash: source <(skiff completion bash)
_skiff() {
  local cur=\${COMP_WORDS[COMP_CWORD]} verb=\${COMP_WORDS[1]} opts='' kind=''
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${verbs.map((v) => v.name).join(' ')} --help --version --root --runroot --storage-driver --log-level" -- "$cur"))
    return
  fi
  case "$verb" in
${cases}
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [ -n "$kind" ]; then
    COMPREPLY=($(compgen -W "$(\${COMP_WORDS[0]} __complete "$kind" 2>/dev/null)" -- "$cur"))
  fi
}
complete -o default -F _skiff skiff
`
}

export function zshScript(verbs: { name: string; options: OptionSpec[] }[]): string {
  return `#compdef skiff
# skiff completion for zsh: source <(skiff completion zsh), with bash's completion functions
autoload -U +X bashcompinit && bashcompinit
${bashScript(verbs)}`
}

export function fishScript(verbs: { name: string; options: OptionSpec[] }[]): string {
  const lines = ['# skiff completion for fish: skiff completion fish | source', 'complete -c skiff -f']
  for (const v of verbs) lines.push(`complete -c skiff -n __fish_use_subcommand -a ${v.name}`)
  for (const v of verbs) {
    for (const o of v.options) {
      lines.push(`complete -c skiff -n '__fish_seen_subcommand_from ${v.name}' -l ${o.name}${o.alias ? ` -s ${o.alias}` : ''}${o.type !== 'boolean' ? ' -r' : ''} -d ${JSON.stringify(o.describe.slice(0, 60))}`)
    }
    const kind = NAMES[v.name]
    if (kind) lines.push(`complete -c skiff -n '__fish_seen_subcommand_from ${v.name}' -a '(skiff __complete ${kind} 2>/dev/null)'`)
  }
  return `${lines.join('\n')}\n`
}

/** Names of one kind, from the store's name files. */
export async function completeNames(kind: string): Promise<string[]> {
  const { resolvePaths } = await import('../core/paths.js')
  const root = resolvePaths().storage
  const list = (dir: string) => {
    try {
      return readdirSync(join(root, dir))
    } catch {
      return []
    }
  }
  if (kind === 'containers') return list('names').sort()
  if (kind === 'volumes') return list('volumes').filter((n) => !n.startsWith('.')).sort()
  if (kind === 'networks') {
    const { listNetworks } = await import('../core/net/networks.js')
    return listNetworks(root).map((n) => n.Name).sort()
  }
  if (kind === 'images') {
    let refs: Record<string, string> = {}
    try {
      refs = JSON.parse(readFileSync(join(root, 'refs.json'), 'utf8')) as Record<string, string>
    } catch {}
    // as users type them: docker.io/library/busybox:latest → busybox, busybox:latest
    return [...new Set(Object.keys(refs).flatMap((r) => {
      const short = r.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '')
      return short.endsWith(':latest') ? [short.slice(0, -7), short] : [short]
    }))].sort()
  }
  throw new SkiffError('E_USAGE', `__complete ${kind}: expected containers, images, volumes or networks`, { hint: 'this verb is for the completion scripts' })
}

export const completion: CommandSpec<{ shell: string }> = {
  usage: 'completion bash|zsh|fish',
  describe: 'Print a shell completion script',
  positionals: ['shell'],
  required: 1,
  options: [],
  handler: async (argv) => {
    const make = { bash: bashScript, zsh: zshScript, fish: fishScript }[argv.shell]
    if (!make) throw new SkiffError('E_USAGE', `completion ${argv.shell}: skiff completes bash, zsh and fish`, { hint: 'e.g. source <(skiff completion bash)' })
    process.stdout.write(make(await verbOptions()))
  },
}

export const complete: CommandSpec<{ kind: string }> = {
  usage: '__complete containers|images|volumes|networks',
  describe: 'internal: names for the completion scripts',
  positionals: ['kind'],
  required: 1,
  options: [],
  handler: async (argv) => {
    process.stdout.write((await completeNames(argv.kind)).map((n) => `${n}\n`).join(''))
  },
}

export default completion

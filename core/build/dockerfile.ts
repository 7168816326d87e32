// The Dockerfile language as Docker documents it (docs.docker.com/reference/dockerfile): parser
// directives, comments, line continuations, heredocs, JSON and shell forms, flags, and the
// variable substitution of the instructions that have it. Pure.
import { SkiffError } from '../errors.js'

export interface Heredoc {
  name: string
  /** <<-: leading tabs removed */
  chomp: boolean
  /** the delimiter was quoted: no substitution in the content */
  quoted: boolean
  content: string
}

export interface Instruction {
  /** upper case: RUN, COPY, ... */
  name: string
  /** --name=value flags at the front (repeatable ones keep every value) */
  flags: Record<string, string[]>
  /** the text after the flags, continuation lines joined */
  args: string
  /** exec form: the JSON array, when the text is one */
  json?: string[]
  heredocs: Heredoc[]
  /** the instruction as written (for history and errors), on one line */
  original: string
  line: number
}

export interface Dockerfile {
  directives: Record<string, string>
  escape: string
  instructions: Instruction[]
}

const FLAGGED = new Set(['FROM', 'RUN', 'COPY', 'ADD', 'HEALTHCHECK'])
const HEREDOC_ALLOWED = new Set(['RUN', 'COPY', 'ADD'])

function parseError(line: number, message: string): SkiffError {
  return new SkiffError('E_DOCKERFILE', `Dockerfile line ${line}: ${message}`, { hint: 'see https://docs.docker.com/reference/dockerfile/' })
}

/**
 * The parser directives at the top: `# syntax=...`, `# escape=\` or `` ` ``, `# check=...`.
 * They end at the first line that is not one (a blank line, a comment, an instruction).
 */
function directives(lines: string[]): { found: Record<string, string>; count: number } {
  const found: Record<string, string> = {}
  let count = 0
  for (const line of lines) {
    const m = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.*?)\s*$/.exec(line)
    if (!m) break
    const key = m[1]!.toLowerCase()
    if (!['syntax', 'escape', 'check'].includes(key) || key in found) break
    found[key] = m[2]!
    count++
  }
  return { found, count }
}

/** Split flags (`--from=build --chown=1:1`) off the front of an instruction's text. */
function splitFlags(text: string, line: number): { flags: Record<string, string[]>; rest: string } {
  const flags: Record<string, string[]> = {}
  let rest = text
  for (;;) {
    const m = /^--([a-zA-Z][a-zA-Z0-9-]*)(?:=("(?:[^"\\]|\\.)*"|\S*))?(?:\s+|$)/.exec(rest)
    if (!m) break
    let value = m[2] ?? 'true'
    if (value.startsWith('"')) value = JSON.parse(value) as string
    ;(flags[m[1]!.toLowerCase()] ??= []).push(value)
    rest = rest.slice(m[0].length)
  }
  if (/^--\S/.test(rest)) throw parseError(line, `cannot read the flag ${rest.split(/\s/)[0]}`)
  return { flags, rest }
}

/** `["a", "b"]` as an array of strings, or undefined when the text is not one (then: shell form). */
function jsonForm(text: string): string[] | undefined {
  if (!text.startsWith('[')) return undefined
  try {
    const v = JSON.parse(text) as unknown
    if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[]
  } catch {}
  return undefined
}

/** The heredoc markers of a line: <<EOF, <<-EOF, <<"EOF", <<'EOF'. */
function heredocMarkers(text: string): { name: string; chomp: boolean; quoted: boolean }[] {
  const out: { name: string; chomp: boolean; quoted: boolean }[] = []
  const re = /<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g
  for (let m = re.exec(text); m; m = re.exec(text)) out.push({ chomp: m[1] === '-', quoted: m[2] !== '', name: m[3]! })
  return out
}

export function parseDockerfile(text: string): Dockerfile {
  const lines = text.replace(/\r\n/g, '\n').split('\n')
  const { found, count } = directives(lines)
  const escape = found.escape ?? '\\'
  if (escape !== '\\' && escape !== '`') throw parseError(1, `escape=${escape}: the escape character is \\ or \``)
  const instructions: Instruction[] = []
  let i = count
  while (i < lines.length) {
    const start = i + 1
    let raw = lines[i++]!
    if (/^\s*(#|$)/.test(raw)) continue
    // continuation lines: the escape character at the end; comment and empty lines in between go
    let text = ''
    for (;;) {
      const trimmed = raw.replace(/\s+$/, '')
      if (trimmed.endsWith(escape) && !trimmed.endsWith(escape + escape)) {
        text += trimmed.slice(0, -1)
        while (i < lines.length && /^\s*(#.*)?$/.test(lines[i]!)) i++
        if (i >= lines.length) break
        raw = lines[i++]!
        continue
      }
      text += raw
      break
    }
    text = text.trim()
    const m = /^(\S+)\s*([\s\S]*)$/.exec(text)!
    const name = m[1]!.toUpperCase()
    if (!/^[A-Z]+$/.test(name)) throw parseError(start, `unknown instruction: ${m[1]}`)
    let rest = m[2]!
    let flags: Record<string, string[]> = {}
    if (FLAGGED.has(name)) ({ flags, rest } = splitFlags(rest, start))
    const heredocs: Heredoc[] = []
    if (HEREDOC_ALLOWED.has(name) && !jsonForm(rest)) {
      for (const h of heredocMarkers(rest)) {
        const body: string[] = []
        for (;;) {
          if (i >= lines.length) throw parseError(start, `the heredoc <<${h.name} has no end line "${h.name}"`)
          const l = lines[i++]!
          if ((h.chomp ? l.replace(/^\t+/, '') : l) === h.name) break
          body.push(h.chomp ? l.replace(/^\t+/, '') : l)
        }
        heredocs.push({ ...h, content: body.length ? `${body.join('\n')}\n` : '' })
      }
    }
    instructions.push({ name, flags, args: rest, json: jsonForm(rest), heredocs, original: `${name} ${text.slice(m[1]!.length).trim()}`.trim(), line: start })
  }
  return { directives: found, escape, instructions }
}

/**
 * Substitution as the Dockerfile does it: $VAR, ${VAR}, ${VAR:-word}, ${VAR-word},
 * ${VAR:+word}, ${VAR+word}, ${VAR:?msg}; the escape character before $ keeps it.
 *   expand('${A:-x}/$B', { B: 'b' }) → 'x/b'
 */
export function expand(text: string, env: Record<string, string>, escape = '\\'): string {
  return words(text, env, escape, { split: false })[0] ?? ''
}

/**
 * The words of `text` after substitution, quote removal and escapes, as ENV, LABEL, COPY and
 * the other instructions read their arguments. With `split: false`, one word (spaces kept).
 */
export function words(text: string, env: Record<string, string>, escape = '\\', opts: { split?: boolean } = {}): string[] {
  const split = opts.split ?? true
  const out: string[] = []
  let cur = ''
  let has = false
  let quote: '"' | "'" | '' = ''
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (c === escape && quote !== "'" && i + 1 < text.length) {
      const next = text[++i]!
      // inside double quotes only the special characters are escaped
      if (quote === '"' && !['"', '$', escape].includes(next)) cur += c
      cur += next
      has = true
      continue
    }
    if (quote) {
      if (c === quote) {
        quote = ''
        continue
      }
      if (c === '$' && quote === '"') {
        const r = variable(text, i, env, escape)
        cur += r.value
        i = r.end
        continue
      }
      cur += c
      continue
    }
    if (c === '"' || c === "'") {
      quote = c
      has = true
      continue
    }
    if (c === '$') {
      const r = variable(text, i, env, escape)
      cur += r.value
      i = r.end
      has = true
      continue
    }
    if (split && /\s/.test(c)) {
      if (has || cur) out.push(cur)
      cur = ''
      has = false
      continue
    }
    cur += c
    has = true
  }
  if (quote) throw new SkiffError('E_DOCKERFILE', `unmatched ${quote} in: ${text}`, { hint: 'close the quote' })
  if (has || cur || !split) out.push(cur)
  return out
}

/** The variable at text[i] ('$'): its value and the index of its last character. */
function variable(text: string, i: number, env: Record<string, string>, escape: string): { value: string; end: number } {
  const simple = /^\$([A-Za-z_][A-Za-z0-9_]*)/.exec(text.slice(i))
  if (simple) return { value: env[simple[1]!] ?? '', end: i + simple[0].length - 1 }
  if (text[i + 1] !== '{') return { value: '$', end: i }
  // ${...}: find the matching brace (words may nest: ${A:-${B}})
  let depth = 0
  let j = i + 1
  for (; j < text.length; j++) {
    if (text[j] === '{') depth++
    else if (text[j] === '}' && --depth === 0) break
  }
  if (j >= text.length) throw new SkiffError('E_DOCKERFILE', `missing } in: ${text}`, { hint: 'write ${NAME}' })
  const inner = text.slice(i + 2, j)
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-+?])([\s\S]*))?$/.exec(inner)
  if (!m) throw new SkiffError('E_DOCKERFILE', `bad substitution: \${${inner}}`, { hint: 'write ${NAME}, ${NAME:-default} or ${NAME:+alternative}' })
  const [, name, colon, op, word] = m
  const set = name! in env && (colon ? env[name!] !== '' : true)
  let value = env[name!] ?? ''
  if (op === '-' && !set) value = expand(word!, env, escape)
  else if (op === '+') value = set ? expand(word!, env, escape) : ''
  else if (op === '?' && !set) throw new SkiffError('E_DOCKERFILE', `${name}: ${word || 'is not set'}`, { hint: `pass it: --build-arg ${name}=...` })
  return { value, end: j }
}

/** KEY=VALUE pairs (ENV, LABEL, ARG), or the old one-pair form `ENV KEY VALUE`. */
export function pairs(inst: Instruction, env: Record<string, string>, escape: string): [string, string][] {
  const text = inst.args.trim()
  if (!text) throw parseError(inst.line, `${inst.name} needs arguments`)
  const first = /^([^\s=]+)(\s+|$)/.exec(text)
  if (first && inst.name !== 'ARG' && !first[1]!.includes('=')) {
    // ENV KEY the rest
    return [[first[1]!, words(text.slice(first[0].length), env, escape, { split: false })[0] ?? '']]
  }
  return words(text, env, escape).map((w) => {
    const eq = w.indexOf('=')
    if (eq === 0) throw parseError(inst.line, `${inst.name}: a name is needed before = in ${w}`)
    return eq < 0 ? [w, undefined as unknown as string] : [w.slice(0, eq), w.slice(eq + 1)]
  })
}

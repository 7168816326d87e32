// Go's text/template, as `docker ... --format` uses it, over JSON-like data. Pure.
//
//   render(parseTemplate('{{.Name}} {{len .Env}}'), { Name: 'web', Env: ['A=1'] }) → 'web 1'
//
// What is here: text and actions with trim markers ({{- -}}), comments, pipelines (|), variables
// ($x := …, $x = …, $, range's $i, $v), parenthesized pipelines and field chains on them, string
// (interpreted and raw), number, bool and nil literals; if / else if / else, range (over arrays,
// objects in key order, and integers) with else, break and continue, with / else; Go's functions
// (and, or, not, len, index, slice, print, printf, println, eq, ne, lt, le, gt, ge, html, js,
// urlquery) and Docker's (json, join, split, lower, upper, title, truncate, pad). define, template
// and block are refused with an error, as are calls of unknown functions.
//
// Data is what JSON holds. Go tells a struct (whose unknown field is an error) from a map (whose
// missing key is "<no value>"); JSON does not, so an object is a map when its name says so (Labels,
// Options, ...: MAP_FIELDS) or it is empty, and a struct otherwise: `{{.Stat.Pid}}` is an error
// that lists the fields there are. Values print as Go's %v prints them: [a b], map[k:v], {v1 v2}.
import { SkiffError } from '../core/errors.js'

type Value = unknown

/** Objects Docker's JSON holds as Go maps: a missing key there is no error. */
const MAP_FIELDS = new Set(['Labels', 'Options', 'Ports', 'Networks', 'ExposedPorts', 'Volumes', 'Annotations', 'DriverOpts', 'Status', 'Sysctls', 'Tmpfs', 'StorageOpt', 'Data'])

/** A JS function stands for a Go method (`{{.Label "x"}}`): called with the action's arguments. */
export type Method = (...args: Value[]) => Value

// ---- parse ---------------------------------------------------------------------------------------

type Node =
  | { t: 'text'; text: string }
  | { t: 'action'; pipe: Pipe }
  | { t: 'if' | 'with'; pipe: Pipe; then: Node[]; else: Node[] }
  | { t: 'range'; pipe: Pipe; then: Node[]; else: Node[] }
  | { t: 'break' }
  | { t: 'continue' }

interface Pipe {
  decl: string[]
  assign: boolean
  cmds: Arg[][]
}

type Arg =
  /** .A.B on dot, $x.A.B on a variable, (pipeline).A.B on an operand */
  | { t: 'field'; base: { dot: true } | { variable: string } | { of: Arg }; path: string[] }
  | { t: 'ident'; name: string }
  | { t: 'lit'; v: Value }
  | { t: 'pipe'; pipe: Pipe }

export interface Template {
  nodes: Node[]
  source: string
}

function fail(message: string): never {
  throw new SkiffError('E_TEMPLATE', `template: ${message.replace(/^: /, '')}`, {
    hint: "the --format template follows Go's text/template, as Docker's: e.g. '{{.Names}}', '{{json .}}', 'table {{.ID}}\\t{{.Status}}'",
  })
}

type Tok = { k: 'field' | 'var' | 'ident' | 'str' | 'num' | 'char' | 'punct'; v: string }

/** The words of one action: "{{ .A.B | printf "%s" }}" → field .A.B, punct |, ident printf, str %s */
function lex(src: string, where: string): Tok[] {
  const out: Tok[] = []
  let i = 0
  while (i < src.length) {
    const c = src[i]!
    if (/\s/.test(c)) {
      i++
      continue
    }
    if (c === '"') {
      let j = i + 1
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1
      if (j >= src.length) fail(`${where}: unterminated quoted string`)
      out.push({ k: 'str', v: unquote(src.slice(i, j + 1), where) })
      i = j + 1
    } else if (c === '`') {
      const j = src.indexOf('`', i + 1)
      if (j < 0) fail(`${where}: unterminated raw string`)
      out.push({ k: 'str', v: src.slice(i + 1, j) })
      i = j + 1
    } else if (c === "'") {
      const j = src.indexOf("'", i + 1)
      if (j < 0) fail(`${where}: unterminated character constant`)
      out.push({ k: 'char', v: unquote(`"${src.slice(i + 1, j)}"`, where) })
      i = j + 1
    } else if (c === '.' && !/[0-9]/.test(src[i + 1] ?? '')) {
      const m = /^(\.[A-Za-z_][A-Za-z0-9_]*)+|^\./.exec(src.slice(i))!
      out.push({ k: 'field', v: m[0] })
      i += m[0].length
    } else if (c === '$') {
      const m = /^\$[A-Za-z0-9_]*((\.[A-Za-z_][A-Za-z0-9_]*)*)/.exec(src.slice(i))!
      out.push({ k: 'var', v: m[0] })
      i += m[0].length
    } else if (/[-+0-9]/.test(c) && /^[-+]?(\d|\.\d)/.test(src.slice(i))) {
      const m = /^[-+]?(0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+|(\d[\d_]*)?\.?\d*([eE][-+]?\d+)?)/.exec(src.slice(i))!
      out.push({ k: 'num', v: m[0] })
      i += m[0].length
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!
      out.push({ k: 'ident', v: m[0] })
      i += m[0].length
    } else if (src.startsWith(':=', i)) {
      out.push({ k: 'punct', v: ':=' })
      i += 2
    } else if ('|()=,'.includes(c)) {
      out.push({ k: 'punct', v: c })
      i++
    } else {
      fail(`${where}: unexpected ${JSON.stringify(c)} in action`)
    }
  }
  return out
}

function unquote(q: string, where: string): string {
  try {
    return JSON.parse(q.replace(/\\x([0-9a-fA-F]{2})/g, '\\u00$1').replace(/\\'/g, "'").replace(/\\a/g, '\\u0007').replace(/\\v/g, '\\u000b')) as string
  } catch {
    return fail(`${where}: bad string ${q}`)
  }
}

function num(text: string, where: string): number {
  const n = Number(text.replace(/_/g, ''))
  if (Number.isNaN(n)) fail(`${where}: bad number syntax: ${JSON.stringify(text)}`)
  return n
}

/** Parse a template; errors name the line and say what is wrong, as Go's do. */
export function parseTemplate(source: string): Template {
  // the actions and the text between them, with trim markers applied
  const parts: { text?: string; action?: string; line: number }[] = []
  let i = 0
  let line = 1
  let trimNext = false
  while (i < source.length) {
    const open = source.indexOf('{{', i)
    let text = source.slice(i, open < 0 ? source.length : open)
    if (trimNext) text = text.replace(/^\s+/, '')
    trimNext = false
    if (open < 0) {
      parts.push({ text, line })
      break
    }
    let body = source.slice(open + 2)
    const trimLeft = /^-\s/.test(body)
    if (trimLeft) {
      text = text.replace(/\s+$/, '')
      body = body.slice(1)
    }
    if (text) parts.push({ text, line })
    line += (source.slice(i, open).match(/\n/g) ?? []).length
    // the end of the action: the first }} not inside a string or a comment
    let j = 0
    if (/^\s*\/\*/.test(body)) {
      const end = body.indexOf('*/')
      if (end < 0) fail(`:${line}: unclosed comment`)
      j = end + 2
    } else {
      for (; j < body.length; j++) {
        const c = body[j]
        if (c === '"' || c === '`' || c === "'") {
          const close = c === '"' ? /"|\\./g : c === "'" ? /'|\\./g : /`/g
          close.lastIndex = j + 1
          let m
          while ((m = close.exec(body)) && m[0].length === 2) {}
          if (!m) fail(`:${line}: unterminated quoted string`)
          j = m.index
          continue
        }
        if (body.startsWith('}}', j) || body.startsWith('-}}', j)) break
      }
    }
    let end = body.indexOf('}}', j)
    if (end < 0) fail(`:${line}: unclosed action`)
    let inner = body.slice(0, end)
    if (/\s-$/.test(inner)) {
      inner = inner.slice(0, -1)
      trimNext = true
    }
    const consumed = open + 2 + (trimLeft ? 1 : 0) + end + 2
    line += (source.slice(open, consumed).match(/\n/g) ?? []).length
    if (!/^\s*\/\*[\s\S]*\*\/\s*$/.test(inner)) parts.push({ action: inner, line })
    i = consumed
  }
  let at = 0
  const list = (closers: string[]): { nodes: Node[]; closer: string; rest?: Tok[] } => {
    const nodes: Node[] = []
    while (at < parts.length) {
      const p = parts[at++]!
      if (p.text !== undefined) {
        nodes.push({ t: 'text', text: p.text })
        continue
      }
      const where = `:${p.line}`
      const toks = lex(p.action!, where)
      const kw = toks[0]?.k === 'ident' ? toks[0].v : ''
      if (closers.includes(kw)) return { nodes, closer: kw, rest: toks.slice(1) }
      if (kw === 'end' || kw === 'else') fail(`${where}: unexpected {{${kw}}}`)
      if (kw === 'if' || kw === 'with' || kw === 'range') nodes.push(control(kw, toks.slice(1), where))
      else if (kw === 'break') nodes.push({ t: 'break' })
      else if (kw === 'continue') nodes.push({ t: 'continue' })
      else if (kw === 'define' || kw === 'template' || kw === 'block') fail(`${where}: {{${kw}}} is not supported by skiff's templates`)
      else if (!toks.length) fail(`${where}: missing value for command`)
      else nodes.push({ t: 'action', pipe: pipeline(toks, where) })
    }
    if (closers.length) fail(`:${line}: unexpected EOF: a {{${closers.includes('else') ? 'if, range or with' : ''}}} has no {{end}}`)
    return { nodes, closer: '' }
  }
  const control = (kw: 'if' | 'with' | 'range', toks: Tok[], where: string): Node => {
    if (!toks.length) fail(`${where}: missing value for ${kw}`)
    const pipe = pipeline(toks, where, kw === 'range')
    const body = list(['else', 'end'])
    let otherwise: Node[] = []
    if (body.closer === 'else') {
      if (body.rest?.[0]?.k === 'ident' && (body.rest[0].v === 'if' || body.rest[0].v === 'with') && kw !== 'range') {
        // {{else if …}}: an if inside the else, closed by the same {{end}}
        otherwise = [control(body.rest[0].v as 'if' | 'with', body.rest.slice(1), where)]
      } else {
        if (body.rest?.length) fail(`${where}: unexpected ${body.rest[0]!.v} after else`)
        const e = list(['end'])
        otherwise = e.nodes
      }
    }
    return { t: kw, pipe, then: body.nodes, else: otherwise } as Node
  }
  return { nodes: list([]).nodes, source }
}

function pipeline(toks: Tok[], where: string, rangeDecl = false): Pipe {
  const pipe: Pipe = { decl: [], assign: false, cmds: [] }
  // $x := …, or range's $i, $v := …
  const decl = toks.findIndex((t) => t.k === 'punct' && (t.v === ':=' || t.v === '='))
  if (decl > 0 && toks.slice(0, decl).every((t) => t.k === 'var' || (t.k === 'punct' && t.v === ','))) {
    pipe.decl = toks.slice(0, decl).filter((t) => t.k === 'var').map((t) => t.v)
    pipe.assign = toks[decl]!.v === '='
    if (pipe.decl.length > (rangeDecl ? 2 : 1)) fail(`${where}: too many declarations`)
    toks = toks.slice(decl + 1)
  }
  let pos = 0
  const operand = (): Arg => {
    const t = toks[pos++]
    if (!t) fail(`${where}: missing value`)
    let arg: Arg
    if (t.k === 'field') arg = { t: 'field', base: { dot: true }, path: t.v === '.' ? [] : t.v.slice(1).split('.') }
    else if (t.k === 'var') {
      const [name, ...path] = t.v.split('.')
      arg = { t: 'field', base: { variable: name! }, path }
    } else if (t.k === 'str') arg = { t: 'lit', v: t.v }
    else if (t.k === 'char') arg = { t: 'lit', v: t.v.codePointAt(0) ?? 0 }
    else if (t.k === 'num') arg = { t: 'lit', v: num(t.v, where) }
    else if (t.k === 'ident') arg = t.v === 'true' || t.v === 'false' ? { t: 'lit', v: t.v === 'true' } : t.v === 'nil' ? { t: 'lit', v: null } : { t: 'ident', name: t.v }
    else if (t.v === '(') {
      const depthStart = pos
      let depth = 1
      while (pos < toks.length && depth > 0) {
        const x = toks[pos++]!
        if (x.k === 'punct' && x.v === '(') depth++
        if (x.k === 'punct' && x.v === ')') depth--
      }
      if (depth) fail(`${where}: unclosed left paren`)
      arg = { t: 'pipe', pipe: pipeline(toks.slice(depthStart, pos - 1), where) }
    } else return fail(`${where}: unexpected ${JSON.stringify(t.v)} in operand`)
    // a field chain right after an operand: (index .A 0).Name, $x.Name
    while (toks[pos]?.k === 'field' && toks[pos]!.v !== '.' && arg.t !== 'ident' && isAdjacentField(toks[pos - 1]!)) {
      arg = { t: 'field', base: { of: arg }, path: toks[pos++]!.v.slice(1).split('.') }
    }
    return arg
  }
  let cmd: Arg[] = []
  while (pos < toks.length) {
    const t = toks[pos]!
    if (t.k === 'punct' && t.v === '|') {
      if (!cmd.length) fail(`${where}: missing command before |`)
      pipe.cmds.push(cmd)
      cmd = []
      pos++
      continue
    }
    cmd.push(operand())
  }
  if (!cmd.length) fail(`${where}: missing command${pipe.cmds.length ? ' after |' : ''}`)
  pipe.cmds.push(cmd)
  return pipe
}

/** Only a closing paren may be followed directly by a field (lexed apart: "(x).Name"). */
function isAdjacentField(prev: Tok): boolean {
  return prev.k === 'punct' && prev.v === ')'
}

// ---- execute -------------------------------------------------------------------------------------

class Stop {
  constructor(readonly kind: 'break' | 'continue') {}
}

/** Go's missing-key value: prints as "<no value>". */
const NO_VALUE = Symbol('no value')

function isObject(v: Value): v is Record<string, Value> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Whether the object at field `name` is a Go map (missing keys allowed) rather than a struct. */
function isMap(v: Record<string, Value>, name: string | undefined): boolean {
  return (name !== undefined && MAP_FIELDS.has(name)) || Object.keys(v).length === 0 || Object.keys(v).some((k) => !/^[A-Z]/.test(k))
}

function truthy(v: Value): boolean {
  if (v === NO_VALUE || v === null || v === undefined || v === false || v === 0 || v === '') return false
  if (Array.isArray(v)) return v.length > 0
  if (isObject(v)) return Object.keys(v).length > 0
  return true
}

/** Go's %v of a value. */
export function goString(v: Value, name?: string): string {
  if (v === NO_VALUE) return '<no value>'
  if (v === null || v === undefined) return '<nil>'
  if (typeof v === 'string') return v
  if (typeof v === 'number') return goNumber(v)
  if (typeof v === 'boolean') return String(v)
  if (Array.isArray(v)) return `[${v.map((x) => goString(x)).join(' ')}]`
  if (isObject(v)) {
    if (isMap(v, name)) return `map[${Object.keys(v).sort().map((k) => `${k}:${goString(v[k], k)}`).join(' ')}]`
    return `{${Object.keys(v).map((k) => goString(v[k], k)).join(' ')}}`
  }
  return String(v)
}

function goNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n)
  const s = String(n)
  return s.replace(/e\+?(-?)(\d)$/, 'e$1+0$2').replace('e+-', 'e-').replace(/e(\d)/, 'e+$1')
}

function typeName(v: Value): string {
  if (v === null || v === undefined || v === NO_VALUE) return 'nil'
  if (Array.isArray(v)) return 'slice'
  if (isObject(v)) return 'struct'
  return typeof v === 'number' ? (Number.isInteger(v) ? 'int' : 'float64') : typeof v === 'boolean' ? 'bool' : 'string'
}

interface Scope {
  vars: Map<string, Value>[]
  dot: Value
  root: Value
}

function lookupVar(s: Scope, name: string, where: string): Value {
  if (name === '$') return s.root
  for (let i = s.vars.length - 1; i >= 0; i--) if (s.vars[i]!.has(name)) return s.vars[i]!.get(name)
  return fail(`${where}: undefined variable: ${name}`)
}

function field(v: Value, path: string[], shown: string, where: string): Value {
  let cur = v
  let parentName: string | undefined
  for (const name of path) {
    if (cur === NO_VALUE || cur === null || cur === undefined) fail(`${where}: executing at <${shown}>: nil pointer evaluating ${shown}`)
    if (!isObject(cur)) fail(`${where}: executing at <${shown}>: can't evaluate field ${name} in type ${typeName(cur)}`)
    if (!(name in cur)) {
      if (isMap(cur, parentName)) {
        cur = NO_VALUE
        parentName = name
        continue
      }
      const fields = Object.keys(cur).filter((k) => /^[A-Z]/.test(k))
      fail(`${where}: executing at <${shown}>: can't evaluate field ${name}; the fields here are ${fields.join(', ')}`)
    }
    cur = cur[name]
    parentName = name
  }
  return cur
}

type Fn = (args: Value[], where: string) => Value

function str(v: Value): string {
  return typeof v === 'string' ? v : goString(v)
}

function len(v: Value, where: string): number {
  if (typeof v === 'string') return Buffer.byteLength(v)
  if (Array.isArray(v)) return v.length
  if (isObject(v)) return Object.keys(v).length
  return fail(`${where}: error calling len: len of type ${typeName(v)}`)
}

function compare(a: Value, b: Value, where: string, op: string): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0
  if (op === 'eq' || op === 'ne') return a === b || (a === null && b === NO_VALUE) ? 0 : 1
  return fail(`${where}: error calling ${op}: incompatible types for comparison`)
}

/** Go's fmt verbs, the ones templates use: %s %v %d %q %t %x %X %o %f %e %g %c %%, width, precision, flags -+0 space. */
export function sprintf(format: string, args: Value[]): string {
  let n = 0
  return format.replace(/%([-+ 0#]*)(\d+|\*)?(?:\.(\d+|\*))?([a-zA-Z%])/g, (_whole, flags: string, width?: string, prec?: string, verb?: string) => {
    if (verb === '%') return '%'
    if (width === '*') width = String(args[n++])
    if (prec === '*') prec = String(args[n++])
    if (n >= args.length) return `%!${verb}(MISSING)`
    const a = args[n++]
    let s: string
    switch (verb) {
      case 'v':
      case 's':
        s = str(a === NO_VALUE ? NO_VALUE : a)
        if (a === NO_VALUE) s = '<no value>'
        if (prec !== undefined && verb === 's') s = [...s].slice(0, Number(prec)).join('')
        break
      case 'q':
        s = JSON.stringify(str(a))
        break
      case 'd':
        s = typeof a === 'number' ? String(Math.trunc(a)) : `%!d(${typeName(a)}=${str(a)})`
        if (flags.includes('+') && typeof a === 'number' && a >= 0) s = `+${s}`
        break
      case 't':
        s = typeof a === 'boolean' ? String(a) : `%!t(${typeName(a)}=${str(a)})`
        break
      case 'x':
      case 'X':
        s = typeof a === 'number' ? Math.trunc(a).toString(16) : Buffer.from(str(a)).toString('hex')
        if (verb === 'X') s = s.toUpperCase()
        break
      case 'o':
        s = typeof a === 'number' ? Math.trunc(a).toString(8) : `%!o(${typeName(a)}=${str(a)})`
        break
      case 'c':
        s = typeof a === 'number' ? String.fromCodePoint(a) : `%!c(${typeName(a)}=${str(a)})`
        break
      case 'f':
      case 'F':
        s = typeof a === 'number' ? a.toFixed(prec === undefined ? 6 : Number(prec)) : `%!f(${typeName(a)}=${str(a)})`
        break
      case 'e':
        s = typeof a === 'number' ? a.toExponential(prec === undefined ? 6 : Number(prec)).replace(/e([+-])(\d)$/, 'e$10$2') : `%!e(${typeName(a)}=${str(a)})`
        break
      case 'g':
        s = typeof a === 'number' ? goNumber(a) : `%!g(${typeName(a)}=${str(a)})`
        break
      default:
        return `%!${verb}(${typeName(a)}=${str(a)})`
    }
    if (width !== undefined) {
      const w = Number(width)
      const pad = Math.max(0, w - [...s].length)
      if (flags.includes('-')) s = s + ' '.repeat(pad)
      else if (flags.includes('0') && /[dfeEgxXo]/.test(verb!)) s = s.startsWith('-') ? `-${'0'.repeat(pad)}${s.slice(1)}` : '0'.repeat(pad) + s
      else s = ' '.repeat(pad) + s
    }
    return s
  }) + (n < args.length ? `%!(EXTRA ${args.slice(n).map((a) => `${typeName(a)}=${str(a)}`).join(', ')})` : '')
}

/** Go's Sprint: spaces between operands when neither side is a string. */
function sprint(args: Value[]): string {
  let out = ''
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' '
    out += goString(a)
  })
  return out
}

/** JSON as Docker's json function writes it: compact, no HTML escaping, a map's keys sorted (Go's encoding/json). */
function json(v: Value, name?: string): string {
  if (v === NO_VALUE || v === undefined || typeof v === 'function') return 'null'
  if (Array.isArray(v)) return `[${v.map((x) => json(x)).join(',')}]`
  if (isObject(v)) {
    const keys = isMap(v, name) ? Object.keys(v).sort() : Object.keys(v)
    return `{${keys.filter((k) => typeof v[k] !== 'function').map((k) => `${JSON.stringify(k)}:${json(v[k], k)}`).join(',')}}`
  }
  return JSON.stringify(v)
}

const FUNCS: Record<string, Fn> = {
  not: ([a]) => !truthy(a),
  len: ([a], w) => len(a, w),
  index: ([a, ...keys], w) => {
    let cur = a
    for (const k of keys) {
      if (Array.isArray(cur) || typeof cur === 'string') {
        if (typeof k !== 'number' || k < 0 || k >= cur.length) fail(`${w}: error calling index: index out of range: ${str(k)}`)
        cur = Array.isArray(cur) ? cur[k] : Buffer.from(cur)[k]
      } else if (isObject(cur)) cur = str(k) in cur ? cur[str(k)] : NO_VALUE
      else if (cur === null || cur === NO_VALUE) fail(`${w}: error calling index: index of untyped nil`)
      else fail(`${w}: error calling index: can't index item of type ${typeName(cur)}`)
    }
    return cur
  },
  slice: ([a, i, j], w) => {
    if (typeof a !== 'string' && !Array.isArray(a)) fail(`${w}: error calling slice: can't slice item of type ${typeName(a)}`)
    const from = typeof i === 'number' ? i : 0
    const to = typeof j === 'number' ? j : a.length
    if (from < 0 || to > a.length || from > to) fail(`${w}: error calling slice: index out of range`)
    return a.slice(from, to)
  },
  print: (args) => sprint(args),
  printf: ([f, ...args], w) => (typeof f === 'string' ? sprintf(f, args) : fail(`${w}: printf needs a format string`)),
  println: (args) => `${args.map((a) => goString(a)).join(' ')}\n`,
  eq: ([a, ...bs], w) => {
    if (!bs.length) fail(`${w}: error calling eq: missing argument for comparison`)
    return bs.some((b) => compare(a, b, w, 'eq') === 0)
  },
  ne: ([a, b], w) => compare(a, b, w, 'ne') !== 0,
  lt: ([a, b], w) => compare(a, b, w, 'lt') < 0,
  le: ([a, b], w) => compare(a, b, w, 'le') <= 0,
  gt: ([a, b], w) => compare(a, b, w, 'gt') > 0,
  ge: ([a, b], w) => compare(a, b, w, 'ge') >= 0,
  html: (args) => sprint(args).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;').replace(/\0/g, '\uFFFD'),
  js: (args) => sprint(args).replace(/[\\'"<>&=]/g, (c) => (c === '\\' ? '\\\\' : c === "'" ? "\\'" : c === '"' ? '\\"' : `\\u00${c.charCodeAt(0).toString(16).toUpperCase()}`)),
  urlquery: (args) => encodeURIComponent(sprint(args)).replace(/%20/g, '+'),
  // Docker's (docker/cli templates: json, join, split, title, lower, upper, pad, truncate)
  json: ([a]) => json(a),
  join: ([a, sep], w) => (Array.isArray(a) ? a.map(str).join(str(sep ?? '')) : fail(`${w}: error calling join: not a list: ${typeName(a)}`)),
  split: ([a, sep]) => str(a).split(str(sep)),
  title: ([a]) => str(a).replace(/(^|[^\p{L}\p{N}'])(\p{L})/gu, (_, p: string, c: string) => p + c.toUpperCase()),
  lower: ([a]) => str(a).toLowerCase(),
  upper: ([a]) => str(a).toUpperCase(),
  pad: ([a, before, after]) => ' '.repeat(Number(before) || 0) + str(a) + ' '.repeat(Number(after) || 0),
  truncate: ([a, n]) => [...str(a)].slice(0, Math.max(0, Number(n) || 0)).join(''),
}

function evalArg(a: Arg, s: Scope, where: string, final?: Value[]): Value {
  switch (a.t) {
    case 'lit':
      return a.v
    case 'pipe':
      return evalPipe(a.pipe, s, where)
    case 'ident':
      return call(a.name, final ?? [], where)
    case 'field': {
      const b = a.base
      const base = 'dot' in b ? s.dot : 'variable' in b ? lookupVar(s, b.variable, where) : evalArg(b.of, s, where)
      const shown = `${'dot' in b ? '' : 'variable' in b ? b.variable : '(…)'}.${a.path.join('.')}`
      const v = field(base, a.path, shown, where)
      if (typeof v === 'function') return (v as Method)(...(final ?? []))
      if (final?.length) fail(`${where}: executing at <${shown}>: ${a.path[a.path.length - 1]} is not a method but has arguments`)
      return v
    }
  }
}

function call(name: string, args: Value[], where: string): Value {
  const fn = FUNCS[name]
  if (!fn) fail(`${where}: function ${JSON.stringify(name)} not defined`)
  return fn(args, where)
}

function evalCmd(cmd: Arg[], s: Scope, where: string, piped: Value[]): Value {
  const [head, ...rest] = cmd
  if (head!.t === 'ident' && (head!.name === 'and' || head!.name === 'or')) {
    // short-circuit: the first falsy (and) or truthy (or) operand, else the last
    const operands = [...rest.map((r) => () => evalArg(r, s, where)), ...piped.map((p) => () => p)]
    if (!operands.length) fail(`${where}: wrong number of args for ${head!.name}: want at least 1 got 0`)
    let v: Value
    for (const o of operands) {
      v = o()
      if (head!.name === 'and' ? !truthy(v) : truthy(v)) return v
    }
    return v
  }
  const args = [...rest.map((r) => evalArg(r, s, where)), ...piped]
  if (head!.t === 'ident' || head!.t === 'field') return evalArg(head!, s, where, args)
  if (args.length) fail(`${where}: can't give argument to non-function ${goString(evalArg(head!, s, where))}`)
  return evalArg(head!, s, where)
}

function evalPipe(p: Pipe, s: Scope, where: string): Value {
  let v: Value
  p.cmds.forEach((cmd, i) => {
    v = evalCmd(cmd, s, where, i === 0 ? [] : [v])
  })
  if (p.decl.length === 1) {
    const name = p.decl[0]!
    if (p.assign) {
      const scope = [...s.vars].reverse().find((m) => m.has(name))
      if (!scope) fail(`${where}: undefined variable: ${name}`)
      scope.set(name, v)
    } else s.vars[s.vars.length - 1]!.set(name, v)
  }
  return v
}

function run(nodes: Node[], s: Scope, out: string[]): void {
  for (const n of nodes) {
    if (n.t === 'text') out.push(n.text)
    else if (n.t === 'action') {
      const v = evalPipe(n.pipe, s, '')
      if (!n.pipe.decl.length) out.push(goString(v))
    } else if (n.t === 'break' || n.t === 'continue') throw new Stop(n.t)
    else if (n.t === 'if' || n.t === 'with') {
      s.vars.push(new Map())
      try {
        const v = evalPipe(n.pipe, s, '')
        if (truthy(v)) run(n.then, n.t === 'with' ? { ...s, dot: v } : s, out)
        else run(n.else, s, out)
      } finally {
        s.vars.pop()
      }
    } else {
      s.vars.push(new Map())
      try {
        const decl = n.pipe.decl
        const v = evalPipe({ ...n.pipe, decl: [] }, s, '')
        const items: [Value, Value][] = Array.isArray(v)
          ? v.map((x, i) => [i, x])
          : isObject(v)
            ? Object.keys(v).sort().map((k) => [k, v[k]])
            : typeof v === 'number' && Number.isInteger(v)
              ? Array.from({ length: Math.max(0, v) }, (_, i) => [i, i])
              : v === null || v === NO_VALUE || v === undefined
                ? []
                : fail(`range can't iterate over ${goString(v)}`)
        if (!items.length) {
          run(n.else, s, out)
          continue
        }
        for (const [k, x] of items) {
          if (decl.length === 1) s.vars[s.vars.length - 1]!.set(decl[0]!, x)
          if (decl.length === 2) {
            s.vars[s.vars.length - 1]!.set(decl[0]!, k)
            s.vars[s.vars.length - 1]!.set(decl[1]!, x)
          }
          try {
            run(n.then, { ...s, dot: x }, out)
          } catch (e) {
            if (!(e instanceof Stop)) throw e
            if (e.kind === 'break') break
          }
        }
      } finally {
        s.vars.pop()
      }
    }
  }
}

/** The template's output for `data`. */
export function render(t: Template, data: Value): string {
  const out: string[] = []
  try {
    run(t.nodes, { vars: [new Map()], dot: data, root: data }, out)
  } catch (e) {
    if (e instanceof Stop) fail(`{{${e.kind}}} outside {{range}}`)
    throw e
  }
  return out.join('')
}

// .dockerignore as Docker reads it: one pattern a line, # comments, `!` exceptions, Go's
// filepath.Match wildcards (* and ? within a name, [...] classes) and ** for any number of
// directories. The last pattern that matches a path or one of its parents decides. Pure.

export interface IgnoreRule {
  pattern: string
  negate: boolean
  re: RegExp
}

function toRegExp(pattern: string): RegExp {
  let re = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!
    if (c === '*' && pattern[i + 1] === '*') {
      // "**/" any directories (none too), a final "**" anything
      if (pattern[i + 2] === '/') {
        re += '(?:.*/)?'
        i += 2
      } else {
        re += '.*'
        i += 1
      }
    } else if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1)
      if (end < 0) re += '\\['
      else {
        re += `[${pattern.slice(i + 1, end).replace(/^\^/, '^').replace(/^!/, '^').replace(/\\/g, '\\\\')}]`
        i = end
      }
    } else if (c === '\\' && i + 1 < pattern.length) re += `\\${pattern[++i]}`
    else re += c.replace(/[.+^${}()|\\]/g, '\\$&')
  }
  return new RegExp(`^${re}$`)
}

/** Clean a path or pattern as Go's filepath.Clean would (no leading /, no . or empty parts). */
export function cleanPath(p: string): string {
  const out: string[] = []
  for (const part of p.split('/')) {
    if (!part || part === '.') continue
    if (part === '..') out.pop()
    else out.push(part)
  }
  return out.join('/')
}

export function parseIgnore(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = []
  for (const raw of text.split('\n')) {
    let line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const negate = line.startsWith('!')
    if (negate) line = line.slice(1).trim()
    const pattern = cleanPath(line)
    if (!pattern) continue
    rules.push({ pattern: negate ? `!${pattern}` : pattern, negate, re: toRegExp(pattern) })
  }
  return rules
}

/** The rule that excludes `rel` (a context path), or undefined when it is in the context. */
export function excludedBy(rules: IgnoreRule[], rel: string): IgnoreRule | undefined {
  const path = cleanPath(rel)
  const parents: string[] = []
  for (let at = path.indexOf('/'); at > 0; at = path.indexOf('/', at + 1)) parents.push(path.slice(0, at))
  let decided: IgnoreRule | undefined
  for (const r of rules) {
    const hit = r.re.test(path) || (!r.negate && parents.some((p) => r.re.test(p)))
    if (hit) decided = r.negate ? undefined : r
  }
  return decided
}

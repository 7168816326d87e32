// --filter KEY=VALUE as Docker reads it: values of one key are alternatives (any may match), keys
// must all match, and `label` values must all match (each is a condition of its own). Pure.
//
//   parseFilters(['status=running', 'status=exited', 'label=a'], ['status', 'label'])
//   → Map { status → ['running', 'exited'], label → ['a'] }
import { SkiffError } from './errors.js'

export type Filters = Map<string, string[]>

/** The --filter values of a command; a key it does not know is an error that lists those it does. */
export function parseFilters(values: string[], known: string[], verb: string): Filters {
  const out: Filters = new Map()
  for (const v of values) {
    const eq = v.indexOf('=')
    const key = (eq < 0 ? v : v.slice(0, eq)).trim().toLowerCase()
    if (eq < 0 || !key) throw new SkiffError('E_USAGE', `--filter ${JSON.stringify(v)}: expected KEY=VALUE`, { hint: `e.g. --filter ${known[0]}=...; ${verb} filters on ${known.join(', ')}` })
    if (!known.includes(key)) throw new SkiffError('E_USAGE', `--filter ${JSON.stringify(v)}: ${verb} has no filter ${JSON.stringify(key)}`, { hint: `${verb} filters on ${known.join(', ')}` })
    out.set(key, [...(out.get(key) ?? []), v.slice(eq + 1)])
  }
  return out
}

/** Whether labels `labels` hold every `label` filter: KEY (present) or KEY=VALUE (that value). */
export function labelsMatch(labels: Record<string, string> | undefined, wanted: string[]): boolean {
  const l = labels ?? {}
  return wanted.every((w) => {
    const eq = w.indexOf('=')
    return eq < 0 ? w in l : l[w.slice(0, eq)] === w.slice(eq + 1)
  })
}

/** A boolean filter's value (dangling=true): true, false, or an error. */
export function filterBool(key: string, value: string): boolean {
  if (/^(true|1)$/i.test(value)) return true
  if (/^(false|0)$/i.test(value)) return false
  throw new SkiffError('E_USAGE', `--filter ${key}=${value}: expected true or false`, { hint: `e.g. --filter ${key}=true` })
}

/**
 * Whether `item` passes every filter: for each key, `test(key, value)` must hold for one of its
 * values (label: for all of them, Docker's rule).
 */
export function matchFilters(filters: Filters, test: (key: string, value: string) => boolean): boolean {
  for (const [key, values] of filters) {
    if (key === 'label' || key === 'label!') {
      if (!values.every((v) => test(key, v))) return false
    } else if (!values.some((v) => test(key, v))) return false
  }
  return true
}

/** Docker's name filter: a regular expression matched anywhere in the name (an invalid one: as text). */
export function nameMatches(name: string, pattern: string): boolean {
  try {
    return new RegExp(pattern).test(name)
  } catch {
    return name.includes(pattern)
  }
}

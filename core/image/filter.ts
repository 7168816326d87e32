// `images --filter` (and `images REPOSITORY[:TAG]`): which images pass Docker's image filters. Pure.
//
// Keys: dangling (true: images without a name), label (KEY or KEY=VALUE, all must hold), before
// and since (another image: created earlier or later), reference (a name pattern with * and ?,
// matched against REPOSITORY and REPOSITORY:TAG as Docker shows them).
import { familiarRepository, parseReference } from '../reference.js'
import { filterBool, labelsMatch, matchFilters, parseFilters, type Filters } from '../filters.js'
import type { ImageRecord } from '../storage/store.js'

export const IMAGE_FILTERS = ['dangling', 'label', 'before', 'since', 'reference']

export function imageFilters(values: string[]): Filters {
  const f = parseFilters(values, IMAGE_FILTERS, 'images')
  for (const d of f.get('dangling') ?? []) filterBool('dangling', d)
  return f
}

/** path.Match's pattern as a regular expression: * and ? stop at a slash. */
function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`)
}

/** Whether a row REPOSITORY, TAG (as `images` shows it) matches any reference pattern. */
export function rowMatches(repo: string, tag: string, patterns: string[]): boolean {
  return patterns.some((p) => glob(p).test(repo) || glob(p).test(`${repo}:${tag}`))
}

/** The names an image is listed under: "busybox", "busybox:latest", "127.0.0.1:5000/x/y:1". */
function shownNames(img: ImageRecord): string[] {
  return img.names.flatMap((n) => {
    const r = parseReference(n, true)
    const repo = familiarRepository(r)
    return r.tag ? [repo, `${repo}:${r.tag}`] : [repo]
  })
}

/** Whether `img` passes `filters`; `createdOf` gives the creation time of an image named in before/since. */
export function imageMatches(img: ImageRecord, filters: Filters, createdOf: (ref: string) => string | undefined): boolean {
  return matchFilters(filters, (key, v) => {
    switch (key) {
      case 'dangling':
        return filterBool(key, v) === (img.names.length === 0)
      case 'label':
        return labelsMatch(img.config.config?.Labels, [v])
      case 'before':
      case 'since': {
        const other = createdOf(v) ?? ''
        const mine = img.created ?? ''
        return key === 'before' ? mine < other : mine > other
      }
      case 'reference': {
        const re = glob(v)
        return shownNames(img).some((n) => re.test(n))
      }
      default:
        return false
    }
  })
}

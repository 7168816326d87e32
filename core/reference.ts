// Image references, normalized as Docker does. Pure.
//
//   busybox                 → docker.io/library/busybox:latest
//   me/app:1                → docker.io/me/app:1
//   127.0.0.1:5000/x        → 127.0.0.1:5000/x:latest
//   x@sha256:<hex>          → docker.io/library/x@sha256:<hex>
import { SkiffError } from './errors.js'

export interface Reference {
  /** registry host[:port] */
  domain: string
  /** repository path, e.g. library/busybox */
  path: string
  tag?: string
  digest?: string
}

const DIGEST = /^sha256:[0-9a-f]{64}$/
const TAG = /^[\w][\w.-]{0,127}$/
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/

/**
 * `stored`: a name from the store, written by an earlier skiff that took an uppercase first
 * component for a registry (still listed and removable, never refused).
 */
export function parseReference(text: string, stored = false): Reference {
  const bad = (why: string) =>
    new SkiffError('E_BAD_REFERENCE', `invalid image reference ${JSON.stringify(text)}: ${why}`, {
      hint: 'use NAME[:TAG] or NAME@sha256:DIGEST, e.g. busybox:latest or 127.0.0.1:5000/app:1',
    })
  let rest = text
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!DIGEST.test(digest)) throw bad('the digest must be sha256: and 64 hex digits')
  }
  let tag: string | undefined
  const colon = rest.lastIndexOf(':')
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!TAG.test(tag)) throw bad(`bad tag ${JSON.stringify(tag)}`)
  }
  if (!rest) throw bad('no name')
  const slash = rest.indexOf('/')
  let domain = 'docker.io'
  let path = rest
  const first = slash >= 0 ? rest.slice(0, slash) : ''
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost' || (stored && first !== first.toLowerCase()))) {
    domain = first
    path = rest.slice(slash + 1)
  }
  if (domain === 'index.docker.io') domain = 'docker.io'
  if (domain === 'docker.io' && !path.includes('/')) path = `library/${path}`
  // Docker's grammar takes an uppercase first component ("UPPER/app") for a registry host; no
  // registry is named so, and Docker itself then refuses the push or pull: refused here at once
  if (!stored && path !== path.toLowerCase()) throw bad('repository names must be lowercase (a registry is named with a dot or a port, e.g. registry.example:5000/app)')
  for (const c of path.split('/')) if (!COMPONENT.test(c)) throw bad(`bad name component ${JSON.stringify(c)} (lowercase letters, digits and . _ - only)`)
  if (!tag && !digest) tag = 'latest'
  return { domain, path, tag, digest }
}

/** docker.io/library/busybox:latest */
export function formatReference(r: Reference): string {
  return `${r.domain}/${r.path}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`
}

export function normalizeReference(text: string): string {
  return formatReference(parseReference(text))
}

/** The repository without the tag, shortened for display: docker.io/library/busybox → busybox. */
export function familiarRepository(r: Reference): string {
  if (r.domain !== 'docker.io') return `${r.domain}/${r.path}`
  return r.path.startsWith('library/') ? r.path.slice('library/'.length) : r.path
}

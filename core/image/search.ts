// skiff search: images by name in registries. Docker Hub answers its search API (/v1/search);
// another registry is asked the same, and when it has none (the distribution registry) its
// catalog (/v2/_catalog, page by page) is filtered by the term. Does I/O.
import { SkiffError } from '../errors.js'
import { RegistryClient, apiHost } from './registry.js'
import { registriesConf } from './registries.js'

export interface SearchResult {
  Index: string
  Name: string
  Description: string
  StarCount: number
  IsOfficial: boolean
  IsAutomated: boolean
}

export interface SearchOptions {
  limit: number
  tlsVerify: boolean
}

/** "host[:port]/rest" names its registry; anything else is searched in the unqualified-search registries (docker.io). */
export function splitTerm(term: string): { registry?: string; query: string } {
  const slash = term.indexOf('/')
  const first = slash > 0 ? term.slice(0, slash) : ''
  if (first && (first.includes('.') || first.includes(':') || first === 'localhost')) return { registry: first, query: term.slice(slash + 1) }
  return { query: term }
}

async function searchApi(client: RegistryClient, registry: string, query: string, limit: number): Promise<SearchResult[] | undefined> {
  const res = await client.send('GET', `/v1/search?q=${encodeURIComponent(query)}&n=${limit}`, { allow: [404, 405, 401] })
  if (res.status !== 200) {
    await res.arrayBuffer().catch(() => undefined)
    return undefined
  }
  const body = (await res.json()) as { results?: { name: string; description?: string; star_count?: number; is_official?: boolean; is_automated?: boolean }[] }
  return (body.results ?? []).map((r) => ({
    Index: registry,
    Name: registry === 'docker.io' ? r.name : `${registry}/${r.name}`,
    Description: r.description ?? '',
    StarCount: r.star_count ?? 0,
    IsOfficial: !!r.is_official,
    IsAutomated: !!r.is_automated,
  }))
}

async function searchCatalog(client: RegistryClient, registry: string, query: string, limit: number): Promise<SearchResult[]> {
  const found: SearchResult[] = []
  let next: string | undefined = '/v2/_catalog?n=1000'
  for (let pages = 0; next && pages < 100 && found.length < limit; pages++) {
    const res = await client.send('GET', next)
    const body = (await res.json()) as { repositories?: string[] }
    for (const repo of body.repositories ?? []) {
      if (repo.includes(query.toLowerCase())) found.push({ Index: registry, Name: `${registry}/${repo}`, Description: '', StarCount: 0, IsOfficial: false, IsAutomated: false })
    }
    // Link: </v2/_catalog?last=x&n=1000>; rel="next"
    next = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '')?.[1]
  }
  return found.slice(0, limit)
}

export async function searchImages(term: string, opts: SearchOptions): Promise<SearchResult[]> {
  const { registry, query } = splitTerm(term)
  if (!query) throw new SkiffError('E_USAGE', 'search needs a term', { hint: 'skiff search NAME, or skiff search REGISTRY/NAME' })
  const registries = registry ? [registry] : (registriesConf().unqualifiedSearch ?? ['docker.io'])
  const out: SearchResult[] = []
  const errors: string[] = []
  for (const r of registries) {
    // Docker Hub's search lives on its index, not on the registry API host
    const client = new RegistryClient(r === 'docker.io' ? 'index.docker.io' : apiHost(r), '', { tlsVerify: opts.tlsVerify })
    try {
      out.push(...((await searchApi(client, r, query, opts.limit)) ?? (await searchCatalog(client, r, query, opts.limit))))
    } catch (err) {
      errors.push(`${r}: ${(err as Error).message}`)
    }
  }
  if (!out.length && errors.length) throw new SkiffError('E_SEARCH', `cannot search ${errors.join('; ')}`, { hint: 'check the registry name and your network' })
  for (const e of errors) process.stderr.write(`skiff: warning: ${e}\n`)
  return out
}

// registries.conf (containers-registries.conf(5), version 2), as podman reads it: where a
// registry really is (`location`), its mirrors (tried in order, then the origin), registries that
// are `blocked` or `insecure`, short-name `[aliases]`, and `unqualified-search-registries` (used by
// `skiff search`; a short name still means docker.io, as with Docker, unless an alias says
// otherwise). Read only by commands that talk to registries. Does I/O where marked.
//
// Files: $CONTAINERS_REGISTRIES_CONF alone when set; else the user's
// ~/.config/containers/registries.conf in place of /etc/containers/registries.conf, then the
// drop-ins of /etc/containers/registries.conf.d/ and ~/.config/containers/registries.conf.d/ in
// name order (a later [[registry]] with the same prefix replaces an earlier one).
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { SkiffError } from '../errors.js'
import { parseReference, type Reference } from '../reference.js'
import { findImage, type ImageRecord, type Store } from '../storage/store.js'

export interface Mirror {
  location: string
  insecure: boolean
}

export interface RegistryEntry {
  prefix: string
  location: string
  insecure: boolean
  blocked: boolean
  mirrorByDigestOnly: boolean
  mirrors: Mirror[]
}

export interface RegistriesConf {
  unqualifiedSearch?: string[]
  registries: RegistryEntry[]
  aliases: Record<string, string>
}

type Value = string | boolean | number | string[]

/** A TOML value of the kinds registries.conf uses: strings, booleans, numbers, arrays of strings. */
function tomlValue(text: string, where: string): Value {
  const t = text.trim()
  if (t === 'true' || t === 'false') return t === 'true'
  if (/^-?\d+$/.test(t)) return Number(t)
  if (t.startsWith('[')) {
    const items = t.slice(1, t.lastIndexOf(']')).split(',').map((s) => s.trim()).filter(Boolean)
    return items.map((s) => tomlValue(s, where) as string)
  }
  const m = /^"((?:[^"\\]|\\.)*)"$/.exec(t) ?? /^'([^']*)'$/.exec(t)
  if (m) return t.startsWith('"') ? (JSON.parse(`"${m[1]}"`) as string) : m[1]!
  throw new SkiffError('E_REGISTRIES_CONF', `${where}: cannot read the value ${t}`, { hint: 'see containers-registries.conf(5): strings in quotes, true/false, [lists]' })
}

/** One file's text → its settings (merged into `into`). Pure. */
export function parseRegistriesConf(text: string, file: string, into: RegistriesConf = { registries: [], aliases: {} }): RegistriesConf {
  let table: 'top' | 'registry' | 'mirror' | 'aliases' | 'other' = 'top'
  let reg: Partial<RegistryEntry> & { mirrors: Mirror[] } = { mirrors: [] }
  const regs: (Partial<RegistryEntry> & { mirrors: Mirror[] })[] = []
  let mirror: Partial<Mirror> | undefined
  // a multi-line array: gathered until its ]
  let pending = ''
  const lines = text.split('\n')
  for (let n = 0; n < lines.length; n++) {
    let line = lines[n]!.replace(/(^|\s)#.*$/, '').trim()
    if (pending) {
      pending += ` ${line}`
      if (!line.includes(']')) continue
      line = pending
      pending = ''
    }
    if (!line) continue
    const where = `${file}:${n + 1}`
    if (line === '[[registry]]') {
      table = 'registry'
      reg = { mirrors: [] }
      regs.push(reg)
      continue
    }
    if (line === '[[registry.mirror]]') {
      if (table !== 'registry' && table !== 'mirror') throw new SkiffError('E_REGISTRIES_CONF', `${where}: [[registry.mirror]] outside a [[registry]]`, { hint: 'put it after the [[registry]] it belongs to' })
      table = 'mirror'
      mirror = {}
      reg.mirrors.push(mirror as Mirror)
      continue
    }
    if (line === '[aliases]') {
      table = 'aliases'
      continue
    }
    if (/^\[/.test(line)) {
      table = 'other'
      continue
    }
    const eq = line.indexOf('=')
    if (eq < 0) throw new SkiffError('E_REGISTRIES_CONF', `${where}: expected KEY = VALUE`, { hint: 'see containers-registries.conf(5)' })
    const key = line.slice(0, eq).trim().replace(/^"(.*)"$/, '$1')
    const raw = line.slice(eq + 1).trim()
    if (raw.startsWith('[') && !raw.includes(']')) {
      pending = `${key} = ${raw}`
      continue
    }
    const value = tomlValue(raw, where)
    if (table === 'top') {
      if (key === 'unqualified-search-registries') into.unqualifiedSearch = value as string[]
    } else if (table === 'aliases') {
      into.aliases[key] = String(value)
    } else if (table === 'registry') {
      if (key === 'prefix' || key === 'location') reg[key] = String(value)
      else if (key === 'insecure' || key === 'blocked') reg[key] = Boolean(value)
      else if (key === 'mirror-by-digest-only') reg.mirrorByDigestOnly = Boolean(value)
    } else if (table === 'mirror' && mirror) {
      if (key === 'location') mirror.location = String(value)
      else if (key === 'insecure') mirror.insecure = Boolean(value)
    }
  }
  for (const r of regs) {
    const prefix = r.prefix ?? r.location
    if (!prefix) throw new SkiffError('E_REGISTRIES_CONF', `${file}: a [[registry]] without prefix or location`, { hint: 'give it prefix = "host/path" (and location = "where it is")' })
    const entry: RegistryEntry = {
      prefix,
      location: r.location ?? prefix,
      insecure: r.insecure ?? false,
      blocked: r.blocked ?? false,
      mirrorByDigestOnly: r.mirrorByDigestOnly ?? false,
      mirrors: r.mirrors.filter((m) => m.location).map((m) => ({ location: m.location, insecure: m.insecure ?? false })),
    }
    into.registries = [...into.registries.filter((e) => e.prefix !== prefix), entry]
  }
  return into
}

/** The files, in the order they apply. Does I/O. */
export function registriesConfFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.CONTAINERS_REGISTRIES_CONF) return [env.CONTAINERS_REGISTRIES_CONF]
  const user = join(env.XDG_CONFIG_HOME || join(env.HOME || '/', '.config'), 'containers')
  const dropins = (dir: string) => {
    try {
      return readdirSync(dir).filter((f) => f.endsWith('.conf')).sort().map((f) => join(dir, f))
    } catch {
      return []
    }
  }
  const main = existsSync(join(user, 'registries.conf')) ? join(user, 'registries.conf') : '/etc/containers/registries.conf'
  return [main, ...dropins('/etc/containers/registries.conf.d'), ...dropins(join(user, 'registries.conf.d'))]
}

let loaded: RegistriesConf | undefined

/** All of it, read once per process. Does I/O. */
export function registriesConf(env: NodeJS.ProcessEnv = process.env): RegistriesConf {
  if (loaded) return loaded
  const conf: RegistriesConf = { registries: [], aliases: {} }
  for (const f of registriesConfFiles(env)) {
    let text: string
    try {
      text = readFileSync(f, 'utf8')
    } catch {
      continue
    }
    parseRegistriesConf(text, f, conf)
  }
  return (loaded = conf)
}

/** The [[registry]] whose prefix is the longest that matches `domain/path`. Pure. */
export function registryFor(conf: RegistriesConf, ref: Pick<Reference, 'domain' | 'path'>): RegistryEntry | undefined {
  const full = `${ref.domain}/${ref.path}`
  let best: RegistryEntry | undefined
  for (const r of conf.registries) {
    const p = r.prefix.replace(/^\*\./, '')
    const hit = r.prefix.startsWith('*.') ? ref.domain.endsWith(`.${p}`) : full === p || full.startsWith(`${p}/`) || ref.domain === p
    if (hit && (!best || r.prefix.length > best.prefix.length)) best = r
  }
  return best
}

export interface Endpoint {
  domain: string
  path: string
  tlsVerify: boolean
  mirror: boolean
}

/**
 * Where to fetch `ref` from, in order: its mirrors (not for a tag when mirror-by-digest-only),
 * then its location (the origin). A blocked registry is an error. Pure.
 */
export function endpointsFor(conf: RegistriesConf, ref: Reference, tlsVerify: boolean): Endpoint[] {
  const entry = registryFor(conf, ref)
  if (!entry) return [{ domain: ref.domain, path: ref.path, tlsVerify, mirror: false }]
  const name = `${ref.domain}/${ref.path}`
  if (entry.blocked) throw new SkiffError('E_REGISTRY_BLOCKED', `${name} is blocked by registries.conf (prefix ${entry.prefix})`, { hint: 'ask whoever manages registries.conf, or use another registry' })
  const rest = name === entry.prefix || entry.prefix.startsWith('*.') ? '' : name.slice(entry.prefix.length).replace(/^\//, '')
  const at = (location: string): { domain: string; path: string } => {
    const full = rest ? `${location.replace(/\/$/, '')}/${rest}` : location
    const slash = full.indexOf('/')
    return slash < 0 ? { domain: full, path: ref.path } : { domain: full.slice(0, slash), path: full.slice(slash + 1) }
  }
  const out: Endpoint[] = []
  if (!entry.mirrorByDigestOnly || ref.digest) {
    for (const m of entry.mirrors) out.push({ ...at(m.location), tlsVerify: tlsVerify && !m.insecure, mirror: true })
  }
  out.push({ ...(entry.prefix.startsWith('*.') ? { domain: ref.domain, path: ref.path } : at(entry.location)), tlsVerify: tlsVerify && !entry.insecure, mirror: false })
  return out
}

/** A short name's alias (`busybox` → docker.io/library/busybox), when registries.conf has one. Pure. */
export function aliasFor(conf: RegistriesConf, text: string): string | undefined {
  const at = text.search(/[:@]/)
  const name = at < 0 ? text : text.slice(0, at)
  // a name with a registry host is never short
  const first = name.split('/')[0]!
  if (name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) return undefined
  const target = conf.aliases[name]
  if (!target) return undefined
  parseReference(target)
  return at < 0 ? target : `${target}${text.slice(at)}`
}

/**
 * A local image by the name as given, else (a short name) by its registries.conf alias, as podman
 * resolves it; the first error when neither is here. Does I/O.
 */
export async function findLocalImage(store: Store, text: string): Promise<ImageRecord> {
  try {
    return await findImage(store, text)
  } catch (err) {
    if ((err as SkiffError).code !== 'E_NO_IMAGE') throw err
    const alias = aliasFor(registriesConf(), text)
    const found = alias ? await findImage(store, alias).catch(() => undefined) : undefined
    if (found) return found
    throw err
  }
}

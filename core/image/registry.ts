// A client for OCI/Docker registries (distribution API v2): anonymous, bearer token and basic
// auth, HTTPS with the system's CAs (plain HTTP for loopback and --tls-verify=false registries
// that do not speak TLS), retries with backoff. Does I/O.
import { mkdirSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { SkiffError } from '../errors.js'
import { get as httpGet, request as httpRequest, type HttpResponse } from './http.js'
import { writeFileAtomic } from '../lock.js'
import { resolvePaths } from '../paths.js'

export interface Challenge {
  scheme: string
  params: Record<string, string>
}

/**
 * WWW-Authenticate → challenge.
 *   'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:x:pull"'
 *   → { scheme: 'bearer', params: { realm: ..., service: ..., scope: ... } }
 */
export function parseChallenge(header: string): Challenge {
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header)
  const params: Record<string, string> = {}
  if (!m) return { scheme: '', params }
  const re = /(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?/g
  let p: RegExpExecArray | null
  while ((p = re.exec(m[2]!))) params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!
  return { scheme: m[1]!.toLowerCase(), params }
}

/** The host that serves a registry's API (Docker Hub's name differs from its API host). */
export function apiHost(domain: string): string {
  return domain === 'docker.io' ? 'registry-1.docker.io' : domain
}

/** Loopback registries are spoken to over plain HTTP, as Docker and Podman do. */
export function isLoopback(host: string): boolean {
  const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')
  return name === 'localhost' || name === '::1' || /^127\./.test(name)
}

/** The auth file skiff writes (skiff login), as podman does: $REGISTRY_AUTH_FILE, else
 * $XDG_RUNTIME_DIR/containers/auth.json, else ~/.config/containers/auth.json. */
export function authFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.REGISTRY_AUTH_FILE) return env.REGISTRY_AUTH_FILE
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json')
  return join(env.HOME || homedir(), '.config', 'containers', 'auth.json')
}

/** user:password for `domain` from the containers auth file, then Docker's config. */
export function findCredentials(domain: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const files = [authFile(env), join(env.HOME || homedir(), '.docker', 'config.json')]
  const keys = domain === 'docker.io' ? ['docker.io', 'index.docker.io', 'https://index.docker.io/v1/', 'registry-1.docker.io'] : [domain, `https://${domain}`]
  for (const f of files) {
    try {
      const auths = (JSON.parse(readFileSync(f, 'utf8')) as { auths?: Record<string, { auth?: string }> }).auths ?? {}
      for (const k of keys) {
        const a = auths[k]?.auth
        if (a) return Buffer.from(a, 'base64').toString('utf8')
      }
    } catch {}
  }
  return undefined
}

export interface RegistryOptions {
  /** false: plain HTTP / unverified TLS allowed for this registry (--tls-verify=false) */
  tlsVerify: boolean
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Strip user:password@ from a URL before it appears in any message. */
export function redact(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//')
}

/** A TLS handshake with something that speaks plain HTTP. */
function notTls(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException & { reason?: string }
  return e.code === 'EPROTO' || e.code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long/i.test(e.message ?? '')
}

/**
 * Registries (host[:port]) that answered in plain HTTP, so the next pull goes there directly
 * instead of trying TLS first (a TLS attempt costs ~25 ms of CPU for the CA store alone). Only
 * loopback and --tls-verify=false registries may be plain; a remembered one that answers as TLS
 * again is forgotten.
 */
function plainFile(): string {
  return join(resolvePaths().cache, 'plain-http-registries')
}

function knownPlain(host: string): boolean {
  try {
    return readFileSync(plainFile(), 'utf8').split('\n').includes(host)
  } catch {
    return false
  }
}

function rememberPlain(host: string, plain: boolean): void {
  try {
    const file = plainFile()
    let hosts: string[] = []
    try {
      hosts = readFileSync(file, 'utf8').split('\n').filter(Boolean)
    } catch {}
    const next = plain ? [...new Set([...hosts, host])] : hosts.filter((h) => h !== host)
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
    writeFileAtomic(file, next.map((h) => `${h}\n`).join(''))
  } catch {}
}

export class RegistryClient {
  /** https://host, or http://host once a loopback or --tls-verify=false registry proved plain */
  base: string
  private readonly plainAllowed: boolean
  private readonly insecure: boolean
  private token: string | undefined
  private readonly credentials: string | undefined
  private readonly host: string
  /** plain HTTP because an earlier pull found it so (not yet proven in this process) */
  private remembered = false

  constructor(readonly domain: string, readonly repository: string, opts: RegistryOptions & { credentials?: string }) {
    const host = apiHost(domain)
    // As Docker does for insecure registries (and 127.0.0.0/8 by default): HTTPS first, then
    // plain HTTP when the other end does not speak TLS.
    this.plainAllowed = isLoopback(host) || !opts.tlsVerify
    this.insecure = !opts.tlsVerify
    this.host = host
    this.remembered = this.plainAllowed && knownPlain(host)
    this.base = `${this.remembered ? 'http' : 'https'}://${host}`
    this.credentials = opts.credentials ?? findCredentials(domain)
  }

  private forgetPlain(): void {
    this.remembered = false
    this.base = `https://${this.host}`
    rememberPlain(this.host, false)
  }

  /** GET /v2/ with these credentials: resolves when the registry accepts them (skiff login). */
  async ping(): Promise<void> {
    const res = await this.get('')
    await res.arrayBuffer().catch(() => undefined)
  }

  /** GET /v2/<repository>/<path>, authenticating as the registry asks, retrying passing failures. */
  get(path: string, accept: string[] = [], extra: Record<string, string> = {}): Promise<HttpResponse> {
    return this.send('GET', path, { accept, headers: extra })
  }

  /**
   * `method` on /v2/<repository>/<path> (or on an absolute URL the registry gave, e.g. an upload's
   * Location), authenticating as the registry asks and retrying passing failures; `body` is made
   * again for each try. A status in `allow` is returned, not thrown (HEAD of a missing blob: 404).
   */
  async send(method: string, path: string, o: { accept?: string[]; headers?: Record<string, string>; body?: () => Buffer | NodeJS.ReadableStream; allow?: number[] } = {}): Promise<HttpResponse> {
    for (let attempt = 0; ; attempt++) {
      // an absolute URL the registry gave; a path from the host's root (/v2/_catalog, /v1/search); one in the repository
      const url = /^https?:\/\//.test(path) ? path : path.startsWith('/') ? `${this.base}${path}` : this.repository ? `${this.base}/v2/${this.repository}/${path}` : `${this.base}/v2/`
      let res: HttpResponse
      try {
        res = await httpRequest(method, url, { headers: { ...this.headers(o.accept ?? []), ...o.headers }, insecure: this.insecure, body: o.body?.() })
      } catch (err) {
        if (this.plainAllowed && this.base.startsWith('https:') && (notTls(err) || (err as NodeJS.ErrnoException).code === 'ECONNRESET')) {
          this.base = this.base.replace(/^https:/, 'http:')
          rememberPlain(this.host, true)
          attempt--
          continue
        }
        if (this.remembered && (err as NodeJS.ErrnoException).code !== 'ECONNREFUSED') {
          this.forgetPlain()
          attempt--
          continue
        }
        if ((err as NodeJS.ErrnoException).code?.startsWith?.('ERR_TLS') || /certificate/i.test((err as Error).message)) {
          throw new SkiffError('E_TLS', `TLS with ${this.domain} failed: ${(err as Error).message}`, {
            hint: 'add its CA to the system store (or point SSL_CERT_FILE at a bundle with it), or use --tls-verify=false for a registry you trust',
          })
        }
        if (attempt < 3) {
          await sleep(200 * 2 ** attempt)
          continue
        }
        throw new SkiffError('E_REGISTRY_UNREACHABLE', `cannot reach ${redact(this.base)}: ${(err as Error).message}`, {
          hint: isLoopback(this.domain) ? 'is the registry running on that port?' : 'check the name and your network (or proxy); for a registry without TLS use --tls-verify=false',
        })
      }
      // a TLS server answers plain HTTP with 400 ("Client sent an HTTP request to an HTTPS server")
      if (res.status === 400 && this.remembered) {
        await res.arrayBuffer().catch(() => undefined)
        this.forgetPlain()
        attempt--
        continue
      }
      this.remembered = false
      if (res.status === 401 && attempt === 0) {
        await res.arrayBuffer().catch(() => undefined)
        await this.authenticate(res.headers.get('www-authenticate') ?? '')
        continue
      }
      if ((res.status === 429 || res.status >= 500) && attempt < 3) {
        await res.arrayBuffer().catch(() => undefined)
        await sleep(Number(res.headers.get('retry-after')) * 1000 || 300 * 2 ** attempt)
        continue
      }
      if ((res.status < 200 || res.status >= 300) && !o.allow?.includes(res.status)) {
        const body = await res.text().catch(() => '')
        throw httpError(res.status, `${this.domain}/${this.repository}`, `${method} ${path.replace(/^https?:\/\/[^/]+/, '').replace(/\?.*/, '')}`, body)
      }
      return res
    }
  }

  private headers(accept: string[]): Record<string, string> {
    const h: Record<string, string> = { 'user-agent': 'skiff' }
    if (accept.length) h.accept = accept.join(', ')
    if (this.token) h.authorization = this.token
    return h
  }

  private async authenticate(header: string): Promise<void> {
    const c = parseChallenge(header)
    if (c.scheme === 'basic') {
      if (!this.credentials) throw needLogin(this.domain)
      this.token = `Basic ${Buffer.from(this.credentials).toString('base64')}`
      return
    }
    if (c.scheme !== 'bearer' || !c.params.realm) {
      throw new SkiffError('E_REGISTRY_AUTH', `${this.domain} asks for an authentication skiff does not know: ${header || '(no WWW-Authenticate header)'}`, { hint: 'report this registry to the skiff developers' })
    }
    const realm = new URL(c.params.realm)
    if (c.params.service) realm.searchParams.set('service', c.params.service)
    const scope = c.params.scope ?? (this.repository ? `repository:${this.repository}:pull` : undefined)
    if (scope) realm.searchParams.set('scope', scope)
    const headers: Record<string, string> = { 'user-agent': 'skiff' }
    if (this.credentials) headers.authorization = `Basic ${Buffer.from(this.credentials).toString('base64')}`
    let res: HttpResponse
    try {
      res = await httpGet(realm.toString(), { headers, insecure: this.insecure })
    } catch (err) {
      throw new SkiffError('E_REGISTRY_AUTH', `cannot reach the token service ${realm.origin}: ${(err as Error).message}`, { hint: 'check your network' })
    }
    if (res.status === 401 || res.status === 403) throw needLogin(this.domain)
    if (res.status < 200 || res.status >= 300) throw new SkiffError('E_REGISTRY_AUTH', `the token service ${realm.origin} answered ${res.status}`, { hint: 'try again later' })
    const body = (await res.json()) as { token?: string; access_token?: string }
    const token = body.token ?? body.access_token
    if (!token) throw new SkiffError('E_REGISTRY_AUTH', `the token service ${realm.origin} gave no token`, { hint: 'report this registry to the skiff developers' })
    this.token = `Bearer ${token}`
  }
}

function needLogin(domain: string): SkiffError {
  return new SkiffError('E_REGISTRY_AUTH', `${domain} refused access: authentication required or credentials wrong`, {
    hint: `log in with \`podman login ${domain}\` or \`docker login ${domain}\` (skiff reads their auth files), or check the image name`,
  })
}

function httpError(status: number, repo: string, path: string, body: string): SkiffError {
  const code = /"code"\s*:\s*"([A-Z_]+)"/.exec(body)?.[1]
  if (status === 404 || code === 'MANIFEST_UNKNOWN' || code === 'NAME_UNKNOWN') {
    const what = path.replace(/^GET /, '')
    return new SkiffError('E_NOT_FOUND', `${repo}: ${what.startsWith('manifests/') ? `no image tagged ${what.slice(10)}` : `${what} not found`} (${status}${code ? ` ${code}` : ''})`, {
      hint: 'check the image name and tag',
    })
  }
  if (status === 401 || status === 403) return needLogin(repo.split('/')[0]!)
  if (code === 'DENIED' || code === 'UNAUTHORIZED') return needLogin(repo.split('/')[0]!)
  return new SkiffError('E_REGISTRY', `${repo}: ${path} failed with ${status}${code ? ` ${code}` : ''}${body && !code ? `: ${body.slice(0, 200).trim()}` : ''}`, { hint: 'the registry is failing; try again later' })
}

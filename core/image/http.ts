// A small HTTP(S) client for registries, on node:http/https: the system's CA store, optional
// unverified TLS (--tls-verify=false), redirects that drop credentials across hosts. Does I/O.
//
// Node 20's fetch trusts only Node's bundled CAs and cannot be given others after start-up; a
// private registry signed by a company CA (in /etc/ssl/certs) would fail there.
//
// node:https and node:tls are loaded at the first HTTPS request (~3 ms here): a registry on the
// loopback, which skiff speaks to over HTTP, needs neither.
import { readFileSync } from 'node:fs'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import type * as Https from 'node:https'
import type * as Tls from 'node:tls'

const tls = () => require('node:tls') as typeof Tls

export interface HttpResponse {
  status: number
  url: string
  headers: { get(name: string): string | null }
  body: IncomingMessage
  text(): Promise<string>
  arrayBuffer(): Promise<ArrayBuffer>
  json(): Promise<unknown>
}

export interface HttpOptions {
  headers?: Record<string, string>
  /** accept any certificate (--tls-verify=false) */
  insecure?: boolean
}

/**
 * The CAs TLS trusts: the system's ($SSL_CERT_FILE, else the Debian/Fedora/Alpine bundle), as
 * curl and podman do (it holds a company CA an admin added); Node's own only where there is none.
 */
export function trustedCAs(env: NodeJS.ProcessEnv = process.env): string[] {
  for (const f of [env.SSL_CERT_FILE, '/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem']) {
    if (!f) continue
    try {
      const pem = readFileSync(f, 'utf8')
      if (pem.includes('BEGIN CERTIFICATE')) return [pem]
    } catch {}
  }
  return [...tls().rootCertificates]
}

let context: Tls.SecureContext | undefined

/**
 * One TLS context per process: making one parses every CA (20-60 ms of CPU here), which a
 * context per connection would pay for every blob of a pull.
 */
function secureContext(): Tls.SecureContext {
  return (context ??= tls().createSecureContext({ ca: trustedCAs() }))
}

async function collect(body: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of body) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

/** GET `url`, following up to 5 redirects; the Authorization header never leaves its host. */
export function get(url: string, opts: HttpOptions = {}, redirects = 0): Promise<HttpResponse> {
  return request('GET', url, opts, redirects)
}

/**
 * `method` on `url` with an optional body (a Buffer, or a stream made for each try). GET and HEAD
 * follow up to 5 redirects; the Authorization header never leaves its host.
 */
export function request(method: string, url: string, opts: HttpOptions & { body?: Buffer | NodeJS.ReadableStream } = {}, redirects = 0): Promise<HttpResponse> {
  const u = new URL(url)
  const isHttps = u.protocol === 'https:'
  const send = isHttps ? (require('node:https') as typeof Https).request : httpRequest
  return new Promise((resolve, reject) => {
    const req = send(
      u,
      {
        method,
        headers: opts.headers,
        ...(isHttps ? { secureContext: secureContext(), rejectUnauthorized: !opts.insecure } : {}),
      },
      (res) => {
        const status = res.statusCode ?? 0
        const location = res.headers.location
        if (status >= 300 && status < 400 && location && redirects < 5 && (method === 'GET' || method === 'HEAD')) {
          res.resume()
          const next = new URL(location, u)
          const headers = { ...opts.headers }
          if (next.host !== u.host) delete headers.authorization
          return resolve(request(method, next.toString(), { ...opts, headers }, redirects + 1))
        }
        resolve({
          status,
          url,
          headers: { get: (name) => {
            const v = res.headers[name.toLowerCase()]
            return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v
          } },
          body: res,
          text: async () => (await collect(res)).toString('utf8'),
          arrayBuffer: async () => {
            const b = await collect(res)
            return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer
          },
          json: async () => JSON.parse((await collect(res)).toString('utf8')),
        })
      },
    )
    req.on('error', reject)
    if (opts.body && !Buffer.isBuffer(opts.body)) {
      opts.body.on('error', (err: Error) => req.destroy(err))
      opts.body.pipe(req)
    } else req.end(opts.body)
  })
}

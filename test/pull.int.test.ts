// skiff pull against a real registry: Debian's docker-registry on 127.0.0.1, images pushed with
// skopeo, and a proxy of ours in front of it for bearer-token auth and corrupted blobs.
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { buildImageInfo, defaultLayers } from './fixtures/image.js'
import { need, probe, tempDir, useSandbox } from './helpers/env.js'
import { freePort, startRegistry as startRealRegistry, type Registry } from './helpers/registry.js'

const pull = suite('pull')
const sb = useSandbox(pull)

let registry: Registry | undefined
let port = 0
let pushed: ReturnType<typeof buildImageInfo> | undefined

function ready(what: string): boolean {
  return need(what, probe.skiff(), probe.rootless(), probe.busybox(), probe.command('docker-registry'), probe.command('skopeo'))
}

/** The registry, started once for the file, with the busybox fixture pushed as x/busybox:1. */
async function startRegistry(): Promise<void> {
  if (registry) return
  registry = await startRealRegistry()
  port = registry.port
  pushed = buildImageInfo({ format: 'oci-dir', out: join(registry.dir, 'image') })
  const push = spawnSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${pushed.path}`, `docker://127.0.0.1:${port}/x/busybox:1`], { encoding: 'utf8' })
  assert.is(push.status, 0, push.stderr)
}

pull.after(() => {
  registry?.stop()
})

/**
 * A proxy in front of the registry. `auth`: demand a bearer token from our own token service,
 * as Docker Hub does. `corrupt`: flip one byte of every blob it serves.
 */
async function proxy(mode: { auth?: boolean; corrupt?: boolean; cutFirstBlob?: boolean; stallFirstBlob?: boolean; fail500?: number }): Promise<{ port: number; server: Server; tokensIssued: () => number; ranges: () => string[] }> {
  let issued = 0
  let cut = false
  let failures = 0
  const ranges: string[] = []
  const server = createServer((req, res) => {
    const self = (server.address() as AddressInfo).port
    if (req.url?.startsWith('/token')) {
      const u = new URL(req.url, 'http://x')
      issued++
      res.setHeader('content-type', 'application/json')
      return res.end(JSON.stringify({ token: `t0k3n-${u.searchParams.get('scope')}` }))
    }
    if (mode.auth && req.headers.authorization !== 'Bearer t0k3n-repository:x/busybox:pull') {
      res.statusCode = 401
      res.setHeader('www-authenticate', `Bearer realm="http://127.0.0.1:${self}/token",service="test",scope="repository:x/busybox:pull"`)
      return res.end('{"errors":[{"code":"UNAUTHORIZED"}]}')
    }
    if (mode.fail500 !== undefined && failures < mode.fail500) {
      failures++
      res.statusCode = 500
      return res.end('{"errors":[{"code":"UNKNOWN"}]}')
    }
    if (req.headers.range) ranges.push(req.headers.range)
    const headers: Record<string, string> = { accept: req.headers.accept ?? '*/*' }
    if (req.headers.range) headers.range = req.headers.range
    const up = request({ host: '127.0.0.1', port, path: req.url, method: req.method, headers }, (upRes) => {
      const chunks: Buffer[] = []
      upRes.on('data', (c: Buffer) => chunks.push(c))
      upRes.on('end', () => {
        const body = Buffer.concat(chunks)
        if (mode.corrupt && req.url?.includes('/blobs/') && body.length > 100) body[body.length - 50]! ^= 0xff
        res.writeHead(upRes.statusCode ?? 502, {
          'content-type': upRes.headers['content-type'] ?? 'application/octet-stream',
          'content-length': body.length,
          ...(upRes.headers['content-range'] ? { 'content-range': upRes.headers['content-range'] } : {}),
          ...(upRes.headers['docker-content-digest'] ? { 'docker-content-digest': upRes.headers['docker-content-digest'] } : {}),
        })
        if (mode.stallFirstBlob && !cut && req.url?.includes('/blobs/') && !req.headers.range && body.length > 100_000) {
          // half the bytes, then nothing: the pull hangs there until it is killed
          cut = true
          res.write(body.subarray(0, body.length >> 1))
          return
        }
        if (mode.cutFirstBlob && !cut && req.url?.includes('/blobs/') && !req.headers.range && body.length > 100_000) {
          // half the bytes, then a reset: the client must resume with a Range request
          cut = true
          res.write(body.subarray(0, body.length >> 1), () => res.destroy())
          return
        }
        res.end(body)
      })
    })
    up.on('error', () => res.destroy())
    up.end()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { port: (server.address() as AddressInfo).port, server, tokensIssued: () => issued, ranges: () => ranges }
}

pull('pull, run, images; a second pull downloads nothing', async () => {
  if (!ready('pull')) return
  await startRegistry()
  const name = `127.0.0.1:${port}/x/busybox:1`
  // empty locks, as a pull killed between create and write used to leave (issue 19): no wait
  mkdirSync(join(sb.root, 'tmp'), { recursive: true })
  writeFileSync(join(sb.root, 'lock'), '')
  for (const d of pushed!.layerDigests) writeFileSync(join(sb.root, 'tmp', `partial-${d.slice('sha256:'.length)}.lock`), '')
  const r = await sb.start(['pull', name], { timeout: 30_000 }).done
  assert.is(r.status, 0, r.describe())
  assert.match(r.stdout, new RegExp(`Pulled ${name.replace(/[.]/g, '\\.')}\\n${pushed!.configDigest}\\n`))
  // the second layer's opaque directory and whiteout hide what the first had
  const run = sb.run(['run', '--rm', name, 'sh', '-c', 'ls /opt/old; ls /etc/removed-later 2>&1 | grep -c "No such"'])
  assert.is(run.stdout, 'new\n1\n', run.describe())
  assert.match(sb.run(['images']).stdout, new RegExp(`127\\.0\\.0\\.1:${port}/x/busybox\\s+1\\s`))
  const again = await sb.start(['pull', name]).done
  assert.is(again.status, 0)
  assert.match(again.stderr, /Already exists/)
  assert.not.match(again.stderr, /Download complete/)
  // a loopback registry that answered in plain HTTP is remembered (no TLS attempt next time)
  assert.ok(readFileSync(join(sb.cache, 'skiff', 'plain-http-registries'), 'utf8').split('\n').includes(`127.0.0.1:${port}`))
})

pull('run pulls a missing image (--pull=missing), never with --pull=never', async () => {
  if (!ready('run --pull')) return
  await startRegistry()
  const name = `127.0.0.1:${port}/x/busybox:1`
  const never = sb.run(['run', '--rm', '--pull=never', name, 'true'])
  assert.is(never.status, 125)
  assert.match(never.stderr, /^Error: No such image: /)
  const r = await sb.start(['run', '--rm', name, 'echo', 'auto']).done
  assert.is(r.stdout, 'auto\n', r.describe())
})

pull('bearer-token auth, as Docker Hub does it', async () => {
  if (!ready('token auth')) return
  await startRegistry()
  const p = await proxy({ auth: true })
  try {
    const r = await sb.start(['pull', `127.0.0.1:${p.port}/x/busybox:1`]).done
    assert.is(r.status, 0, r.describe())
    assert.ok(p.tokensIssued() >= 1)
  } finally {
    p.server.close()
  }
})

pull('a corrupted blob is refused, naming it, and nothing half-written stays', async () => {
  if (!ready('corrupt pull')) return
  await startRegistry()
  const p = await proxy({ corrupt: true })
  try {
    const r = await sb.start(['pull', `127.0.0.1:${p.port}/x/busybox:1`]).done
    assert.is(r.status, 125, r.describe())
    assert.match(r.stderr, /sha256:[0-9a-f]{64} does not match its digest/)
    assert.equal(readdirSync(join(sb.root, 'images')), [])
    assert.equal(readdirSync(join(sb.root, 'tmp')), [])
  } finally {
    p.server.close()
  }
})

pull('basic auth (htpasswd): refused without login, login and logout', async () => {
  if (!ready('basic auth')) return
  await startRegistry()
  const dir = tempDir('skiff-registry-auth-')
  const hash = spawnSync('python3', ['-c', 'import crypt; print(crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH)))'], { encoding: 'utf8' }).stdout.trim()
  writeFileSync(join(dir, 'htpasswd'), `alice:${hash}\n`)
  const authPort = await freePort()
  const config = join(dir, 'config.yml')
  writeFileSync(config, `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: 127.0.0.1:${authPort}\nauth:\n  htpasswd:\n    realm: test\n    path: ${dir}/htpasswd\n`)
  const reg = spawn('docker-registry', ['serve', config], { stdio: 'ignore' })
  try {
    await new Promise((r) => setTimeout(r, 500))
    const push = spawnSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', 'alice:s3cret', `oci:${pushed!.path}`, `docker://127.0.0.1:${authPort}/x/busybox:1`], { encoding: 'utf8' })
    assert.is(push.status, 0, push.stderr)
    const name = `127.0.0.1:${authPort}/x/busybox:1`
    const env = { REGISTRY_AUTH_FILE: join(sb.home, 'auth.json') }
    const refused = await sb.start(['pull', name], { env }).done
    assert.is(refused.status, 125)
    assert.match(refused.stderr, /authentication required/)
    assert.match(refused.stderr, /login/)
    const wrong = sb.run(['login', '-u', 'alice', '--password-stdin', `127.0.0.1:${authPort}`], { env, input: 'nope\n' })
    assert.is(wrong.status, 125, wrong.describe())
    assert.not.match(wrong.stdout + wrong.stderr, /nope/)
    const ok = sb.run(['login', '-u', 'alice', '--password-stdin', `127.0.0.1:${authPort}`], { env, input: 's3cret\n' })
    assert.is(ok.status, 0, ok.describe())
    assert.not.match(ok.stdout + ok.stderr, /s3cret/)
    // the credentials: in a file only its owner reads, and never in output, traces or inspect
    assert.is(statSync(env.REGISTRY_AUTH_FILE).mode & 0o777, 0o600)
    const secret = /s3cret|YWxpY2U6czNjcmV0/
    const pulled = await sb.start(['pull', name], { env: { ...env, SKIFF_TRACE: '1' } }).done
    assert.is(pulled.status, 0, pulled.describe())
    assert.not.match(pulled.stdout + pulled.stderr, secret)
    assert.not.match(sb.run(['image', 'inspect', name], { env }).stdout, secret)
    assert.is(sb.run(['logout', `127.0.0.1:${authPort}`], { env }).status, 0)
    const after = await sb.start(['pull', name], { env }).done
    assert.is(after.status, 125)
  } finally {
    reg.kill()
  }
})

pull('a download cut off midway resumes with a Range request', async () => {
  if (!ready('resume')) return
  await startRegistry()
  const p = await proxy({ cutFirstBlob: true })
  try {
    const r = await sb.start(['pull', `127.0.0.1:${p.port}/x/busybox:1`]).done
    assert.is(r.status, 0, r.describe())
    assert.ok(p.ranges().some((h) => /^bytes=\d+-$/.test(h)), `ranges asked: ${p.ranges().join(', ')}`)
    assert.equal(readdirSync(join(sb.root, 'tmp')).filter((f) => !f.endsWith('.lock')), [])
    assert.is(sb.run(['run', '--rm', `127.0.0.1:${p.port}/x/busybox:1`, 'true']).status, 0)
  } finally {
    p.server.close()
  }
})

pull('500 answers are retried; a registry that keeps failing is a clear error', async () => {
  if (!ready('500')) return
  await startRegistry()
  const flaky = await proxy({ fail500: 2 })
  const broken = await proxy({ fail500: 1000 })
  try {
    const ok = await sb.start(['pull', '-q', `127.0.0.1:${flaky.port}/x/busybox:1`]).done
    assert.is(ok.status, 0, ok.describe())
    const bad = await sb.start(['pull', `127.0.0.1:${broken.port}/x/busybox:1`]).done
    assert.is(bad.status, 125)
    assert.match(bad.stderr, /failed with 500 UNKNOWN/)
    assert.match(bad.stderr, /hint: /)
  } finally {
    flaky.server.close()
    broken.server.close()
  }
})

pull('a multi-platform index: the host\'s image by default, another with --platform', async () => {
  if (!ready('multi-arch')) return
  await startRegistry()
  const dir = tempDir('skiff-multiarch-')
  const amd = buildImageInfo({ format: 'oci-dir', out: join(dir, 'amd64'), architecture: 'amd64' })
  const arm = buildImageInfo({ format: 'oci-dir', out: join(dir, 'arm64'), architecture: 'arm64' })
  const layout = join(dir, 'index')
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true })
  for (const src of [amd.path, arm.path]) {
    for (const f of readdirSync(join(src, 'blobs', 'sha256'))) copyFileSync(join(src, 'blobs', 'sha256', f), join(layout, 'blobs', 'sha256', f))
  }
  const desc = (info: typeof amd, architecture: string) => {
    const bytes = readFileSync(join(info.path, 'blobs', 'sha256', info.manifestDigest.slice(7)))
    return { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: info.manifestDigest, size: bytes.length, platform: { os: 'linux', architecture } }
  }
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [desc(arm, 'arm64'), desc(amd, 'amd64')] }))
  const indexDigest = createHash('sha256').update(index).digest('hex')
  writeFileSync(join(layout, 'blobs', 'sha256', indexDigest), index)
  writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
  writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: `sha256:${indexDigest}`, size: index.length, annotations: { 'org.opencontainers.image.ref.name': 'multi' } }] }))
  const push = spawnSync('skopeo', ['copy', '--quiet', '--all', '--dest-tls-verify=false', `oci:${layout}:multi`, `docker://127.0.0.1:${port}/x/multi:1`], { encoding: 'utf8' })
  assert.is(push.status, 0, push.stderr)
  const host = await sb.start(['pull', '-q', `127.0.0.1:${port}/x/multi:1`]).done
  assert.is(host.stdout.trim(), amd.configDigest, host.describe())
  const other = await sb.start(['pull', '-q', '--platform', 'linux/arm64', `127.0.0.1:${port}/x/multi:1`]).done
  assert.is(other.stdout.trim(), arm.configDigest, other.describe())
  const none = await sb.start(['pull', '--platform', 'linux/s390x', `127.0.0.1:${port}/x/multi:1`]).done
  assert.match(none.stderr, /no image for linux\/s390x \(it has: linux\/arm64, linux\/amd64\)/)
})

pull('a hostile layer from a registry (symlink escape, ../ path) is refused and leaves nothing', async () => {
  if (!ready('hostile pull')) return
  await startRegistry()
  const victim = tempDir('skiff-victim-')
  for (const [tag, evil] of [
    ['escape', [{ type: 'symlink' as const, path: 'escape', target: victim }, { type: 'file' as const, path: 'escape/pwned', content: 'x' }]],
    ['climb', [{ type: 'file' as const, path: '../../../pwned-by-climb', raw: true, content: 'x' }]],
  ] as const) {
    const info = buildImageInfo({ format: 'oci-dir', out: join(tempDir(), tag), layers: [...defaultLayers(), [...evil]] })
    const push = spawnSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${info.path}`, `docker://127.0.0.1:${port}/x/evil:${tag}`], { encoding: 'utf8' })
    assert.is(push.status, 0, push.stderr)
    const r = await sb.start(['pull', `127.0.0.1:${port}/x/evil:${tag}`]).done
    assert.is(r.status, 125, r.describe())
    assert.match(r.stderr, tag === 'escape' ? /symlink escape/ : /"\.\." component/)
  }
  assert.not.ok(existsSync(join(victim, 'pwned')))
  assert.equal(readdirSync(join(sb.root, 'images')), [])
  assert.equal(readdirSync(join(sb.root, 'tmp')).filter((f) => !f.endsWith('.lock')), [])
  // the good layers of those images were stored; the hostile ones were not
  assert.is(readdirSync(join(sb.root, 'layers')).length, 2)
})

pull('a zstd-compressed layer', async () => {
  if (!need('zstd pull', probe.skiff(), probe.rootless(), probe.busybox(), probe.command('docker-registry'), probe.command('skopeo'), probe.command('zstd'))) return
  await startRegistry()
  const info = buildImageInfo({ format: 'oci-dir', out: join(tempDir(), 'zstd'), compression: 'none', layers: [...defaultLayers(), [{ type: 'file', path: '/zstd-was-here', content: 'zstd layer\n' }]] })
  // recompress the top layer with zstd, and say so in the manifest
  const blobs = join(info.path, 'blobs', 'sha256')
  const index = JSON.parse(readFileSync(join(info.path, 'index.json'), 'utf8'))
  const manifestHex = index.manifests[0].digest.slice(7)
  const manifest = JSON.parse(readFileSync(join(blobs, manifestHex), 'utf8'))
  const top = manifest.layers[manifest.layers.length - 1]
  const zst = spawnSync('zstd', ['-q', '-c', join(blobs, top.digest.slice(7))])
  assert.is(zst.status, 0)
  const zhex = createHash('sha256').update(zst.stdout).digest('hex')
  writeFileSync(join(blobs, zhex), zst.stdout)
  manifest.layers[manifest.layers.length - 1] = { mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', digest: `sha256:${zhex}`, size: zst.stdout.length }
  const mbytes = Buffer.from(JSON.stringify(manifest))
  const mhex = createHash('sha256').update(mbytes).digest('hex')
  writeFileSync(join(blobs, mhex), mbytes)
  index.manifests[0] = { ...index.manifests[0], digest: `sha256:${mhex}`, size: mbytes.length }
  writeFileSync(join(info.path, 'index.json'), JSON.stringify(index))
  const ref = index.manifests[0].annotations?.['org.opencontainers.image.ref.name'] ?? 'busybox:latest'
  const push = spawnSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${info.path}:${ref}`, `docker://127.0.0.1:${port}/x/zstd:1`], { encoding: 'utf8' })
  assert.is(push.status, 0, push.stderr)
  const r = await sb.start(['pull', '-q', `127.0.0.1:${port}/x/zstd:1`]).done
  assert.is(r.status, 0, r.describe())
  assert.is(sb.run(['run', '--rm', `127.0.0.1:${port}/x/zstd:1`, 'cat', '/zstd-was-here']).stdout, 'zstd layer\n')
})

pull('kill -9 during a pull: the store stays consistent and the next pull resumes', async () => {
  if (!ready('interrupted pull')) return
  await startRegistry()
  const p = await proxy({ stallFirstBlob: true })
  try {
    const name = `127.0.0.1:${p.port}/x/busybox:1`
    const { child, done } = sb.start(['pull', name])
    const partial = () => {
      try {
        return readdirSync(join(sb.root, 'tmp')).some((f) => f.startsWith('partial-') && !f.endsWith('.lock'))
      } catch {
        return false
      }
    }
    for (let i = 0; i < 300 && !partial(); i++) await new Promise((r) => setTimeout(r, 20))
    await new Promise((r) => setTimeout(r, 200))
    child.kill('SIGKILL')
    await done
    assert.equal(readdirSync(join(sb.root, 'images')), [])
    const again = await sb.start(['pull', name]).done
    assert.is(again.status, 0, again.describe())
    assert.ok(p.ranges().length > 0, 'resumed with a Range request')
    assert.is(sb.run(['run', '--rm', name, 'true']).status, 0)
    assert.equal(readdirSync(join(sb.root, 'tmp')).filter((f) => !f.endsWith('.lock')), [])
  } finally {
    p.server.close()
  }
})

pull('HTTPS: a CA from SSL_CERT_FILE is trusted; an unknown one is refused unless --tls-verify=false', async () => {
  if (!need('tls registry', probe.skiff(), probe.rootless(), probe.busybox(), probe.command('docker-registry'), probe.command('skopeo'), probe.command('openssl'))) return
  await startRegistry()
  const dir = tempDir('skiff-tls-')
  const ssl = (args: string[]) => assert.is(spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' }).status, 0, `openssl ${args.join(' ')}`)
  ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=skiff test CA'])
  ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=127.0.0.1'])
  writeFileSync(join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1\n')
  ssl(['x509', '-req', '-in', 'srv.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv.pem', '-days', '2', '-extfile', 'ext'])
  const tlsPort = await freePort()
  writeFileSync(join(dir, 'config.yml'), `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: 127.0.0.1:${tlsPort}\n  tls:\n    certificate: ${dir}/srv.pem\n    key: ${dir}/srv.key\n`)
  const reg = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' })
  try {
    await new Promise((r) => setTimeout(r, 500))
    const push = spawnSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${pushed!.path}`, `docker://127.0.0.1:${tlsPort}/x/busybox:1`], { encoding: 'utf8' })
    assert.is(push.status, 0, push.stderr)
    const name = `127.0.0.1:${tlsPort}/x/busybox:1`
    const refused = await sb.start(['pull', name], { env: { SSL_CERT_FILE: '/nonexistent' } }).done
    assert.is(refused.status, 125, refused.describe())
    assert.match(refused.stderr, /TLS with 127\.0\.0\.1:\d+ failed/)
    assert.match(refused.stderr, /SSL_CERT_FILE|--tls-verify=false/)
    // remembered as plain HTTP (say it once was): the TLS server's 400 makes skiff forget it
    mkdirSync(join(sb.cache, 'skiff'), { recursive: true })
    writeFileSync(join(sb.cache, 'skiff', 'plain-http-registries'), `127.0.0.1:${tlsPort}\n`)
    const trusted = await sb.start(['pull', '-q', name], { env: { SSL_CERT_FILE: join(dir, 'ca.pem') } }).done
    assert.is(trusted.status, 0, trusted.describe())
    assert.not.match(readFileSync(join(sb.cache, 'skiff', 'plain-http-registries'), 'utf8'), `127.0.0.1:${tlsPort}`)
    assert.is(sb.run(['rmi', name]).status, 0)
    const insecure = await sb.start(['pull', '-q', '--tls-verify=false', name], { env: { SSL_CERT_FILE: '/nonexistent' } }).done
    assert.is(insecure.status, 0, insecure.describe())
  } finally {
    reg.kill()
  }
})

pull('unknown tags and unreachable registries are clear errors', async () => {
  if (!ready('pull errors')) return
  await startRegistry()
  const r = await sb.start(['pull', `127.0.0.1:${port}/x/busybox:nope`]).done
  assert.is(r.status, 125)
  assert.match(r.stderr, /no image tagged nope \(404/)
  const gone = await sb.start(['pull', `127.0.0.1:${await freePort()}/x/busybox:1`]).done
  assert.match(gone.stderr, /cannot reach https?:\/\/127\.0\.0\.1:\d+/)
  assert.match(gone.stderr, /hint: is the registry running/)
})

pull.run()

// skiff push (issue 22) to a real registry (Debian's docker-registry on 127.0.0.1), as the
// unprivileged user: a built image pushed in Docker schema 2 and in OCI form with zstd layers,
// read back by skopeo (which checks every digest) and by skiff pull; blobs the registry has are
// not sent again, blobs of another repository are mounted, a big layer goes in chunks.
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { busyboxArchive, need, probe, useSandbox } from './helpers/env.js'
import { startRegistry, type Registry } from './helpers/registry.js'

const t = suite('push')
const sb = useSandbox(t)
let registry: Registry | undefined
let mirror: Registry | undefined

t.after(() => {
  registry?.stop()
  mirror?.stop()
})

const skopeo = (...args: string[]) => spawnSync('skopeo', args, { encoding: 'utf8', timeout: 120_000 })

t('push: v2s2 and OCI+zstd, read back by skopeo and skiff; existing blobs skipped, mounts across repositories, chunks', async () => {
  if (!need('push', probe.skiff(), probe.rootless(), probe.busybox(), probe.command('docker-registry'), probe.command('skopeo'), probe.command('zstd'))) return
  registry = await startRegistry()
  const reg = registry.host
  assert.is(sb.run(['load', '-q', '-i', busyboxArchive('docker')]).status, 0)
  const ctx = join(sb.tmp, 'ctx')
  mkdirSync(ctx, { recursive: true })
  // a 20 MB layer that does not compress: more than one 16 MiB chunk
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nRUN head -c 20000000 /dev/urandom > /big && echo pushed-ok > /msg\nCMD ["cat", "/msg"]\n')
  assert.is(sb.run(['build', '-q', '-t', 'topush:1', ctx], { timeout: 180_000 }).status, 0)

  const first = sb.run(['push', 'topush:1', `${reg}/app/topush:1`], { timeout: 180_000 })
  assert.is(first.status, 0, first.describe())
  assert.match(first.stderr, /: Pushed\n/)
  assert.match(first.stderr, /1: digest: sha256:[0-9a-f]{64} size: \d+\n/)
  const raw = JSON.parse(skopeo('inspect', '--raw', '--tls-verify=false', `docker://${reg}/app/topush:1`).stdout)
  assert.is(raw.mediaType, 'application/vnd.docker.distribution.manifest.v2+json')
  assert.is(raw.layers.length, 3)
  assert.ok(raw.layers.every((l: { mediaType: string }) => l.mediaType === 'application/vnd.docker.image.rootfs.diff.tar.gzip'))
  // skopeo checks every blob's digest on the way
  const copied = skopeo('copy', '--quiet', '--src-tls-verify=false', `docker://${reg}/app/topush:1`, `oci:${join(sb.tmp, 'oci')}:x`)
  assert.is(copied.status, 0, copied.stderr)

  const again = sb.run(['push', 'topush:1', `${reg}/app/topush:1`])
  assert.is(again.status, 0, again.describe())
  assert.is((again.stderr.match(/Layer already exists/g) ?? []).length, 4, again.stderr)
  // pulled from app/topush, pushed to another repository there: mounted, not sent
  assert.is(sb.run(['pull', '-q', `${reg}/app/topush:1`]).status, 0)
  const mounted = sb.run(['push', `${reg}/app/topush:1`, `${reg}/other/copy:2`])
  assert.is(mounted.status, 0, mounted.describe())
  assert.match(mounted.stderr, /Mounted from app\/topush/)

  const zstd = sb.run(['push', '--format', 'oci', '--compression-format', 'zstd', 'topush:1', `${reg}/app/zstd:1`], { timeout: 180_000 })
  assert.is(zstd.status, 0, zstd.describe())
  const zraw = JSON.parse(skopeo('inspect', '--raw', '--tls-verify=false', `docker://${reg}/app/zstd:1`).stdout)
  assert.is(zraw.mediaType, 'application/vnd.oci.image.manifest.v1+json')
  assert.ok(zraw.layers.every((l: { mediaType: string }) => l.mediaType === 'application/vnd.oci.image.layer.v1.tar+zstd'))
  assert.is(sb.run(['push', '--format', 'v2s2', '--compression-format', 'zstd', 'topush:1', `${reg}/app/bad:1`]).status, 125)

  // back from the registry into an empty store, and run
  assert.is(sb.run(['rmi', '-a', '-f']).status, 0)
  for (const name of [`${reg}/app/topush:1`, `${reg}/app/zstd:1`]) {
    assert.is(sb.run(['pull', '-q', name], { timeout: 120_000 }).status, 0)
    assert.is(sb.run(['run', '--rm', name]).stdout, 'pushed-ok\n')
  }
})

t('registries.conf: a mirror first, the origin when the mirror lacks the image, blocked registries, short-name aliases, search', async () => {
  if (!need('mirrors', probe.skiff(), probe.rootless(), probe.busybox(), probe.command('docker-registry'))) return
  registry ??= await startRegistry()
  mirror = await startRegistry()
  assert.is(sb.run(['load', '-q', '-i', busyboxArchive('docker')]).status, 0)
  // the mirror has x:1; only the origin has y:1
  assert.is(sb.run(['push', 'busybox', `${mirror.host}/app/x:1`]).status, 0)
  assert.is(sb.run(['push', 'busybox', `${registry.host}/team/y:1`]).status, 0)
  const conf = join(sb.tmp, 'registries.conf')
  writeFileSync(conf, `unqualified-search-registries = ["${mirror.host}"]\n\n[[registry]]\nprefix = "images.example.invalid"\nlocation = "${registry.host}/team"\n[[registry.mirror]]\nlocation = "${mirror.host}/app"\n\n[[registry]]\nlocation = "blocked.example.invalid"\nblocked = true\n\n[aliases]\n"shorty" = "images.example.invalid/x"\n`)
  const env = { CONTAINERS_REGISTRIES_CONF: conf }
  assert.is(sb.run(['rmi', '-a', '-f']).status, 0)
  const fromMirror = sb.run(['pull', 'images.example.invalid/x:1'], { env })
  assert.is(fromMirror.status, 0, fromMirror.describe())
  assert.match(fromMirror.stderr, new RegExp(`from the mirror ${mirror.host}/app/x`))
  const fromOrigin = sb.run(['pull', 'images.example.invalid/y:1'], { env })
  assert.is(fromOrigin.status, 0, fromOrigin.describe())
  assert.match(fromOrigin.stderr, /trying the next/)
  assert.is(sb.run(['run', '--rm', 'images.example.invalid/y:1', 'echo', 'origin-ok'], { env }).stdout, 'origin-ok\n')
  const blocked = sb.run(['pull', 'blocked.example.invalid/x'], { env })
  assert.is(blocked.status, 125)
  assert.match(blocked.stderr, /blocked by registries.conf/)
  // a short name with an alias: pulled under the alias, found under it next time
  const alias = sb.run(['run', '--rm', 'shorty:1', 'echo', 'alias-ok'], { env })
  assert.is(alias.stdout, 'alias-ok\n', alias.describe())
  assert.is(sb.run(['run', '--rm', '--pull', 'never', 'shorty:1', 'true'], { env }).status, 0)
  // search: the named registry's catalog, and the unqualified-search registries for a bare term
  assert.is(sb.run(['search', '--format', '{{.Name}}', `${registry.host}/team`]).stdout, `${registry.host}/team/y\n`)
  assert.match(sb.run(['search', 'app/x'], { env }).stdout, new RegExp(`^NAME +DESCRIPTION +STARS +OFFICIAL\\n${mirror.host.replace(/\./g, '\\.')}/app/x `))
})

t.run()

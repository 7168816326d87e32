// test/fixtures/image.ts: the archives it writes are what docker, skopeo and GNU tar expect.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { Header } from 'tar'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { buildImageInfo, defaultLayers, layerTar, type LayerEntry } from './fixtures/image.js'
import { need, probe, repoRoot, tempDir, testIf } from './helpers/env.js'

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`
const json = (p: string) => JSON.parse(readFileSync(p, 'utf8'))
/** A stand-in for /bin/busybox: the structure tests need no real binary. */
const fakeBusybox = Buffer.from('#!/bin/sh\necho fake busybox\n')

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message}`)
  return r.stdout
}

function untar(archive: string): string {
  const dir = tempDir('skiff-fixture-x-')
  sh('tar', ['-C', dir, '--preserve-permissions', '-xf', archive])
  return dir
}

interface Member {
  path: string
  type: string
  mode: number
  uid: number
  gid: number
  size: number
  linkpath: string
  pax: string
}

/** Our own reading of a tar stream, raw paths kept: GNU tar would strip "/" and "..". */
function members(tar: Buffer): Member[] {
  const out: Member[] = []
  let pax = ''
  for (let off = 0; off + 512 <= tar.length; ) {
    if (tar.subarray(off, off + 512).every((b) => b === 0)) break
    const h = new Header(tar, off)
    assert.ok(h.cksumValid, `bad checksum at ${off}`)
    const size = h.size ?? 0
    const body = tar.subarray(off + 512, off + 512 + size)
    off += 512 + Math.ceil(size / 512) * 512
    if (h.type === 'ExtendedHeader') {
      pax = body.toString()
      continue
    }
    const paxPath = /\d+ path=(.*)\n/.exec(pax)?.[1]
    out.push({ path: paxPath ?? h.path ?? '', type: h.type, mode: h.mode ?? 0, uid: h.uid ?? 0, gid: h.gid ?? 0, size, linkpath: h.linkpath ?? '', pax })
    pax = ''
  }
  return out
}

test('docker save archive: manifest, config digest, diff_ids, v1 layer dirs', () => {
  const img = buildImageInfo({ out: join(tempDir(), 'bb.tar'), busybox: fakeBusybox, tags: ['busybox:latest', 'example.com/x/bb:1'] })
  const dir = untar(img.path)
  const manifest = json(join(dir, 'manifest.json'))
  assert.is(manifest.length, 1)
  const [m] = manifest
  assert.equal(m.RepoTags, ['busybox:latest', 'example.com/x/bb:1'])
  assert.is(m.Config, `${img.configDigest.slice(7)}.json`)
  const configBytes = readFileSync(join(dir, m.Config))
  assert.is(sha256(configBytes), img.configDigest)
  const config = JSON.parse(configBytes.toString())
  assert.is(config.architecture, process.arch === 'x64' ? 'amd64' : config.architecture)
  assert.is(config.os, 'linux')
  assert.equal(config.config, { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] })
  assert.is(config.rootfs.type, 'layers')
  assert.is(m.Layers.length, 2)
  m.Layers.forEach((l: string, i: number) => {
    assert.match(l, /^[0-9a-f]{64}\/layer\.tar$/)
    assert.is(sha256(readFileSync(join(dir, l))), config.rootfs.diff_ids[i], 'uncompressed by default: digest = diff_id')
    assert.ok(existsSync(join(dir, l.replace('layer.tar', 'VERSION'))))
  })
  const repositories = json(join(dir, 'repositories'))
  assert.equal(Object.keys(repositories).sort(), ['busybox', 'example.com/x/bb'])
  assert.is(repositories.busybox.latest, m.Layers[1].split('/')[0])
})

test('default layers: busybox, links, users, dirs, files of uid 1000, whiteouts', () => {
  const img = buildImageInfo({ out: join(tempDir(), 'bb.tar'), busybox: fakeBusybox })
  const dir = untar(img.path)
  const [m] = json(join(dir, 'manifest.json'))
  const one = members(readFileSync(join(dir, m.Layers[0])))
  const two = members(readFileSync(join(dir, m.Layers[1])))
  const by = (ms: Member[], p: string): Member => {
    const found = ms.find((x) => x.path === p)
    if (!found) throw new Error(`no ${p} in the layer`)
    return found
  }
  assert.equal(by(one, 'bin/busybox'), { ...by(one, 'bin/busybox'), type: 'File', mode: 0o755, uid: 0, size: fakeBusybox.length })
  for (const a of ['sh', 'echo', 'cat', 'id', 'hostname', 'ls', 'sleep', 'ps', 'mount', 'env', 'pwd', 'true', 'false', 'kill', 'stat', 'touch', 'mkdir', 'rm', 'tty', 'stty', 'wc', 'grep', 'head', 'printf', 'yes', 'dd']) {
    assert.equal([by(one, `bin/${a}`).type, by(one, `bin/${a}`).linkpath], ['SymbolicLink', 'busybox'], a)
  }
  assert.equal([by(one, 'bin/ash').type, by(one, 'bin/ash').linkpath], ['Link', 'bin/busybox'])
  assert.is(by(one, 'tmp/').mode, 0o1777)
  assert.is(by(one, 'root/').mode, 0o700)
  for (const d of ['proc/', 'sys/', 'dev/']) assert.is(by(one, d).type, 'Directory')
  assert.equal([by(one, 'home/app/').uid, by(one, 'home/app/').gid], [1000, 1000])
  const passwd = readFileSync(join(untar(join(dir, m.Layers[0])), 'etc/passwd'), 'utf8')
  assert.match(passwd, /^root:x:0:0:/m)
  assert.match(passwd, /^daemon:x:1:1:/m)
  assert.match(passwd, /^nobody:x:65534:65534:/m)
  assert.match(passwd, /^app:x:1000:1000:app:\/home\/app:/m)
  const group = readFileSync(join(untar(join(dir, m.Layers[0])), 'etc/group'), 'utf8')
  assert.match(group, /^app:x:1000:$/m)
  assert.match(group, /^extra:x:2000:app$/m)

  assert.equal([by(two, 'home/app/hello.txt').uid, by(two, 'home/app/hello.txt').gid], [1000, 1000])
  assert.equal([by(two, 'home/app/extra-group').gid, by(two, 'home/app/extra-group').mode], [2000, 0o640])
  assert.is(by(two, 'etc/.wh.removed-later').size, 0)
  assert.ok(by(one, 'etc/removed-later'))
  assert.ok(by(two, 'opt/old/.wh..wh..opq'))
  assert.ok(by(one, 'opt/old/hidden'))
})

test('GNU tar reads the layers: listing and extraction keep links and modes', () => {
  const img = buildImageInfo({ out: join(tempDir(), 'bb.tar'), busybox: fakeBusybox })
  const dir = untar(img.path)
  const [m] = json(join(dir, 'manifest.json'))
  const list = sh('tar', ['--numeric-owner', '-tvf', join(dir, m.Layers[1])])
  assert.match(list, /^-rw-r--r-- 1000\/1000 +15 .* home\/app\/hello\.txt$/m)
  assert.match(list, /^---------- 0\/0 +0 .* etc\/\.wh\.removed-later$/m)
  const root = untar(join(dir, m.Layers[0]))
  assert.equal(readFileSync(join(root, 'bin/busybox')), fakeBusybox)
  assert.is(readlinkSync(join(root, 'bin/sh')), 'busybox')
  assert.is(statSync(join(root, 'bin/ash')).ino, statSync(join(root, 'bin/busybox')).ino, 'hard link')
  assert.is(lstatSync(join(root, 'bin/busybox')).mode & 0o777, 0o755)
  assert.is(statSync(join(root, 'tmp')).mode & 0o7777, 0o1777)
})

test('OCI archive and layout: index ref names, manifest and blob digests, gzip layers', () => {
  const t = tempDir()
  const archive = buildImageInfo({ format: 'oci-archive', out: join(t, 'oci.tar'), busybox: fakeBusybox, tags: ['busybox:1'] })
  const layout = buildImageInfo({ format: 'oci-dir', out: join(t, 'layout'), busybox: fakeBusybox, tags: ['busybox:1'] })
  assert.is(archive.manifestDigest, layout.manifestDigest)
  for (const dir of [untar(archive.path), layout.path]) {
    assert.equal(json(join(dir, 'oci-layout')), { imageLayoutVersion: '1.0.0' })
    const index = json(join(dir, 'index.json'))
    assert.is(index.schemaVersion, 2)
    assert.is(index.manifests.length, 1)
    const d = index.manifests[0]
    assert.is(d.annotations['org.opencontainers.image.ref.name'], 'busybox:1')
    const blob = (digest: string) => readFileSync(join(dir, 'blobs', 'sha256', digest.slice(7)))
    const manifestBytes = blob(d.digest)
    assert.is(sha256(manifestBytes), d.digest)
    assert.is(manifestBytes.length, d.size)
    const manifest = JSON.parse(manifestBytes.toString())
    assert.is(manifest.mediaType, 'application/vnd.oci.image.manifest.v1+json')
    assert.is(manifest.config.mediaType, 'application/vnd.oci.image.config.v1+json')
    const config = JSON.parse(blob(manifest.config.digest).toString())
    assert.is(sha256(blob(manifest.config.digest)), manifest.config.digest)
    manifest.layers.forEach((l: { mediaType: string; digest: string; size: number }, i: number) => {
      const b = blob(l.digest)
      assert.is(l.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip')
      assert.is(sha256(b), l.digest)
      assert.is(b.length, l.size)
      assert.is(sha256(gunzipSync(b)), config.rootfs.diff_ids[i])
    })
    assert.equal(readdirSync(join(dir, 'blobs', 'sha256')).length, 2 + manifest.layers.length)
  }
})

test('docker >= 25 layout: manifest.json points into blobs/, index.json names the image', () => {
  const img = buildImageInfo({ out: join(tempDir(), 'bb.tar'), busybox: fakeBusybox, dockerLayout: 'oci' })
  const dir = untar(img.path)
  const [m] = json(join(dir, 'manifest.json'))
  assert.is(m.Config, `blobs/sha256/${img.configDigest.slice(7)}`)
  for (const l of m.Layers) assert.match(l, /^blobs\/sha256\/[0-9a-f]{64}$/)
  const index = json(join(dir, 'index.json'))
  assert.is(index.manifests[0].annotations['io.containerd.image.name'], 'busybox:latest')
})

test('same input, same bytes: digests are reproducible and the image id is format-independent', () => {
  const t = tempDir()
  const a = buildImageInfo({ out: join(t, 'a.tar'), busybox: fakeBusybox })
  const b = buildImageInfo({ out: join(t, 'b.tar'), busybox: fakeBusybox })
  const c = buildImageInfo({ format: 'oci-archive', out: join(t, 'c.tar'), busybox: fakeBusybox })
  assert.equal(readFileSync(a.path), readFileSync(b.path))
  assert.is(a.configDigest, c.configDigest)
  assert.equal(a.diffIds, c.diffIds)
  assert.not.equal(a.layerDigests, c.layerDigests, 'OCI layers are gzipped')
})

test('raw entries are written as given (for hostile-archive tests); long paths and xattrs use pax', () => {
  const long = `deep/${'d'.repeat(120)}/file`
  const entries: LayerEntry[] = [
    { type: 'file', path: '../escape', raw: true, content: 'x' },
    { type: 'file', path: '/abs', raw: true },
    { type: 'symlink', path: 'link', target: '/etc' },
    { type: 'hardlink', path: 'hl', target: '../../etc/shadow', raw: true },
    { type: 'file', path: long, content: 'long' },
    { type: 'file', path: 'x', xattrs: { 'user.skiff': 'yes' } },
    { type: 'chardev', path: 'dev/null', major: 1, minor: 3 },
    { type: 'fifo', path: 'fifo' },
  ]
  const ms = members(layerTar(entries))
  assert.equal(
    ms.map((m) => [m.path, m.type, m.linkpath]),
    [
      ['../escape', 'File', ''],
      ['/abs', 'File', ''],
      ['link', 'SymbolicLink', '/etc'],
      ['hl', 'Link', '../../etc/shadow'],
      [long, 'File', ''],
      ['x', 'File', ''],
      ['dev/null', 'CharacterDevice', ''],
      ['fifo', 'FIFO', ''],
    ],
  )
  assert.match(ms[5]!.pax, /^\d+ SCHILY\.xattr\.user\.skiff=yes\n$/)
  const t = tempDir()
  const img = buildImageInfo({ out: join(t, 'long.tar'), layers: [[{ type: 'file', path: long, content: 'long' }]] })
  const [m] = json(join(untar(img.path), 'manifest.json'))
  assert.match(sh('tar', ['-tf', join(untar(img.path), m.Layers[0])]), new RegExp(`^${long}$`, 'm'), 'GNU tar reads the pax path')
})

testIf(test, 'skopeo cross-check', probe.command('skopeo'), probe.busybox())('skopeo reads all three formats and verifies their digests', () => {
  const t = tempDir()
  const env = { ...process.env, NODE_EXTRA_CA_CERTS: undefined, TMPDIR: t }
  const sources = [
    `docker-archive:${buildImageInfo({ out: join(t, 'd.tar') }).path}`,
    `docker-archive:${buildImageInfo({ out: join(t, 'd25.tar'), dockerLayout: 'oci' }).path}`,
    `oci-archive:${buildImageInfo({ format: 'oci-archive', out: join(t, 'o.tar') }).path}:busybox:latest`,
    `oci:${buildImageInfo({ format: 'oci-dir', out: join(t, 'layout') }).path}:busybox:latest`,
  ]
  sources.forEach((src, i) => {
    const r = spawnSync('skopeo', ['copy', '--quiet', src, `dir:${join(t, `copy${i}`)}`], { encoding: 'utf8', env })
    assert.is(r.status, 0, `skopeo copy ${src}: ${r.stderr}`)
  })
})

test('the real default image carries /bin/busybox; make-busybox-image.mjs writes it', () => {
  if (!need('default busybox image', probe.busybox())) return
  const t = tempDir()
  const out = join(t, 'busybox.tar')
  const r = spawnSync(process.execPath, [join(repoRoot, 'test/fixtures/make-busybox-image.mjs'), out], { encoding: 'utf8' })
  assert.is(r.status, 0, r.stderr)
  assert.match(r.stdout, /^wrote .*busybox\.tar \(docker, busybox:latest, image id sha256:[0-9a-f]{64}\)$/m)
  const dir = untar(out)
  const [m] = json(join(dir, 'manifest.json'))
  const root = untar(join(dir, m.Layers[0]))
  assert.equal(readFileSync(join(root, 'bin/busybox')), readFileSync('/bin/busybox'))
  assert.is(sh(join(root, 'bin/busybox'), ['echo', 'static busybox runs']), 'static busybox runs\n')
  assert.is(defaultLayers().length, 2)
})

test.run()

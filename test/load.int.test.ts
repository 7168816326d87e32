// skiff load and images, for real: archives built here, unpacked inside the user namespace.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { buildImageInfo, defaultLayers } from './fixtures/image.js'
import { busyboxArchive, need, probe, tempDir, useSandbox } from './helpers/env.js'

const load = suite('load')
const sb = useSandbox(load)
const ready = (what: string) => need(what, probe.skiff(), probe.rootless(), probe.busybox())

for (const [format, layout] of [['docker', 'classic'], ['docker', 'oci'], ['oci-archive', undefined], ['oci-dir', undefined]] as const) {
  load(`load ${format}${layout ? ` (${layout} layout)` : ''}, list it, run it`, () => {
    if (!ready(`load ${format}`)) return
    const info = buildImageInfo({ format, dockerLayout: layout, out: join(tempDir(), format === 'oci-dir' ? 'img' : 'img.tar'), tags: ['example.com/team/tool:1.0'] })
    const r = sb.run(['load', '-i', info.path])
    assert.is(r.status, 0, r.describe())
    assert.is(r.stdout, 'Loaded image: example.com/team/tool:1.0\n')
    const images = sb.run(['images', '--no-trunc'])
    assert.match(images.stdout, /example\.com\/team\/tool\s+1\.0\s+sha256:[0-9a-f]{64}/)
    assert.ok(images.stdout.includes(info.configDigest), images.stdout)
    const json = JSON.parse(sb.run(['images', '--format', 'json']).stdout)
    assert.is(json[0].Id, info.configDigest)
    assert.equal(json[0].Layers, info.diffIds)
    // whiteout and opaque directory of the second layer, seen in the container
    const c = sb.run(['run', '--rm', 'example.com/team/tool:1.0', 'sh', '-c', 'ls /opt/old; test -e /etc/removed-later || echo removed'])
    assert.is(c.stdout, 'new\nremoved\n', c.describe())
  })
}

load('the same layers are stored once; loading again changes nothing', () => {
  if (!ready('dedup')) return
  const a = busyboxArchive('docker')
  assert.is(sb.run(['load', '-q', '-i', a]).status, 0)
  const layers = readdirSync(join(sb.root, 'layers')).sort()
  assert.is(sb.run(['load', '-q', '-i', busyboxArchive('oci-archive')]).status, 0)
  assert.equal(readdirSync(join(sb.root, 'layers')).sort(), layers)
  assert.is(sb.run(['load', '-q'], { input: readFileSync(a) }).status, 0, 'from stdin')
})

load('a corrupted blob is refused, naming it, and nothing half-written stays', () => {
  if (!ready('corrupt blob')) return
  const info = buildImageInfo({ format: 'oci-dir', out: join(tempDir(), 'img') })
  const layer = join(info.path, 'blobs', 'sha256', info.layerDigests[1]!.slice(7))
  const bytes = readFileSync(layer)
  bytes[bytes.length - 100]! ^= 0xff
  writeFileSync(layer, bytes)
  const r = sb.run(['load', '-i', info.path])
  assert.is(r.status, 125, r.describe())
  assert.match(r.stderr, new RegExp(`${info.layerDigests[1]}.*does not match its digest`))
  assert.match(r.stderr, /hint:/)
  assert.equal(readdirSync(join(sb.root, 'images')), [])
  assert.equal(readdirSync(join(sb.root, 'layers')), [])
  assert.equal(readdirSync(join(sb.root, 'tmp')), [])
})

load('a hostile layer (symlink escape) is refused inside the namespace and leaves nothing', () => {
  if (!ready('hostile layer')) return
  const victim = tempDir('skiff-victim-')
  const layers = [...defaultLayers(), [
    { type: 'symlink' as const, path: 'escape', target: victim },
    { type: 'file' as const, path: 'escape/pwned', content: 'x' },
  ]]
  const info = buildImageInfo({ format: 'docker', layers, out: join(tempDir(), 'evil.tar') })
  const r = sb.run(['load', '-i', info.path])
  assert.is(r.status, 125, r.describe())
  assert.match(r.stderr, /symlink escape/)
  assert.not.ok(existsSync(join(victim, 'pwned')))
  assert.equal(readdirSync(join(sb.root, 'images')), [])
  assert.equal(readdirSync(join(sb.root, 'tmp')), [])
})

load('two loads of the same image at once both succeed', async () => {
  if (!ready('concurrent load')) return
  const a = busyboxArchive('docker')
  const [x, y] = await Promise.all([sb.start(['load', '-q', '-i', a]).done, sb.start(['load', '-q', '-i', a]).done])
  assert.is(x.status, 0, x.describe())
  assert.is(y.status, 0, y.describe())
  assert.is(sb.run(['run', '--rm', 'busybox', 'true']).status, 0)
})

load('errors: missing file, not an archive, unknown image', () => {
  if (!ready('load errors')) return
  const missing = sb.run(['load', '-i', '/nonexistent.tar'])
  assert.is(missing.status, 125)
  assert.match(missing.stderr, /cannot read the archive \/nonexistent\.tar/)
  const junk = join(tempDir(), 'junk.tar')
  writeFileSync(junk, 'not a tar at all')
  assert.match(sb.run(['load', '-i', junk]).stderr, /skiff: .*\n  hint: /)
  const r = sb.run(['run', '--rm', 'nosuchimage', 'true'])
  assert.is(r.status, 125)
  assert.match(r.stderr, /no image nosuchimage/)
  assert.match(r.stderr, /skiff load/)
})

load.run()

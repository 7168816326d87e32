// skiff load and images, for real: archives built here, unpacked inside the user namespace.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
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

load('kill -9 in the middle of a load leaves the store consistent; the next load completes and cleans up', async () => {
  if (!ready('interrupted load')) return
  const big = Array.from({ length: 6 }, (_, i) => ({ type: 'file' as const, path: `data/blob${i}`, content: randomBytes(8 << 20) }))
  const info = buildImageInfo({ format: 'docker', layers: [...defaultLayers(), big], out: join(tempDir(), 'big.tar'), tags: ['big:1'] })
  const { child, done } = sb.start(['load', '-i', info.path])
  // wait for the unpacking worker inside the user namespace, then kill the CLI
  for (let i = 0; i < 400 && !workerRunning(); i++) await new Promise((r) => setTimeout(r, 10))
  child.kill('SIGKILL')
  await done
  await new Promise((r) => setTimeout(r, 200))
  assert.equal(readdirSync(join(sb.root, 'images')), [], 'no image recorded')
  const again = sb.run(['load', '-i', info.path])
  assert.is(again.status, 0, again.describe())
  assert.equal(readdirSync(join(sb.root, 'tmp')), [], 'leftovers removed')
  const r = sb.run(['run', '--rm', 'big:1', 'sh', '-c', 'ls /data | wc -l'])
  assert.is(r.stdout.trim(), '6', r.describe())
})

function workerRunning(): boolean {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('__storage')) return true
    } catch {}
  }
  return false
}

load('tag (one name or several) and rmi: names go first, the image and its unused layers with the last one', () => {
  if (!ready('rmi')) return
  assert.is(sb.run(['load', '-q', '-i', busyboxArchive('docker')]).status, 0)
  assert.is(sb.run(['tag', 'busybox', 'mine/box:2']).status, 0)
  assert.match(sb.run(['images']).stdout, /mine\/box\s+2\s/)
  // several names at once (as podman's tag); a bad one, and none is written
  const bad = sb.run(['tag', 'busybox', 'mine/box:3', 'Bad Name'])
  assert.is(bad.status, 125, bad.describe())
  assert.match(bad.stderr, /Bad Name/)
  assert.not.match(sb.run(['images']).stdout, /mine\/box\s+3\s/)
  assert.is(sb.run(['tag', 'busybox', 'mine/box:3', 'mine/box:4']).status, 0)
  assert.match(sb.run(['images']).stdout, /mine\/box\s+3\s[\s\S]*mine\/box\s+4\s|mine\/box\s+4\s[\s\S]*mine\/box\s+3\s/)
  assert.is(sb.run(['rmi', 'mine/box:3', 'mine/box:4']).status, 0)
  const untag = sb.run(['rmi', 'busybox'])
  assert.is(untag.stdout, 'Untagged: docker.io/library/busybox:latest\n', untag.describe())
  assert.ok(readdirSync(join(sb.root, 'layers')).length > 0)
  // a container keeps its image unless -f
  assert.is(sb.run(['run', 'mine/box:2', 'true']).status, 0)
  const refused = sb.run(['rmi', 'mine/box:2'])
  assert.is(refused.status, 125)
  assert.match(refused.stderr, /used by a container/)
  const forced = sb.run(['rmi', '-f', 'mine/box:2'])
  assert.is(forced.status, 0, forced.describe())
  assert.match(forced.stdout, /Untagged: docker\.io\/mine\/box:2\nDeleted: sha256:/)
  assert.equal(readdirSync(join(sb.root, 'layers')), [])
  assert.equal(readdirSync(join(sb.root, 'images')), [])
  assert.equal(readdirSync(join(sb.root, 'tmp')), [])
  assert.equal(readdirSync(join(sb.root, 'blobs', 'sha256')), [])
})

for (const format of ['docker-archive', 'oci-archive']) {
  load(`save (${format}) → rmi → load keeps every digest; skopeo reads the archive`, () => {
    if (!need(`save ${format}`, probe.skiff(), probe.rootless(), probe.busybox(), probe.command('skopeo'))) return
    assert.is(sb.run(['load', '-q', '-i', busyboxArchive('oci-archive')]).status, 0)
    const before = JSON.parse(sb.run(['images', '--format', 'json']).stdout)
    const out = join(tempDir(), 'saved.tar')
    const save = sb.run(['save', '--format', format, '-o', out, 'busybox'])
    assert.is(save.status, 0, save.describe())
    assert.is(sb.run(['rmi', 'busybox']).status, 0)
    assert.equal(readdirSync(join(sb.root, 'blobs', 'sha256')), [])
    const again = sb.run(['load', '-i', out])
    assert.is(again.stdout, 'Loaded image: docker.io/library/busybox:latest\n', again.describe())
    const after = JSON.parse(sb.run(['images', '--format', 'json']).stdout)
    assert.is(after[0].Id, before[0].Id)
    assert.equal(after[0].Layers, before[0].Layers)
    // skopeo's own oci-archive reader chowns what it unpacks, which an unprivileged user may not:
    // the layout is checked unpacked instead
    let source = `docker-archive:${out}`
    if (format === 'oci-archive') {
      const dir = tempDir()
      assert.is(spawnSync('tar', ['-xf', out, '-C', dir]).status, 0)
      source = `oci:${dir}`
    }
    const inspect = spawnSync('skopeo', ['inspect', '--config', source], { encoding: 'utf8' })
    assert.is(inspect.status, 0, inspect.stderr)
    assert.is(sb.run(['run', '--rm', 'busybox', 'echo', 'ok']).stdout, 'ok\n')
  })
}

load('image inspect prints Docker\'s fields; image prune removes what nothing names or uses', () => {
  if (!ready('inspect')) return
  const info = buildImageInfo({ format: 'oci-archive', out: join(tempDir(), 'i.tar') })
  assert.is(sb.run(['load', '-q', '-i', info.path]).status, 0)
  const [img] = JSON.parse(sb.run(['image', 'inspect', 'busybox']).stdout)
  assert.is(img.Id, info.configDigest)
  assert.equal(img.RepoTags, ['busybox:latest'])
  assert.equal(img.RootFS, { Type: 'layers', Layers: info.diffIds })
  assert.equal(img.Config.Cmd, ['sh'])
  assert.is(img.Os, 'linux')
  assert.is(sb.run(['image', 'prune']).stdout, '', 'a named image stays')
  const df = JSON.parse(sb.run(['system', 'df', '--format', 'json']).stdout)
  assert.is(df[0].Type, 'Images')
  assert.is(df[0].Total, 1)
  assert.ok(df[0].Size > 1_000_000, `images take ${df[0].Size} bytes`)
  assert.is(sb.run(['rmi', 'busybox']).status, 0)
  assert.is(sb.run(['load', '-q', '-i', info.path]).status, 0)
  assert.is(sb.run(['image', 'prune', '-a']).stdout, `Deleted: ${info.configDigest}\n`)
  assert.equal(readdirSync(join(sb.root, 'layers')), [])
})

load('errors: missing file, not an archive, unknown image', () => {
  if (!ready('load errors')) return
  const missing = sb.run(['load', '-i', '/nonexistent.tar'])
  assert.is(missing.status, 125)
  assert.match(missing.stderr, /cannot read the archive \/nonexistent\.tar/)
  const junk = join(tempDir(), 'junk.tar')
  writeFileSync(junk, 'not a tar at all')
  assert.match(sb.run(['load', '-i', junk]).stderr, /^Error: .*\n  hint: /)
  const r = sb.run(['run', '--rm', '--pull=never', 'nosuchimage', 'true'])
  assert.is(r.status, 125)
  assert.match(r.stderr, /^Error: No such image: nosuchimage\n/)
  assert.match(r.stderr, /skiff load/)
})

load.run()

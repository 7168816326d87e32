// Layer unpacking on real temp dirs, as a plain user (ownership not applied). Hostile layers are
// built here, each named after the attack it tries.
import { spawnSync } from 'node:child_process'
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { gzipSync } from 'node:zlib'
import { createHash } from 'node:crypto'
import { layerTar, type LayerEntry } from '../fixtures/image.js'
import { safeComponents, unpackLayer } from '../../core/storage/layer-unpack.js'
import { requireEnv, tempDir } from '../helpers/env.js'

const opts = { preserveOwner: false, idLimit: 1 }

async function rejects(fn: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await fn()
  } catch (err) {
    assert.match((err as Error).message, pattern)
    return
  }
  assert.unreachable(`expected a rejection matching ${pattern}`)
}

function layerFile(entries: LayerEntry[], gzip = false): { file: string; diffID: string; dir: string } {
  const dir = tempDir('skiff-layer-')
  const tar = layerTar(entries)
  const file = join(dir, 'layer.tar')
  writeFileSync(file, gzip ? gzipSync(tar) : tar)
  return { file, diffID: `sha256:${createHash('sha256').update(tar).digest('hex')}`, dir }
}

test('files, dirs, modes, symlinks kept verbatim, hard links; diffID of the uncompressed stream', async () => {
  const { file, diffID, dir } = layerFile([
    { type: 'dir', path: 'bin', mode: 0o755 },
    { type: 'file', path: 'bin/tool', content: 'x', mode: 0o4755 },
    { type: 'symlink', path: 'bin/abs', target: '/bin/tool' },
    { type: 'symlink', path: 'bin/rel', target: '../etc/x' },
    { type: 'hardlink', path: 'bin/same', target: 'bin/tool' },
    { type: 'file', path: 'deep/a/b/c.txt', content: 'deep' },
  ], true)
  const dest = join(dir, 'out')
  const r = await unpackLayer(file, dest, opts)
  assert.is(r.diffID, diffID)
  assert.is(lstatSync(join(dest, 'bin/tool')).mode & 0o7777, 0o4755)
  assert.is(readlinkSync(join(dest, 'bin/abs')), '/bin/tool')
  assert.is(readlinkSync(join(dest, 'bin/rel')), '../etc/x')
  assert.is(lstatSync(join(dest, 'bin/same')).ino, lstatSync(join(dest, 'bin/tool')).ino)
  assert.is(readFileSync(join(dest, 'deep/a/b/c.txt'), 'utf8'), 'deep')
})

test('whiteouts and opaque directories are returned, not written as files', async () => {
  const { file, dir } = layerFile([
    { type: 'whiteout', path: 'etc/gone' },
    { type: 'opaque', path: 'opt/old' },
    { type: 'file', path: 'opt/old/new', content: 'n' },
  ])
  const dest = join(dir, 'out')
  const r = await unpackLayer(file, dest, opts)
  assert.equal(r.whiteouts, ['etc/gone'])
  assert.equal(r.opaque, ['opt/old'])
  assert.not.ok(existsSync(join(dest, 'etc/.wh.gone')))
  assert.ok(existsSync(join(dest, 'opt/old/new')))
})

test('path traversal: a ".." entry is refused and nothing lands outside', async () => {
  const { file, dir } = layerFile([{ type: 'file', path: '../escaped', content: 'pwned', raw: true }])
  await rejects(() => unpackLayer(file, join(dir, 'out'), opts), /"\.\." component/)
  assert.not.ok(existsSync(join(dir, 'escaped')))
})

test('absolute paths are taken from the layer root, never the host root', async () => {
  const { file, dir } = layerFile([{ type: 'file', path: '/tmp/skiff-abs-test-file', content: 'x', raw: true }])
  await unpackLayer(file, join(dir, 'out'), opts)
  assert.ok(existsSync(join(dir, 'out/tmp/skiff-abs-test-file')))
  assert.not.ok(existsSync('/tmp/skiff-abs-test-file'))
})

test('symlink escape: writing through a symlink (absolute or relative) is refused', async () => {
  const victim = tempDir('skiff-victim-')
  for (const target of [victim, '../../../../../../../../' + victim]) {
    const { file, dir } = layerFile([
      { type: 'symlink', path: 'link', target },
      { type: 'file', path: 'link/pwned', content: 'x' },
    ])
    await rejects(() => unpackLayer(file, join(dir, 'out'), opts), /symlink escape/)
    assert.not.ok(existsSync(join(victim, 'pwned')))
  }
})

test('symlink escape through a replaced directory: dir, then symlink at the same path, then a file under it', async () => {
  const victim = tempDir('skiff-victim-')
  const { file, dir } = layerFile([
    { type: 'dir', path: 'd' },
    { type: 'symlink', path: 'd', target: victim },
    { type: 'file', path: 'd/pwned', content: 'x' },
  ])
  await rejects(() => unpackLayer(file, join(dir, 'out'), opts), /symlink escape/)
  assert.not.ok(existsSync(join(victim, 'pwned')))
})

test('hard link to a file outside the layer is refused', async () => {
  const { file, dir } = layerFile([{ type: 'hardlink', path: 'h', target: '../../../../etc/passwd', raw: true }])
  await rejects(() => unpackLayer(file, join(dir, 'out'), opts), /"\.\." component|does not contain/)
  const { file: f2, dir: d2 } = layerFile([{ type: 'hardlink', path: 'h', target: 'etc/passwd' }])
  await rejects(() => unpackLayer(f2, join(d2, 'out'), opts), /does not contain/)
})

test('device nodes and fifos are skipped and counted', async () => {
  const { file, dir } = layerFile([
    { type: 'chardev', path: 'dev/evil-mem', major: 1, minor: 1 },
    { type: 'blockdev', path: 'dev/evil-disk', major: 8, minor: 0 },
    { type: 'fifo', path: 'run/fifo' },
  ])
  const r = await unpackLayer(file, join(dir, 'out'), opts)
  assert.is(r.skippedDevices, 3)
  assert.not.ok(existsSync(join(dir, 'out/dev/evil-mem')))
})

test('a truncated layer is a clear error', async () => {
  const { file, dir } = layerFile([{ type: 'file', path: 'big', content: Buffer.alloc(100_000, 1) }], true)
  const whole = readFileSync(file)
  writeFileSync(file, whole.subarray(0, whole.length / 2))
  mkdirSync(join(dir, 'out'))
  await rejects(() => unpackLayer(file, join(dir, 'out'), opts), /cannot read layer/)
})

test('zstd layers unpack, with the diffID of the uncompressed stream', async () => {
  const { file, diffID, dir } = layerFile([{ type: 'file', path: 'z/data', content: Buffer.alloc(300_000, 7) }, { type: 'file', path: 'z/small', content: 'zz' }])
  const zst = join(dir, 'layer.tar.zst')
  const z = spawnSync('zstd', ['-q', '-19', file, '-o', zst])
  if (!requireEnv('zstd layers', !z.error && z.status === 0, 'zstd is missing: apt-get install zstd')) return
  const r = await unpackLayer(zst, join(dir, 'out'), opts)
  assert.is(r.diffID, diffID)
  assert.is(readFileSync(join(dir, 'out/z/data')).length, 300_000)
  assert.is(readFileSync(join(dir, 'out/z/small'), 'utf8'), 'zz')
})

test('safeComponents', () => {
  assert.equal(safeComponents('./a//b/'), ['a', 'b'])
  assert.equal(safeComponents('/etc/passwd'), ['etc', 'passwd'])
  assert.throws(() => safeComponents('a/../../b'), /"\.\." component/)
})

test.run()

// Choosing a storage driver, and storage.conf.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { chooseDriver, mountableAgain, parseStorageConf, rootfsPlan } from '../../core/storage/driver.js'

const t = suite('storage-driver')

t('storage.conf: driver = "...", comments, a [storage] table', () => {
  assert.equal(parseStorageConf('[storage]\ndriver = "copy"  # slow\n'), { driver: 'copy' })
  assert.equal(parseStorageConf("driver='overlay'\n"), { driver: 'overlay' })
  assert.equal(parseStorageConf('# driver = "copy"\n'), {})
})

t('the choice and its reason: asked for, overlay, fuse-overlayfs, copy', () => {
  assert.equal(chooseDriver({ requested: { driver: 'copy', from: '--storage-driver' }, devFuse: false }), { driver: 'copy', reason: 'set by --storage-driver' })
  assert.throws(() => chooseDriver({ requested: { driver: 'zfs', from: 'SKIFF_STORAGE_DRIVER' }, devFuse: false }), /unknown storage driver "zfs" \(from SKIFF_STORAGE_DRIVER\)/)
  assert.throws(() => chooseDriver({ requested: { driver: 'fuse-overlayfs', from: 'x' }, devFuse: true }), /is not installed/)
  assert.is(chooseDriver({ overlay: { works: true }, devFuse: false }).driver, 'overlay')
  const fuse = chooseDriver({ overlay: { works: false, error: 'EPERM' }, fuseOverlayfs: '/usr/bin/fuse-overlayfs', devFuse: true })
  assert.equal(fuse, { driver: 'fuse-overlayfs', reason: "the kernel's overlayfs does not work here (EPERM); fuse-overlayfs is installed" })
  const copy = chooseDriver({ overlay: { works: false, error: 'EPERM' }, fuseOverlayfs: '/usr/bin/fuse-overlayfs', devFuse: false })
  assert.is(copy.driver, 'copy')
  assert.match(copy.reason, /cannot open \/dev\/fuse/)
  assert.match(chooseDriver({ overlay: { works: false }, devFuse: false }).reason, /fuse-overlayfs is not installed/)
})

t('root filesystem plans', () => {
  assert.equal(rootfsPlan('copy', '/s/layers', ['/s/layers/b/diff'], '/s/c/1'), { kind: 'bind', source: '/s/c/1/rootfs', target: '/s/c/1/merged', readonly: false })
  const o = rootfsPlan('overlay', '/s/layers', ['/s/layers/b/diff', '/s/layers/a/diff'], '/s/c/1')
  assert.equal(o.kind === 'overlay' && o.lowerdirs, ['b/diff', 'a/diff'])
  const f = rootfsPlan('fuse-overlayfs', '/s/layers', ['/s/layers/a/diff'], '/s/c/1', '/usr/bin/fuse-overlayfs')
  assert.equal(f.kind === 'fuse-overlayfs' && [f.program, f.lowerdirs], ['/usr/bin/fuse-overlayfs', ['a/diff']])
})

t('a --rm container\'s overlay is volatile, except when mounted outside its run', () => {
  const kept = rootfsPlan('overlay', '/s/layers', ['/s/layers/a/diff'], '/s/c/1')
  const once = rootfsPlan('overlay', '/s/layers', ['/s/layers/a/diff'], '/s/c/1', undefined, true)
  assert.equal(kept.kind === 'overlay' && kept.options, ['userxattr'])
  assert.equal(once.kind === 'overlay' && once.options, ['userxattr', 'volatile'])
  assert.equal(mountableAgain(once), kept)
  const copy = rootfsPlan('copy', '/s/layers', [], '/s/c/1', undefined, true)
  assert.is(mountableAgain(copy), copy)
})

t.run()

// Where skiff keeps things, and the move off network filesystems.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { networkFsOf, resolvePaths } from '../core/paths.js'

const t = suite('paths')
const env = { HOME: '/home/ann', TMPDIR: '/tmp' }

t('storage defaults to ~/.local/share/skiff, or SKIFF_ROOT', () => {
  const local = () => ({ type: 0xef53 })
  assert.is(resolvePaths(env, 1000, local).storage, '/home/ann/.local/share/skiff')
  assert.is(resolvePaths({ ...env, SKIFF_ROOT: '/data/s' }, 1000, local).storage, '/data/s')
  assert.is(resolvePaths(env, 1000, local).storageNote, undefined)
})

t('a home on NFS or Lustre: storage on this node, and why', () => {
  // the storage dir does not exist yet: its nearest existing parent decides
  const nfs = (p: string) => {
    if (p.startsWith('/home/ann/.local')) throw new Error('ENOENT')
    return { type: p.startsWith('/home') ? 0x6969 : 0xef53 }
  }
  const p = resolvePaths(env, 1000, nfs)
  assert.is(p.storage, '/tmp/skiff-1000/storage')
  assert.match(p.storageNote!, /^\/home\/ann\/\.local\/share\/skiff is on NFS, where overlay upper directories fail/)
  assert.is(networkFsOf('/lus/x', () => ({ type: 0x0bd00bd0 })), 'Lustre')
  // SKIFF_ROOT is the user's word, even on NFS
  assert.is(resolvePaths({ ...env, SKIFF_ROOT: '/home/ann/s' }, 1000, nfs).storage, '/home/ann/s')
})

t.run()

// Where skiff keeps things, and the move off network filesystems.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { chmodSync, lstatSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { networkFsOf, resolvePaths, runtimeDir, socketPath } from '../core/paths.js'
import { checkOwnRoot, unsafeReason } from '../core/private-dir.js'
import { tempDir } from './helpers/env.js'

const t = suite('paths')
const env = { HOME: '/home/ann', TMPDIR: '/tmp' }
const uid = process.getuid!()

function assertPrivate(dir: string): void {
  const st = lstatSync(dir)
  assert.ok(st.isDirectory() && st.uid === uid && (st.mode & 0o077) === 0, `${dir}: mode ${(st.mode & 0o7777).toString(8)}, uid ${st.uid}`)
}

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
  const tmp = tempDir()
  const p = resolvePaths({ ...env, TMPDIR: tmp, XDG_CACHE_HOME: join(tmp, 'cache') }, uid, nfs)
  assert.is(p.storage, join(tmp, `skiff-${uid}`, 'storage'))
  assertPrivate(join(tmp, `skiff-${uid}`))
  assert.match(p.storageNote!, /^\/home\/ann\/\.local\/share\/skiff is on NFS, where overlay upper directories fail/)
  assert.is(networkFsOf('/lus/x', () => ({ type: 0x0bd00bd0 })), 'Lustre')
  assert.is(networkFsOf('/gpfs/x', () => ({ type: 0x47504653 })), 'GPFS')
  assert.is(networkFsOf('/beegfs/x', () => ({ type: 0x19830326 })), 'BeeGFS')
  // in a Slurm job: the job's node-local directory first
  const job = tempDir()
  const inJob = resolvePaths({ ...env, TMPDIR: tmp, SLURM_TMPDIR: job, XDG_CACHE_HOME: join(job, 'cache') }, uid, nfs)
  assert.is(inJob.storage, join(job, `skiff-${uid}`, 'storage'))
  // SKIFF_ROOT is the user's word, even on NFS
  assert.is(resolvePaths({ ...env, SKIFF_ROOT: '/home/ann/s' }, 1000, nfs).storage, '/home/ann/s')
})

t('a storage fallback made by someone else (open to others, or a symlink): a fresh private one, remembered', () => {
  const nfs = (p: string) => ({ type: p.startsWith('/home') ? 0x6969 : 0xef53 })
  for (const plant of ['open', 'symlink'] as const) {
    const tmp = tempDir()
    const base = join(tmp, `skiff-${uid}`)
    if (plant === 'open') {
      mkdirSync(base)
      chmodSync(base, 0o777)
    } else {
      mkdirSync(join(tmp, 'elsewhere'))
      symlinkSync(join(tmp, 'elsewhere'), base)
    }
    const e = { ...env, TMPDIR: tmp, XDG_CACHE_HOME: join(tmp, 'cache') }
    const p = resolvePaths(e, uid, nfs)
    const dir = p.storage.slice(0, -'/storage'.length)
    assert.ok(dir.startsWith(`${base}-`), dir)
    assertPrivate(dir)
    assert.is(readFileSync(join(tmp, 'cache', 'skiff', 'fallback-storage'), 'utf8'), `${dir}\n`)
    assert.is(resolvePaths(e, uid, nfs).storage, p.storage, 'the same one next time')
    // a remembered directory that someone else's since (it was removed, then made by another): not used
    chmodSync(dir, 0o777)
    assert.is.not(resolvePaths(e, uid, nfs).storage, p.storage)
  }
})

t('the runtime directory: XDG_RUNTIME_DIR\'s when ours and closed, else the fallback in TMPDIR, made 0700 when used', () => {
  const tmp = tempDir()
  const xdg = join(tmp, 'xdg')
  mkdirSync(xdg, { mode: 0o700 })
  const e = { ...env, TMPDIR: tmp, XDG_RUNTIME_DIR: xdg, XDG_CACHE_HOME: join(tmp, 'cache') }
  assert.is(resolvePaths(e, uid).runtime, join(xdg, 'skiff'))
  assert.is(runtimeDir(resolvePaths(e, uid), uid), join(xdg, 'skiff'))
  assertPrivate(join(xdg, 'skiff'))
  chmodSync(xdg, 0o777) // anyone may write it: not used
  assert.is(resolvePaths(e, uid).runtime, join(tmp, `skiff-run-${uid}`))
  const fallback = runtimeDir(resolvePaths(e, uid), uid)
  assert.is(fallback, join(tmp, `skiff-run-${uid}`))
  assertPrivate(fallback)
  // a socket path that would not fit in 108 bytes goes to the fallback, made private
  const long = join(tmp, 'x'.repeat(100))
  const sock = socketPath(resolvePaths({ ...e, SKIFF_RUNROOT: long }, uid), 'attach', 'a'.repeat(64), uid, e)
  assert.is(sock, join(fallback, 'attach-aaaaaaaaaaaa.sock'))
  // SKIFF_RUNROOT open to others: an error naming it, not a silent use
  const open = join(tmp, 'open')
  mkdirSync(open)
  chmodSync(open, 0o777)
  assert.throws(() => runtimeDir(resolvePaths({ ...e, SKIFF_RUNROOT: open }, uid), uid), (err: Error & { hint: string }) =>
    err.message === `the runtime directory ${open} is not safe to use: it is open to other users (mode 0777)` && /SKIFF_RUNROOT/.test(err.hint))
})

t('unsafeReason: a symlink, a file, another owner, group or other bits, a parent others may change', () => {
  const tmp = tempDir()
  mkdirSync(join(tmp, 'ok'), { mode: 0o700 })
  assert.is(unsafeReason(join(tmp, 'ok'), uid), undefined)
  assert.is(unsafeReason(join(tmp, 'none'), uid), 'missing')
  symlinkSync(join(tmp, 'ok'), join(tmp, 'link'))
  assert.is(unsafeReason(join(tmp, 'link'), uid), 'it is a symbolic link')
  assert.match(unsafeReason(join(tmp, 'ok'), uid + 1)!, new RegExp(`^it belongs to uid ${uid}, mode 0700$`))
  mkdirSync(join(tmp, 'g'), { mode: 0o750 })
  chmodSync(join(tmp, 'g'), 0o750)
  assert.is(unsafeReason(join(tmp, 'g'), uid), 'it is open to other users (mode 0750)')
  const shared = join(tmp, 'shared')
  mkdirSync(shared)
  chmodSync(shared, 0o777)
  mkdirSync(join(shared, 'mine'), { mode: 0o700 })
  assert.match(unsafeReason(join(shared, 'mine'), uid)!, /parent .* can be changed by other users and is not sticky/)
  chmodSync(shared, 0o1777)
  assert.is(unsafeReason(join(shared, 'mine'), uid), undefined)
})

t('checkOwnRoot: the store and the cache may be symlinks of the user\'s, but nobody else may write them or rename them away', () => {
  const tmp = tempDir()
  const real = join(tmp, 'real')
  mkdirSync(real, { mode: 0o755 })
  chmodSync(real, 0o755)
  symlinkSync(real, join(tmp, 'link'))
  checkOwnRoot(join(tmp, 'link'), 'storage directory', 'SKIFF_ROOT', uid)
  checkOwnRoot(join(tmp, 'missing'), 'storage directory', 'SKIFF_ROOT', uid)
  assert.throws(() => checkOwnRoot(real, 'storage directory', 'SKIFF_ROOT', uid + 1), /is not safe to use: it belongs to uid/)
  chmodSync(real, 0o775)
  assert.throws(() => checkOwnRoot(join(tmp, 'link'), 'storage directory', 'SKIFF_ROOT', uid), (e: Error & { hint: string }) =>
    /other users may write it \(mode 0775\)/.test(e.message) && /SKIFF_ROOT/.test(e.hint))
  chmodSync(real, 0o700)
  chmodSync(tmp, 0o777)
  assert.throws(() => checkOwnRoot(real, 'cache directory', 'XDG_CACHE_HOME', uid), /its parent .* is not sticky/)
  chmodSync(tmp, 0o700)
})

t.run()

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  formatBytes, fsTypeName, gatherDir, isNetworkFs, judgeCache, judgeDevFuse, judgeFuseOverlayfs, judgeOverlay, judgeRuntime, judgeStorage, type DirFacts,
} from '../../core/host/fs.js'
import { readMountinfo } from '../../core/host/mounts.js'

const magics: [number, string][] = [
  [0x6969, 'nfs'],
  [0x0bd00bd0, 'lustre'],
  [0x47504653, 'gpfs'],
  [0xef53, 'ext4'],
  [0x58465342, 'xfs'],
  [0x9123683e, 'btrfs'],
  [0x01021994, 'tmpfs'],
  [0x794c7630, 'overlay'],
  [0xff534d42, 'cifs'],
  [0x65735546, 'fuse'],
  [-0x6edc97c2, 'btrfs'], // the same magic read as a signed 32-bit number
  [0x12345, '0x12345'],
]
for (const [magic, name] of magics) {
  test(`fsTypeName 0x${(magic >>> 0).toString(16)} → ${name}`, () => assert.is(fsTypeName(magic), name))
}

test('isNetworkFs', () => {
  for (const n of ['nfs', 'nfs4', 'lustre', 'gpfs', 'cifs', 'smb3', 'ceph', 'beegfs', 'fuse.sshfs', 'fuse.glusterfs']) assert.ok(isNetworkFs(n), n)
  for (const n of ['ext4', 'xfs', 'tmpfs', 'overlay', 'fuse', 'fuse.fuse-overlayfs', 'nfsd', '0x1234']) assert.not.ok(isNetworkFs(n), n)
})

test('formatBytes', () => {
  assert.is(formatBytes(512), '512 B')
  assert.is(formatBytes(1536), '1.5 KiB')
  assert.is(formatBytes(13421772800), '12.5 GiB')
})

test('gatherDir: a path not made yet is judged by its nearest existing parent', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-fs-'))
  try {
    const d = gatherDir(join(dir, 'a', 'b'), readMountinfo())
    assert.is(d.exists, false)
    assert.is(d.probed, dir)
    assert.ok(!d.fsType.startsWith('unknown'))
    assert.type(d.freeBytes, 'number')
    assert.is(d.owner, undefined)
    const here = gatherDir(dir, readMountinfo())
    assert.is(here.exists, true)
    assert.is(here.owner, process.getuid!())
    assert.ok(here.mountType)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

const ctx = { uid: 1000, user: 'ann', env: {}, kernelRelease: '6.1.0' }
const dir = (over: Partial<DirFacts>): DirFacts => ({ path: '/home/ann/.local/share/skiff', probed: '/home/ann', exists: true, owner: 1000, fsType: 'ext4', mountType: 'ext4', mountOptions: ['rw'], freeBytes: 50 * 1024 ** 3, ...over })

const storage: [string, DirFacts, string, RegExp, RegExp | undefined][] = [
  ['local disk', dir({}), 'ok', /^\/home\/ann\/\.local\/share\/skiff \(ext4, 50\.0 GiB free\)$/, undefined],
  ['not created yet', dir({ exists: false, owner: undefined }), 'ok', /not created yet/, undefined],
  ['NFS home (statfs magic)', dir({ fsType: 'nfs', mountType: 'nfs4' }), 'warning', /network filesystem/, /SKIFF_ROOT=\/tmp\/ann\/skiff/],
  ['Lustre', dir({ fsType: 'lustre', mountType: 'lustre' }), 'warning', /network filesystem/, /SKIFF_ROOT/],
  ['sshfs (fuse: named by the mount)', dir({ fsType: 'fuse', mountType: 'fuse.sshfs' }), 'warning', /\(fuse\.sshfs.*network filesystem/, /SKIFF_ROOT/],
  ['inside a container (overlay)', dir({ fsType: 'overlay', mountType: 'overlay' }), 'warning', /on overlayfs/, /SKIFF_ROOT/],
  ['read-only', dir({ mountOptions: ['ro'] }), 'error', /read-only/, /SKIFF_ROOT/],
  ['someone else\'s', dir({ owner: 0 }), 'error', /owned by uid 0/, /SKIFF_ROOT/],
  ['nearly full', dir({ freeBytes: 100 * 1024 ** 2 }), 'warning', /low on space/, /prune/],
]
for (const [name, facts, status, value, fix] of storage) {
  test(`judgeStorage: ${name}`, () => {
    const item = judgeStorage(facts, ctx)
    assert.is(item.status, status)
    assert.match(item.value, value)
    if (fix) assert.match(item.fix!, fix)
    else assert.is(item.fix, undefined)
  })
}

test('judgeRuntime: XDG_RUNTIME_DIR missing, someone else\'s, a squatted fallback', () => {
  const run = dir({ path: '/tmp/skiff-run-1000' })
  assert.match(judgeRuntime({ dir: run, xdgOwned: false }, ctx).value, /XDG_RUNTIME_DIR is not set/)
  const su = judgeRuntime({ dir: run, xdgRuntimeDir: '/run/user/0', xdgOwned: false }, ctx)
  assert.is(su.status, 'warning')
  assert.match(su.value, /XDG_RUNTIME_DIR=\/run\/user\/0 is not yours/)
  assert.match(su.fix!, /machinectl shell/)
  const ok = judgeRuntime({ dir: dir({ path: '/run/user/1000/skiff', fsType: 'tmpfs' }), xdgRuntimeDir: '/run/user/1000', xdgOwned: true }, ctx)
  assert.equal([ok.status, ok.value], ['ok', '/run/user/1000/skiff (tmpfs)'])
  // the fallback in $TMPDIR made first by someone else: skiff works around it, and says so
  const squatted = judgeRuntime({ dir: dir({ path: '/tmp/skiff-run-1000', owner: 1001 }), xdgOwned: false, inTmp: true, unsafe: 'it belongs to uid 1001, mode 0777', replacement: '/tmp/skiff-run-1000-abc123' }, ctx)
  assert.is(squatted.status, 'warning')
  assert.match(squatted.value, /not safe to use \(it belongs to uid 1001, mode 0777, .*\); skiff uses \/tmp\/skiff-run-1000-abc123 instead/)
  assert.match(squatted.fix!, /SKIFF_RUNROOT/)
  // a SKIFF_RUNROOT that is not safe: an error, as every command that needs it fails
  const chosen = judgeRuntime({ dir: dir({ path: '/x/run', owner: 1001 }), xdgOwned: false, unsafe: 'it belongs to uid 1001, mode 0755' }, { ...ctx, env: { SKIFF_RUNROOT: '/x/run' } })
  assert.is(chosen.status, 'error')
})

test('judgeCache: noexec stops the shim', () => {
  assert.is(judgeCache(dir({ path: '/home/ann/.cache/skiff' }), ctx).status, 'ok')
  const item = judgeCache(dir({ path: '/home/ann/.cache/skiff', mountOptions: ['rw', 'nosuid', 'noexec'] }), ctx)
  assert.is(item.status, 'error')
  assert.match(item.fix!, /XDG_CACHE_HOME/)
})

test('judgeOverlay and judgeFuseOverlayfs: by kernel version', () => {
  const newK = { kernelRelease: '6.1.0-18-amd64' }
  const oldK = { kernelRelease: '4.18.0-553.el8_10.x86_64' }
  assert.equal([judgeOverlay({ overlayListed: true }, newK).status, judgeOverlay({ overlayListed: true }, newK).value], ['ok', 'kernel supports it (>= 5.11)'])
  const old = judgeOverlay({ overlayListed: true }, oldK)
  assert.is(old.status, 'warning')
  assert.match(old.value, /^unknown: kernel 4\.18\.0.* older than 5\.11/)
  assert.match(old.fix!, /fuse-overlayfs/)
  assert.is(judgeFuseOverlayfs({}, newK).status, 'ok')
  assert.match(judgeFuseOverlayfs({}, newK).value, /not needed/)
  assert.is(judgeFuseOverlayfs({}, oldK).status, 'warning')
  assert.is(judgeFuseOverlayfs({ fuseOverlayfs: { path: '/usr/bin/fuse-overlayfs', version: '1.10' } }, oldK).value, '/usr/bin/fuse-overlayfs (1.10)')
})

test('judgeDevFuse: a problem only where fuse-overlayfs is in play', () => {
  const closed = { path: '/dev/fuse', exists: true, mode: '0600', usable: false, error: 'EACCES' }
  const newK = { kernelRelease: '6.1.0' }
  assert.is(judgeDevFuse({ devFuse: closed }, newK).status, 'ok')
  const item = judgeDevFuse({ devFuse: closed, fuseOverlayfs: { path: '/usr/bin/fuse-overlayfs' } }, newK)
  assert.is(item.status, 'warning')
  assert.is(item.value, '0600, cannot open (EACCES): fuse-overlayfs cannot work')
  assert.match(item.fix!, /chmod 0666 \/dev\/fuse/)
})

test.run()

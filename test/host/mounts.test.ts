import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mountFor, parseMountinfo, unescapeMountPath, type MountEntry } from '../../core/host/mounts.js'

test('parseMountinfo: fields, optional fields, escapes', () => {
  const text = [
    // proc(5)'s example: one optional field
    '36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue',
    // no optional field
    '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate',
    // several optional fields, a space and a backslash in the mount point
    '50 36 0:45 / /home/ann/My\\040Files\\134x rw,nosuid,nodev shared:7 master:3 propagate_from:2 - fuse.sshfs ann@host:/ rw,user_id=1000',
    // a source with a space, and no super options at all
    '60 36 0:50 / /mnt/n rw - nfs4 srv:/export\\040dir',
    '',
    'garbage line',
  ].join('\n')
  const m = parseMountinfo(text)
  assert.is(m.length, 4)
  assert.equal(m[0], {
    id: 36, parentId: 35, device: '98:0', root: '/mnt1', mountPoint: '/mnt/parent', options: ['rw', 'noatime'],
    fstype: 'ext3', source: '/dev/root', superOptions: ['rw', 'errors=continue'],
  })
  assert.is(m[1]!.fstype, 'cgroup2')
  assert.equal(m[1]!.superOptions, ['rw', 'nsdelegate'])
  assert.is(m[2]!.mountPoint, '/home/ann/My Files\\x')
  assert.is(m[2]!.fstype, 'fuse.sshfs')
  assert.equal(m[2]!.options, ['rw', 'nosuid', 'nodev'])
  assert.is(m[3]!.source, 'srv:/export dir')
  assert.equal(m[3]!.superOptions, [])
})

test('unescapeMountPath', () => {
  assert.is(unescapeMountPath('a\\040b\\011c\\012d\\134e'), 'a b\tc\nd\\e')
  assert.is(unescapeMountPath('plain'), 'plain')
})

function mp(mountPoint: string, fstype = 'ext4'): MountEntry {
  return { id: 0, parentId: 0, device: '0:0', root: '/', mountPoint, options: ['rw'], fstype, source: 'x', superOptions: [] }
}

test('mountFor: longest prefix, whole components, the top of a stack', () => {
  const mounts = [mp('/'), mp('/home', 'nfs4'), mp('/home/ann/scratch', 'lustre'), mp('/tmp', 'ext4'), mp('/tmp', 'tmpfs')]
  assert.is(mountFor('/home/ann/x', mounts)!.fstype, 'nfs4')
  assert.is(mountFor('/home', mounts)!.fstype, 'nfs4')
  assert.is(mountFor('/home/ann/scratch/a/b', mounts)!.fstype, 'lustre')
  assert.is(mountFor('/homework', mounts)!.mountPoint, '/')
  assert.is(mountFor('/tmp/x', mounts)!.fstype, 'tmpfs')
  assert.is(mountFor('/x', []), undefined)
})

test.run()

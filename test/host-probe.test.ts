import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { atLeast, fsTypeName, kernelVersion, parseMountinfo, parseProcCgroup, probeHost } from '../core/host-probe.js'
import { parseSubidFile } from '../core/subid.js'
import { mappedIdLimit } from '../core/storage-jobs.js'

test('kernel versions', () => {
  assert.equal(kernelVersion('6.18.44-fc-v669'), [6, 18])
  assert.ok(atLeast([5, 11], 5, 11))
  assert.not.ok(atLeast([4, 18], 5, 11))
})

test('mountinfo and /proc/self/cgroup', () => {
  const mi = '30 1 0:26 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n31 1 0:27 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n'
  assert.equal(parseMountinfo(mi).map((m) => [m.mountPoint, m.fstype]), [['/sys/fs/cgroup/unified', 'cgroup2'], ['/sys/fs/cgroup/cpu', 'cgroup']])
  assert.equal(parseProcCgroup('12:cpu,cpuacct:/\n1:name=systemd:/user\n0::/user.slice/u.scope\n'), { v2Path: '/user.slice/u.scope', v1Controllers: ['cpu', 'cpuacct'] })
})

test('filesystem magic numbers', () => {
  assert.is(fsTypeName(0x6969), 'nfs')
  assert.is(fsTypeName(0xef53), 'ext4')
  assert.is(fsTypeName(0x12345), '0x12345')
})

test('subordinate id files: by name or uid, comments, several ranges', () => {
  const text = '# c\nann:100000:65536\n1000:300000:10\nbob:200000:65536\nann:bad:1\n'
  assert.equal(parseSubidFile(text, 'ann', 1000), [{ start: 100000, count: 65536 }, { start: 300000, count: 10 }])
  assert.equal(parseSubidFile(text, 'carl', 2000), [])
})

test('mapped id limit: contiguous from 0', () => {
  assert.is(mappedIdLimit('0 1000 1\n1 100000 65536\n', '0 1000 1\n1 100000 65536\n'), 65537)
  assert.is(mappedIdLimit('0 1000 1\n', '0 1000 1\n1 5 10\n'), 1)
})

test('the probe runs here and names every item', () => {
  const items = probeHost()
  for (const name of ['kernel', 'user namespaces', 'subordinate ids', 'newuidmap/newgidmap', 'cgroups', 'storage', 'pasta', 'slirp4netns']) {
    assert.ok(items.some((i) => i.name === name), name)
  }
  for (const i of items) if (i.status !== 'ok') assert.ok(i.fix, `${i.name} has no fix`)
})

test.run()

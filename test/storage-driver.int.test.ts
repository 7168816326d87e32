// The three storage drivers for real: kernel overlay, fuse-overlayfs and copy give every container
// the image as its layers say (whiteouts, opaque directories, owners) and a writable layer of its own.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { busyboxArchive, need, probe, useSandbox, type Sandbox } from './helpers/env.js'

const drivers = suite('storage drivers')
const sb = useSandbox(drivers)

function load(s: Sandbox): void {
  const r = s.run(['load', '-q', '-i', busyboxArchive('docker')])
  assert.is(r.status, 0, r.describe())
}

const VIEW = 'ls /etc/removed-later 2>&1 | grep -c "No such"; ls /opt/old; cat /etc/layer2; stat -c "%u %g %a" /home/app/hello.txt /home/app/data'

for (const driver of ['overlay', 'fuse-overlayfs', 'copy'] as const) {
  drivers(`${driver}: the image as its layers say, and writes that stay in the container`, () => {
    const checks = [probe.skiff(), probe.rootless(), probe.busybox()]
    if (driver === 'fuse-overlayfs') checks.push(probe.command('fuse-overlayfs', 'fuse-overlayfs'), probe.device('/dev/fuse'))
    if (!need(`storage driver ${driver}`, ...checks)) return
    load(sb)
    const a = sb.run(['run', '--name', 'ctr-a', '--storage-driver', driver, 'busybox', 'sh', '-c', `${VIEW}; echo mine > /etc/layer2; rm /bin/cat; echo a > /only-a`])
    assert.is(a.status, 0, a.describe())
    assert.is(a.stdout, '1\nnew\nfrom layer 2\n1000 1000 644\n1000 1000 700\n')
    const b = sb.run(['run', '--rm', '--storage-driver', driver, 'busybox', 'sh', '-c', `${VIEW}; ls /only-a 2>&1 | grep -c "No such"`])
    assert.is(b.stdout, '1\nnew\nfrom layer 2\n1000 1000 644\n1000 1000 700\n1\n', 'b sees the image, not a\'s changes')
    const inspect = JSON.parse(sb.run(['inspect', 'ctr-a']).stdout)[0]
    assert.is(inspect.Driver, driver)
    // a's changes are kept while it is stopped (read through its root filesystem by cp)
    const tar = sb.run(['cp', 'ctr-a:/only-a', '-'])
    assert.is(tar.status, 0, tar.describe())
    assert.match(tar.stdout, /^only-a\0[\s\S]*\0a\n/)
    assert.match(sb.run(['cp', 'ctr-a:/bin/cat', '-']).stderr, /No such file|ENOENT|no such file/i)
    assert.is(sb.run(['rm', 'ctr-a']).status, 0)
  })
}

drivers('overlay: a --rm container is mounted volatile (its end syncs no filesystem), and still takes a cp before its one run', () => {
  if (!need('volatile overlay', probe.skiff(), probe.rootless(), probe.busybox())) return
  load(sb)
  const rootMount = ['sh', '-c', 'grep " / / " /proc/self/mountinfo']
  const once = sb.run(['run', '--rm', '--storage-driver', 'overlay', 'busybox', ...rootMount])
  assert.is(once.status, 0, once.describe())
  assert.match(once.stdout, / - overlay overlay .*\bvolatile\b/, once.stdout)
  const kept = sb.run(['run', '--name', 'kept', '--storage-driver', 'overlay', 'busybox', ...rootMount])
  assert.is(kept.status, 0, kept.describe())
  assert.match(kept.stdout, / - overlay overlay /)
  assert.not.match(kept.stdout, /volatile/, 'a kept container\'s changes are synced as any file')
  assert.is(sb.run(['rm', 'kept']).status, 0)
  // cp into a created --rm container mounts its root filesystem before its run: not volatile,
  // or the kernel would refuse the run's own mount afterwards
  const note = join(sb.dir, 'note')
  writeFileSync(note, 'from the host\n')
  assert.is(sb.run(['create', '--rm', '--name', 'once', '--storage-driver', 'overlay', 'busybox', 'cat', '/note']).status, 0)
  const cp = sb.run(['cp', note, 'once:/note'])
  assert.is(cp.status, 0, cp.describe())
  const start = sb.run(['start', '-a', 'once'])
  assert.is(start.status, 0, start.describe())
  assert.is(start.stdout, 'from the host\n')
  assert.match(sb.run(['inspect', 'once']).stderr, /No such object: once/, 'removed after its run')
})

drivers('an unknown or missing driver is a clear error', () => {
  if (!need('driver errors', probe.skiff(), probe.rootless(), probe.busybox())) return
  load(sb)
  const r = sb.run(['run', '--rm', '--storage-driver', 'zfs', 'busybox', 'true'])
  assert.is(r.status, 125)
  assert.match(r.stderr, /unknown storage driver "zfs" \(from --storage-driver\)\n  hint: use one of overlay, fuse-overlayfs, copy/)
  const env = sb.run(['run', '--rm', 'busybox', 'true'], { env: { SKIFF_STORAGE_DRIVER: 'btrfs' } })
  assert.match(env.stderr, /from SKIFF_STORAGE_DRIVER/)
})

drivers.run()

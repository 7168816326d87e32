// Defects issue 21 found with scripts written for Docker and Podman, each as it was met.
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { buildImage, defaultLayers } from './fixtures/image.js'
import { busyboxArchive, need, probe, tempDir, useSandbox } from './helpers/env.js'

const t = suite('cli defects')
const sb = useSandbox(t)

function ready(what: string): boolean {
  if (!need(what, probe.skiff(), probe.rootless(), probe.busybox())) return false
  assert.is(sb.run(['load', '-q', '-i', busyboxArchive('docker')]).status, 0)
  return true
}

t('cp - CONTAINER:DIR takes a gzip or zstd tar on stdin; bzip2 is a clear error, not silence', () => {
  if (!ready('cp compressed') || !need('zstd', probe.command('zstd'))) return
  assert.is(sb.run(['run', '-d', '--name', 'box', 'busybox', 'sleep', '60']).status, 0)
  try {
    const src = tempDir()
    mkdirSync(join(src, 'd'))
    writeFileSync(join(src, 'd', 'f'), 'compressed\n')
    const tar = execFileSync('tar', ['-C', src, '-cf', '-', 'd'])
    const gz = execFileSync('gzip', ['-c'], { input: tar })
    const zst = execFileSync('zstd', ['-q', '-c'], { input: tar })
    for (const [input, dir] of [[gz, '/gz'], [zst, '/zst'], [tar, '/plain']] as const) {
      assert.is(sb.run(['exec', 'box', 'mkdir', '-p', dir]).status, 0)
      const r = sb.run(['cp', '-', `box:${dir}`], { input })
      assert.is(r.status, 0, r.describe())
      assert.is(sb.run(['exec', 'box', 'cat', `${dir}/d/f`]).stdout, 'compressed\n')
    }
    const bz = sb.run(['cp', '-', 'box:/tmp'], { input: Buffer.concat([Buffer.from('BZh91AY&SY'), Buffer.alloc(100)]) })
    assert.is(bz.status, 125)
    assert.match(bz.stderr, /^Error: the archive on stdin is compressed with bzip2, which skiff does not read/)
    const broken = sb.run(['cp', '-', 'box:/tmp'], { input: Buffer.concat([gz.subarray(0, 20), Buffer.alloc(50, 7)]) })
    assert.is(broken.status, 125, broken.describe())
    assert.match(broken.stderr, /^Error: cannot read the archive on stdin: /)
  } finally {
    sb.run(['rm', '-f', 'box'])
  }
})

t('--memory=0 and friends mean no limit; --entrypoint takes Docker\'s JSON form; the same bind twice is one', () => {
  if (!ready('options')) return
  // this host cannot enforce limits (hybrid cgroups): a 0 that meant a limit would be refused
  const zero = sb.run(['run', '--rm', '--memory=0', '--memory-swap=0', '--cpus=0', '--pids-limit=0', 'busybox', 'true'])
  assert.is(zero.status, 0, zero.describe())
  assert.is(sb.run(['run', '--rm', '--entrypoint', '["/bin/echo","from","json"]', 'busybox']).stdout, 'from json\n')
  assert.is(sb.run(['run', '--rm', '--entrypoint', '["/bin/echo","x"]', 'busybox', 'and', 'cmd']).stdout, 'x and cmd\n')
  assert.is(sb.run(['run', '--rm', '--entrypoint', '/bin/echo', 'busybox', 'plain']).stdout, 'plain\n')
  const dir = join(sb.tmp, 'shared')
  mkdirSync(dir)
  writeFileSync(join(dir, 'f'), 'once\n')
  const twice = sb.run(['run', '--rm', '-v', `${dir}:/x`, '-v', `${dir}:/x`, 'busybox', 'cat', '/x/f'])
  assert.is(twice.stdout, 'once\n', twice.describe())
  assert.match(sb.run(['run', '--rm', '-v', `${dir}:/x`, '-v', `${dir}:/x:ro`, 'busybox', 'true']).stderr, /two mounts on \/x/)
})

t('-p with --network=host warns and goes on; rm of a container another one shares the network of is refused without -f', () => {
  if (!ready('network')) return
  const host = sb.run(['run', '--rm', '--network=host', '-p', '8080:80', 'busybox', 'echo', 'ran'])
  assert.is(host.status, 0, host.describe())
  assert.is(host.stdout, 'ran\n')
  assert.match(host.stderr, /warning: published ports are discarded with --network=host/)
  assert.is(sb.run(['run', '-d', '--name', 'owner', '--network=none', 'busybox', 'sleep', '60']).status, 0)
  assert.is(sb.run(['run', '-d', '--name', 'guest', '--network=container:owner', 'busybox', 'sleep', '60']).status, 0)
  try {
    assert.is(sb.run(['stop', '-t', '0', 'owner']).status, 0)
    const refused = sb.run(['rm', 'owner'])
    assert.is(refused.status, 125, refused.describe())
    assert.match(refused.stderr, /^Error: container owner has dependents: guest uses its network \(--network container:owner\)/)
    // prune leaves it too while guest runs
    assert.is(sb.run(['container', 'prune', '-f']).stdout, '')
    assert.is(sb.run(['rm', '-f', 'owner']).status, 0)
  } finally {
    sb.run(['rm', '-f', 'guest', 'owner'])
  }
})

t('a container knows it is one (/run/.containerenv, $container), id shows the image\'s groups, --help lists each verb once', () => {
  if (!ready('container env')) return
  const r = sb.run(['run', '--rm', '--name', 'knows', 'busybox', 'sh', '-c', 'cat /run/.containerenv; echo "container=$container"'])
  assert.is(r.status, 0, r.describe())
  assert.match(r.stdout, /^engine="skiff-[^"]+"\nname="knows"\nid="[0-9a-f]{64}"\nimage="busybox"\nimageid="[0-9a-f]{64}"\nrootless=1\ncontainer=oci\n$/)
  // not a change of the container's own (skiff made /run for it)
  assert.is(sb.run(['run', '--name', 'quiet', 'busybox', 'true']).status, 0)
  assert.not.match(sb.run(['diff', 'quiet']).stdout, /\/run/)
  assert.is(sb.run(['rm', 'quiet']).status, 0)
  // an image whose /etc/group lists root in its groups: id shows them all, 0 first
  const dir = tempDir()
  const img = buildImage({
    out: join(dir, 'groups.tar'),
    tags: ['groups:1'],
    layers: [...defaultLayers(), [{ type: 'file', path: '/etc/group', mode: 0o644, content: 'root:x:0:root\nbin:x:1:root,bin\nwheel:x:10:root\n' }]],
  })
  assert.is(sb.run(['load', '-q', '-i', img]).status, 0)
  assert.is(sb.run(['run', '--rm', 'groups:1', 'id', '-G']).stdout, '0 1 10\n')
  const help = sb.run(['--help']).stdout.split('\n').map((l) => l.trim().split(/\s+/)[0]).filter(Boolean)
  assert.equal(help.filter((v, i) => help.indexOf(v) !== i), [], 'no verb listed twice')
})

t.run()

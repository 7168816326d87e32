// --format as scripts written for Docker use it, on the real executable: ps, images, inspect -f,
// volume ls/inspect, version and info, and an unknown field refused with the fields there are.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { busyboxArchive, need, probe, useSandbox } from './helpers/env.js'

const t = suite('format')
const sb = useSandbox(t)

t('ps, images, inspect -f, volume, version and info take Go templates as Docker does', () => {
  if (!need('--format', probe.skiff(), probe.rootless(), probe.busybox())) return
  assert.is(sb.run(['load', '-q', '-i', busyboxArchive('docker')]).status, 0)
  assert.is(sb.run(['volume', 'create', 'data']).status, 0)
  const r = sb.run(['run', '-d', '--name', 'web', '-v', 'data:/data', 'busybox', 'sleep', '60'])
  assert.is(r.status, 0, r.describe())
  const id = r.stdout.trim()
  try {
    assert.is(sb.run(['ps', '--format', '{{.Names}} {{.State}} {{.ID}}']).stdout, `web running ${id.slice(0, 12)}\n`)
    assert.is(sb.run(['ps', '--no-trunc', '--format', '{{.ID}}']).stdout, `${id}\n`)
    const table = sb.run(['ps', '--format', 'table {{.Names}}\\t{{.Mounts}}\\t{{.Networks}}']).stdout
    assert.match(table, /^NAMES\s{5,}MOUNTS\s{4,}NETWORKS\nweb\s+data\s+pasta\n$|^NAMES\s{5,}MOUNTS\s{4,}NETWORKS\nweb\s+data\s+slirp4netns\n$/)
    // the most common line of all: the container's pid, its address, its env as Go prints it
    const pid = JSON.parse(sb.run(['inspect', 'web']).stdout)[0].State.Pid
    assert.is(sb.run(['inspect', '-f', '{{.State.Pid}}', 'web']).stdout, `${pid}\n`)
    assert.is(sb.run(['inspect', '--format', '{{.Name}} {{.State.Running}} {{range .Mounts}}{{.Name}}:{{.Destination}}{{end}}', 'web']).stdout, '/web true data:/data\n')
    assert.match(sb.run(['inspect', '-f', '{{.Config.Env}}', 'web']).stdout, /^\[PATH=\S+ HOSTNAME=\S+ container=oci HOME=\/root\]\n$/)
    assert.is(sb.run(['inspect', '-f', '{{.Id}}', 'web', 'busybox']).stdout.split('\n').length, 3)
    assert.is(sb.run(['images', '--format', '{{.Repository}}:{{.Tag}}']).stdout, 'busybox:latest\n')
    assert.match(sb.run(['images', '--format', 'table']).stdout, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\nbusybox\s+latest\s+[0-9a-f]{12}\s/)
    assert.is(sb.run(['volume', 'ls', '--format', '{{.Name}} {{.Driver}}']).stdout, 'data local\n')
    assert.is(sb.run(['volume', 'inspect', '--format', '{{.Name}}:{{.Driver}}', 'data']).stdout, 'data:local\n')
    assert.match(sb.run(['version', '--format', '{{.Client.Version}}']).stdout, /^\d+\.\d+\.\d+/)
    assert.match(sb.run(['info', '--format', '{{.Status}}']).stdout, /^(ready|not ready|degraded|[a-z ]+)\n$/)
    // an unknown field: exit 125, one line naming it and the fields there are, nothing printed
    const bad = sb.run(['ps', '-a', '--format', '{{.Nmes}}'])
    assert.is(bad.status, 125, bad.describe())
    assert.is(bad.stdout, '')
    assert.match(bad.stderr, /^Error: template: executing at <\.Nmes>: can't evaluate field Nmes; the fields here are ID, Image, .*Names/)
    const badInspect = sb.run(['inspect', '-f', '{{.State.Pidd}}', 'web'])
    assert.is(badInspect.status, 125)
    assert.match(badInspect.stderr, /can't evaluate field Pidd; the fields here are Status, Running, .*Pid/)
    assert.is(sb.run(['inspect', '-f', '{{if', 'web']).status, 125)
  } finally {
    sb.run(['rm', '-f', 'web'])
  }
})

t('--filter on ps, images and volume ls, combined as Docker combines them', () => {
  if (!need('--filter', probe.skiff(), probe.rootless(), probe.busybox())) return
  assert.is(sb.run(['load', '-q', '-i', busyboxArchive('docker')]).status, 0)
  assert.is(sb.run(['tag', 'busybox', 'example.org/team/tool:2']).status, 0)
  assert.is(sb.run(['volume', 'create', 'used']).status, 0)
  assert.is(sb.run(['volume', 'create', '--label', 'keep=yes', 'spare']).status, 0)
  assert.is(sb.run(['run', '-d', '--name', 'up', '-v', 'used:/u', '-p', '127.0.0.1::80', 'busybox', 'sleep', '60']).status, 0)
  assert.is(sb.run(['run', '--name', 'done', 'busybox', 'sh', '-c', 'exit 3']).status, 3)
  try {
    const names = (...args: string[]) => sb.run(['ps', ...args, '--format', '{{.Names}}']).stdout.trim().split('\n').filter(Boolean).sort()
    assert.equal(names(), ['up'])
    // a status filter looks at every container, running or not
    assert.equal(names('--filter', 'status=exited'), ['done'])
    assert.equal(names('-f', 'status=exited', '-f', 'status=running'), ['done', 'up'])
    assert.equal(names('-a', '--filter', 'exited=3'), ['done'])
    assert.equal(names('-a', '--filter', 'name=^d'), ['done'])
    assert.equal(names('-a', '--filter', 'volume=used'), ['up'])
    assert.equal(names('-a', '--filter', 'ancestor=busybox'), ['done', 'up'])
    assert.equal(names('-a', '--filter', 'since=up'), ['done'])
    assert.equal(names('-a', '--filter', 'expose=80'), ['up'])
    assert.equal(names('-a', '--filter', 'status=running', '--filter', 'name=done'), [])
    const bad = sb.run(['ps', '--filter', 'colour=red'])
    assert.is(bad.status, 125)
    assert.match(bad.stderr, /^Error: --filter "colour=red": ps has no filter "colour"\n  hint: ps filters on id, name, label, status/)
    // images: a REPOSITORY[:TAG] argument and the reference filter show only the names that match
    assert.is(sb.run(['images', '--format', '{{.Repository}}:{{.Tag}}', 'example.org/team/tool']).stdout, 'example.org/team/tool:2\n')
    assert.is(sb.run(['images', '--format', '{{.Repository}}', '--filter', 'reference=busy*']).stdout, 'busybox\n')
    assert.is(sb.run(['images', '-q', '--filter', 'dangling=true']).stdout, '')
    // volume ls: dangling (no container uses it), label, name
    assert.is(sb.run(['volume', 'ls', '-q', '--filter', 'dangling=true']).stdout, 'spare\n')
    assert.is(sb.run(['volume', 'ls', '-q', '--filter', 'label=keep=yes']).stdout, 'spare\n')
    assert.is(sb.run(['volume', 'ls', '-q', '--filter', 'name=us']).stdout, 'used\n')
  } finally {
    sb.run(['rm', '-f', 'up', 'done'])
  }
})

t.run()

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
    assert.match(sb.run(['inspect', '-f', '{{.Config.Env}}', 'web']).stdout, /^\[PATH=\S+ HOSTNAME=\S+ HOME=\/root\]\n$/)
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

t.run()

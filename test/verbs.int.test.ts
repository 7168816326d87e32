// Flags and verbs scripts written for Docker and Podman use (issue 21): labels, --cidfile,
// --log-driver, --tz, --dns-opt, global options, rename, history, exists, wait --condition,
// rm -a/-t, start --all, rmi -a and the prunes.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { busyboxArchive, need, probe, skiffBin, useSandbox } from './helpers/env.js'

const t = suite('verbs')
const sb = useSandbox(t)

function ready(what: string): boolean {
  if (!need(what, probe.skiff(), probe.rootless(), probe.busybox())) return false
  assert.is(sb.run(['load', '-q', '-i', busyboxArchive('docker')]).status, 0)
  return true
}

t('run flags: --label and --label-file, --cidfile, --log-driver, --tz, --dns-opt; --sig-proxy=false is refused', () => {
  if (!ready('run flags')) return
  const labels = join(sb.tmp, 'labels')
  writeFileSync(labels, '# labels\nfrom=file\nboth=file\n')
  const cid = join(sb.tmp, 'cid')
  const r = sb.run(['run', '-d', '--name', 'lab', '--label-file', labels, '-l', 'both=flag', '--label', 'bare', '--cidfile', cid, '--log-driver', 'none', 'busybox', 'sh', '-c', 'echo lost; sleep 60'])
  assert.is(r.status, 0, r.describe())
  try {
    assert.is(readFileSync(cid, 'utf8'), r.stdout.trim())
    assert.equal(JSON.parse(sb.run(['inspect', '-f', '{{json .Config.Labels}}', 'lab']).stdout), { both: 'flag', bare: '', from: 'file' })
    assert.is(sb.run(['ps', '--filter', 'label=from=file', '--format', '{{.Names}} {{.Label "both"}}']).stdout, 'lab flag\n')
    assert.is(sb.run(['inspect', '-f', '{{.HostConfig.LogConfig.Type}}', 'lab']).stdout, 'none\n')
    const logs = sb.run(['logs', 'lab'])
    assert.is(logs.status, 125)
    assert.match(logs.stderr, /keeps no logs \(--log-driver none\)/)
    // the id file is never overwritten: it may be another container's
    const again = sb.run(['run', '--rm', '--cidfile', cid, 'busybox', 'true'])
    assert.is(again.status, 125)
    assert.match(again.stderr, /--cidfile .*: the file exists/)
  } finally {
    sb.run(['rm', '-f', 'lab'])
  }
  assert.is(sb.run(['run', '--rm', '--log-driver', 'json-file', 'busybox', 'true']).status, 0)
  assert.match(sb.run(['run', '--rm', '--log-driver', 'syslog', 'busybox', 'true']).stderr, /skiff has k8s-file .*none and passthrough/)
  if (existsSync('/usr/share/zoneinfo/Europe/Paris')) {
    assert.match(sb.run(['run', '--rm', '--tz', 'Europe/Paris', 'busybox', 'date', '+%Z']).stdout, /^CES?T\n$/)
  }
  assert.match(sb.run(['run', '--rm', '--tz', 'Nowhere/Atlantis', 'busybox', 'true']).stderr, /no such time zone/)
  assert.match(sb.run(['run', '--rm', '--dns-opt', 'ndots:3', 'busybox', 'cat', '/etc/resolv.conf']).stdout, /options ndots:3/)
  assert.is(sb.run(['run', '--rm', '--userns=host', 'busybox', 'true']).status, 0)
  // keep-id with subordinate ranges: the user's own ids inside; the image's other owners kept
  const uid = process.getuid!()
  const keep = sb.run(['run', '--rm', '--userns=keep-id', 'busybox', 'sh', '-c', 'id -u; id -g; whoami; stat -c %u /home/app; stat -c %u /bin/busybox'])
  assert.is(keep.status, 0, keep.stderr)
  const [kUid, kGid, kName, appOwner, rootOwner] = keep.stdout.trim().split('\n')
  assert.equal([Number(kUid), Number(kGid)], [uid, process.getgid!()], keep.stdout)
  assert.ok(kName && kName !== 'root', `a name for the user: ${kName}`)
  assert.is(appOwner, uid === 1000 ? '0' : '1000', 'files of the image\'s uid 1000 keep their owner (unless 1000 is the user)')
  assert.is(Number(rootOwner), uid, 'root-owned files show as the user (the image was unpacked with the user as root)')
  const auto = sb.run(['run', '--rm', '--userns=auto', 'busybox', 'true'])
  assert.is(auto.status, 125)
  assert.match(auto.stderr, /^Error: --userns=auto: expected host or keep-id/)
  const proxy = sb.run(['run', '--rm', '--sig-proxy=false', 'busybox', 'true'])
  assert.is(proxy.status, 125)
  assert.match(proxy.stderr, /--sig-proxy=false cannot be honoured/)
})

t('global options before the verb: --root, --log-level', () => {
  if (!ready('global options')) return
  const other = join(sb.tmp, 'other-root')
  assert.is(sb.run(['--root', other, 'images', '-q']).stdout, '')
  assert.is(sb.run(['--root=' + other, '--log-level', 'debug', 'load', '-q', '-i', busyboxArchive('docker')]).status, 0)
  assert.is(sb.run(['--root', other, 'images', '--format', '{{.Repository}}']).stdout, 'busybox\n')
  assert.is(sb.run(['--log-level', 'loud', 'ps']).status, 125)
})

t('rename, history, exists, wait --condition', () => {
  if (!ready('verbs')) return
  assert.is(sb.run(['run', '-d', '--name', 'first', 'busybox', 'sleep', '60']).status, 0)
  try {
    assert.is(sb.run(['rename', 'first', 'second']).status, 0)
    assert.is(sb.run(['ps', '--format', '{{.Names}}']).stdout, 'second\n')
    assert.is(sb.run(['container', 'exists', 'second']).status, 0)
    assert.is(sb.run(['container', 'exists', 'first']).status, 1)
    // the old name is free again; the new one is taken
    assert.is(sb.run(['create', '--name', 'first', 'busybox', 'true']).status, 0)
    assert.match(sb.run(['rename', 'first', 'second']).stderr, /already in use/)
    assert.is(sb.run(['wait', '--condition', 'running', 'second']).stdout, '-1\n')
    assert.is(sb.run(['kill', 'second']).status, 0)
    assert.is(sb.run(['wait', '--condition', 'stopped', 'second']).stdout, '137\n')
  } finally {
    sb.run(['rm', '-f', 'second', 'first'])
  }
  // ps -l / -n: the containers created last, running or not; exec --env-file as run's
  assert.is(sb.run(['create', '--name', 'older', 'busybox', 'true']).status, 0)
  assert.is(sb.run(['create', '--name', 'newest', 'busybox', 'true']).status, 0)
  assert.is(sb.run(['ps', '-l', '--format', '{{.Names}}']).stdout, 'newest\n')
  assert.is(sb.run(['ps', '-n', '2', '--format', '{{.Names}}']).stdout, 'newest\nolder\n')
  assert.is(sb.run(['ps', '-lq']).stdout.trim().length, 12)
  assert.is(sb.run(['rm', 'newest', 'older']).status, 0)
  assert.is(sb.run(['run', '-d', '--name', 'envd', 'busybox', 'sleep', '60']).status, 0)
  const envFile = join(sb.tmp, 'exec.env')
  writeFileSync(envFile, 'FROM_FILE=yes\n')
  assert.is(sb.run(['exec', '--env-file', envFile, 'envd', 'sh', '-c', 'echo $FROM_FILE']).stdout, 'yes\n')
  assert.match(sb.run(['exec', '--env-file', '/dev/zero', 'envd', 'true']).stderr, /it is a device/)
  assert.is(sb.run(['rm', '-f', 'envd']).status, 0)
  assert.is(sb.run(['image', 'exists', 'busybox']).status, 0)
  assert.is(sb.run(['image', 'exists', 'nosuch']).status, 1)
  assert.is(sb.run(['volume', 'create', 'v1']).status, 0)
  assert.is(sb.run(['volume', 'exists', 'v1']).status, 0)
  assert.is(sb.run(['volume', 'exists', 'v2']).status, 1)
  const h = sb.run(['history', 'busybox'])
  assert.is(h.status, 0, h.describe())
  assert.match(h.stdout, /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT\n[0-9a-f]{12}\s/)
  assert.is(sb.run(['history', '-q', 'busybox']).stdout.split('\n')[0]!.length, 12)
  assert.is(sb.run(['image', 'history', 'busybox']).stdout, h.stdout)
})

t('rm -a and -t, start --all, rmi -a, and the prunes', () => {
  if (!ready('bulk verbs')) return
  assert.is(sb.run(['create', '--name', 'c1', 'busybox', 'true']).status, 0)
  assert.is(sb.run(['create', '--name', 'c2', 'busybox', 'sleep', '60']).status, 0)
  assert.is(sb.run(['start', '--all']).status, 0)
  assert.match(sb.run(['ps', '--format', '{{.Names}}']).stdout, /c2/)
  // rm -a without -f leaves the running one
  const rmAll = sb.run(['rm', '-a'])
  assert.is(rmAll.status, 0, rmAll.describe())
  assert.is(sb.run(['ps', '-a', '--format', '{{.Names}}']).stdout, 'c2\n')
  const rmT = sb.run(['rm', '-f', '-t', '1', 'c2'])
  assert.is(rmT.status, 0, rmT.describe())
  assert.is(sb.run(['ps', '-aq']).stdout, '')
  // system prune: stopped containers, unused images (-a), unused volumes (--volumes)
  assert.is(sb.run(['create', '--name', 'gone', '-v', 'vol:/v', 'busybox', 'true']).status, 0)
  assert.is(sb.run(['rm', 'gone']).status, 0)
  assert.is(sb.run(['create', '--name', 'stays', 'busybox', 'true']).status, 0)
  const prune = sb.run(['system', 'prune', '-a', '--volumes', '-f'])
  assert.is(prune.status, 0, prune.describe())
  assert.match(prune.stdout, /^Deleted Containers:\n[0-9a-f]{64}\n\nDeleted Volumes:\nvol\n\nDeleted Images:\nsha256:[0-9a-f]{64}\n\n$/)
  assert.is(sb.run(['images', '-q']).stdout, '')
  assert.is(sb.run(['load', '-q', '-i', busyboxArchive('docker')]).status, 0)
  assert.is(sb.run(['image', 'prune', '-f']).stdout, '')
  assert.is(sb.run(['rmi', '-a']).status, 0)
  assert.is(sb.run(['images', '-q']).stdout, '')
})

t('completion: bash completes verbs, flags and names from the store; zsh and fish scripts are made too', () => {
  if (!ready('completion') || !need('bash', probe.command('bash'))) return
  assert.is(sb.run(['create', '--name', 'compl', 'busybox', 'true']).status, 0)
  assert.is(sb.run(['volume', 'create', 'vcompl']).status, 0)
  const script = join(sb.tmp, 'skiff.bash')
  writeFileSync(script, sb.run(['completion', 'bash']).stdout)
  // the script runs COMP_WORDS[0] __complete: the executable under test, in this sandbox
  const complete = (...words: string[]) => {
    const line = `source ${script}; COMP_WORDS=(${[skiffBin, ...words].map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length}; _skiff; printf '%s\\n' "\${COMPREPLY[@]}"`
    return spawnSync('bash', ['-c', line], { env: sb.env(), encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean)
  }
  assert.ok(complete('ru').includes('run'))
  assert.ok(complete('rm', 'com').includes('compl'), complete('rm', 'com').join(' '))
  assert.ok(complete('rmi', 'busy').includes('busybox'))
  assert.ok(complete('volume', 'rm', 'vco').includes('vcompl'))
  assert.ok(complete('ps', '--fil').includes('--filter'))
  assert.match(sb.run(['completion', 'zsh']).stdout, /^#compdef skiff\n/)
  assert.match(sb.run(['completion', 'fish']).stdout, /complete -c skiff -n '__fish_seen_subcommand_from rm' -a '\(skiff __complete containers/)
  assert.is(sb.run(['completion', 'tcsh']).status, 125)
  assert.is(sb.run(['rm', 'compl']).status, 0)
})

t('events: every process\'s events in Docker\'s shape, filtered, as a template, and followed', async () => {
  if (!ready('events')) return
  assert.is(sb.run(['run', '--rm', '--name', 'ev1', 'busybox', 'sh', '-c', 'exit 2']).status, 2)
  assert.is(sb.run(['run', '-d', '--name', 'ev2', 'busybox', 'sleep', '60']).status, 0)
  assert.is(sb.run(['stop', '-t', '0', 'ev2']).status, 0)
  assert.is(sb.run(['rm', 'ev2']).status, 0)
  // -d --rm: the supervisor removes it and journals its destroy after its die
  assert.is(sb.run(['run', '-d', '--rm', '--name', 'ev4', 'busybox', 'true']).status, 0)
  for (let i = 0; i < 50 && sb.run(['container', 'exists', 'ev4']).status === 0; i++) await new Promise((r) => setTimeout(r, 100))
  await new Promise((r) => setTimeout(r, 200))
  assert.is(sb.run(['volume', 'create', 'evv']).status, 0)
  assert.is(sb.run(['tag', 'busybox', 'evtag:1']).status, 0)
  const past = sb.run(['events', '--since', '5m', '--until', '0s', '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'])
  assert.is(past.status, 0, past.describe())
  const lines = past.stdout.trim().split('\n')
  // ev1: create, start, die (written by its supervisor, the C shim), destroy; in that order. ev2's
  // stop: SIGTERM, which sleep as pid 1 ignores, then SIGKILL after -t 0: two kills, as Docker's
  assert.equal(lines.filter((l) => l.endsWith(' ev1')), ['container create ev1', 'container start ev1', 'container die ev1', 'container destroy ev1'])
  assert.equal(lines.filter((l) => l.endsWith(' ev4')), ['container create ev4', 'container start ev4', 'container die ev4', 'container destroy ev4'])
  assert.equal(lines.filter((l) => l.endsWith(' ev2')), ['container create ev2', 'container start ev2', 'container kill ev2', 'container kill ev2', 'container die ev2', 'container stop ev2', 'container destroy ev2'])
  assert.ok(lines.includes('volume create <no value>') || lines.some((l) => l.startsWith('volume create')), past.stdout)
  assert.ok(lines.includes('image tag docker.io/library/evtag:1'), past.stdout)
  const die = sb.run(['events', '--since', '5m', '--until', '0s', '--filter', 'event=die', '--filter', 'container=ev1', '--format', '{{.Actor.Attributes.exitCode}}'])
  assert.is(die.stdout, '2\n')
  const json = sb.run(['events', '--since', '5m', '--until', '0s', '--filter', 'type=volume', '--format', 'json'])
  assert.is(JSON.parse(json.stdout.trim()).Actor.ID, 'evv')
  assert.match(sb.run(['events', '--since', '5m', '--until', '0s', '--filter', 'type=container']).stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z container create [0-9a-f]{64} \(image=busybox, name=ev1\)\n/)
  // followed: a reader started first sees what another process does after
  const follow = sb.start(['events', '--filter', 'event=start', '--format', '{{.Actor.Attributes.name}}'], { timeout: 20_000 })
  await new Promise((r) => setTimeout(r, 700))
  assert.is(sb.run(['run', '--rm', '--name', 'ev3', 'busybox', 'true']).status, 0)
  // the reader looks every 200 ms
  await new Promise((r) => setTimeout(r, 1000))
  follow.child.kill('SIGTERM')
  const seen = await follow.done
  assert.is(seen.stdout, 'ev3\n', seen.describe())
})

t.run()

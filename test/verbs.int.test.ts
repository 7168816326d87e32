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

t.run()

// The mistakes people make, verb by verb, as the unprivileged user: each is one `Error:` line and a
// hint, Docker's status (125; 1 for an object that does not exist), never "internal error" nor a
// stack trace, and leaves nothing behind: no partial output file, the store's containers, images
// and its tmp/ as they were.
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { busyboxArchive, need, probe, useSandbox } from './helpers/env.js'

const t = suite('bad input')
const sb = useSandbox(t)

function ready(what: string): boolean {
  return need(what, probe.skiff(), probe.rootless(), probe.busybox())
}

/** What the store holds that a failed command must not change. */
function storeState(): string {
  const ls = (dir: string) => {
    try {
      return readdirSync(join(sb.root, dir)).sort().join(',')
    } catch {
      return ''
    }
  }
  return [ls('containers'), ls('images'), ls('tmp'), sb.run(['ps', '-aq']).stdout, sb.run(['images', '-q']).stdout].join('|')
}

function expectClean(args: string[], status: number, message: RegExp, input?: string): void {
  const before = storeState()
  const r = sb.run(args, { input })
  const where = `skiff ${args.join(' ')}\n${r.stderr}`
  assert.is(r.status, status, where)
  assert.match(r.stderr, /^Error: [^\n]+\n(  hint: [^\n]+\n)?$/, where)
  assert.match(r.stderr, message, where)
  assert.not.match(r.stderr, /internal error|\n\s+at /, where)
  assert.is(storeState(), before, `${where}: the store changed`)
}

t('bad flag values, missing and wrong files, missing objects: one line, status, nothing changed', () => {
  if (!ready('bad input')) return
  assert.is(sb.run(['load', '-q', '-i', busyboxArchive('docker')]).status, 0)
  assert.is(sb.run(['create', '--name', 'made', 'busybox', 'true']).status, 0)
  const dir = join(sb.home, 'files')
  mkdirSync(dir)
  writeFileSync(join(dir, 'not-an-archive.tar'), 'hello, this is text\n')
  writeFileSync(join(dir, 'exists'), 'x')
  const cases: [string[], number, RegExp][] = [
    // output paths
    [['save', '-o', '/proc/skiff-nope.tar', 'busybox'], 125, /-o \/proc\/skiff-nope\.tar: /],
    [['save', '-o', '/nonexistent/dir/x.tar', 'busybox'], 125, /the directory \/nonexistent\/dir does not exist/],
    [['save', '-o', dir, 'busybox'], 125, /it is a directory/],
    [['save', '-o', join(dir, 'x.tar'), 'nosuchimage'], 1, /No such image: nosuchimage/],
    [['export', '-o', '/nonexistent/x.tar', 'made'], 125, /does not exist/],
    [['export', '-o', join(dir, 'x.tar'), 'nosuch'], 1, /No such container: nosuch/],
    [['run', '--rm', '--cidfile', '/nonexistent/cid', 'busybox', 'true'], 125, /--cidfile \/nonexistent\/cid: /],
    [['run', '--rm', '--cidfile', join(dir, 'exists'), 'busybox', 'true'], 125, /the file exists/],
    // input files
    [['load', '-i', '/nonexistent.tar'], 125, /cannot read the archive \/nonexistent\.tar: no such file/],
    [['load', '-i', join(dir, 'not-an-archive.tar')], 125, /cannot read the archive/],
    [['load', '-i', dir], 125, /./],
    [['run', '--rm', '--env-file', '/nonexistent', 'busybox', 'true'], 125, /--env-file \/nonexistent: no such file/],
    [['run', '--rm', '--env-file', dir, 'busybox', 'true'], 125, /it is a directory/],
    [['run', '--rm', '--security-opt', `seccomp=${join(dir, 'exists')}`, 'busybox', 'true'], 125, /the profile is not JSON/],
    [['build', '-f', '/nonexistent', dir], 125, /\/nonexistent/],
    [['import', join(dir, 'not-an-archive.tar'), 'x:1'], 125, /not a tar archive/],
    [['import', '/nonexistent', 'x:1'], 125, /\/nonexistent/],
    [['cp', 'made:/etc/hostname', '/proc/x'], 125, /cannot write in \/proc/],
    [['cp', 'made:/nonexistent', join(dir, 'copy')], 125, /cannot copy \/nonexistent in the container/],
    [['port', 'made', '81'], 1, /No public port '81\/tcp' published for made/],
    // flag values
    [['run', '--rm', '-w', 'relative/dir', 'busybox', 'true'], 125, /must be an absolute path/],
    [['exec', '-w', 'relative', 'made', 'true'], 125, /must be an absolute path/],
    [['run', '--rm', '--stop-signal', 'SIGFOO', 'busybox', 'true'], 125, /unknown signal "SIGFOO"/],
    [['create', '--stop-signal', '99', 'busybox', 'true'], 125, /unknown signal "99"/],
    [['kill', '-s', 'NOPE', 'made'], 125, /unknown signal "NOPE"/],
    [['tag', 'busybox', 'UPPER/bad:tag'], 125, /must be lowercase/],
    [['tag', 'busybox', 'Bad:tag'], 125, /invalid image reference/],
    [['tag', 'busybox', 'ok:bad tag'], 125, /invalid image reference/],
    [['run', '--rm', '-m', '12q', 'busybox', 'true'], 125, /--memory 12q: not a size/],
    [['run', '--rm', '-m', '-1', 'busybox', 'true'], 125, /--memory -1: not a size/],
    [['run', '--rm', '-p', '99999:80', 'busybox', 'true'], 125, /not a port/],
    [['run', '--rm', '-p', '80:80/sctp', 'busybox', 'true'], 125, /./],
    [['run', '--rm', '-v', '/tmp:relative', 'busybox', 'true'], 125, /not absolute/],
    [['run', '--rm', '--mount', 'type=nope,dst=/x', 'busybox', 'true'], 125, /type "nope"/],
    [['run', '--rm', '--name', 'bad name', 'busybox', 'true'], 125, /invalid container name/],
    [['run', '--rm', '--cpus', 'abc', 'busybox', 'true'], 125, /--cpus abc/],
    [['run', '--rm', '--stop-timeout', 'x', 'busybox', 'true'], 125, /--stop-timeout/],
    [['run', '--rm', '--restart', 'bogus', 'busybox', 'true'], 125, /--restart=bogus/],
    [['run', '--rm', '--dns', 'notanip', 'busybox', 'true'], 125, /--dns notanip: not an IP address/],
    [['run', '--rm', '--add-host', 'bad', 'busybox', 'true'], 125, /--add-host bad/],
    [['run', '--rm', '--ulimit', 'nofile=abc', 'busybox', 'true'], 125, /--ulimit nofile=abc/],
    [['run', '--rm', '--log-opt', 'max-size=abc', 'busybox', 'true'], 125, /not a size/],
    [['run', '--rm', '--platform', 'linux/s390x', '--pull', 'never', 'busybox', 'true'], 125, /not linux\/s390x/],
    [['stop', '-t', 'abc', 'made'], 125, /-t needs a number/],
    [['ps', '--filter', 'status=bogus'], 125, /not a status/],
    [['ps', '--format', '{{.Nope}}'], 125, /can't evaluate field Nope/],
    // objects that do not exist
    [['rm', 'nosuch'], 1, /No such container: nosuch/],
    [['logs', 'nosuch'], 1, /No such container/],
    [['rmi', 'nosuch'], 1, /No such image/],
    [['network', 'rm', 'nosuch'], 1, /No such network/],
    [['volume', 'rm', 'nosuch'], 1, /No such volume/],
    [['run', '--rm', '--pull', 'never', 'nosuchimage', 'true'], 125, /No such image/],
    [['create', '--name', 'made', 'busybox', 'true'], 125, /made/],
  ]
  for (const [args, status, re] of cases) expectClean(args, status, re)
  assert.equal(readdirSync(dir).sort(), ['exists', 'not-an-archive.tar'], 'no partial output files')
})

t('a store locked by another process: skiff waits for it, then does the work', () => {
  if (!ready('bad input: locked store')) return
  // flock(1) holds the store's lock for 2 s, as another skiff command would
  const holder = spawn('flock', [join(sb.root, 'lock'), 'sleep', '2'], { stdio: 'ignore' })
  spawnSync('sleep', ['0.3'])
  const r = sb.run(['load', '-q', '-i', busyboxArchive('docker')])
  holder.kill()
  assert.is(r.status, 0, r.describe())
  assert.is(sb.run(['images', '-q']).stdout.trim().split('\n').length, 1)
})

t.run()

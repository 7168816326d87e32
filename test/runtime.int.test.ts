// skiff as an OCI runtime (issue 26), driven as runc is, as the unprivileged user: the lifecycle
// (create waits, start runs, kill, delete), run's exit status, every hook kind in the spec's
// order, a console socket, exec, namespaces joined by path, kill -9 of create, and bad input.
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { need, probe, repoRoot, skiffBin, useSandbox, type SkiffResult } from './helpers/env.js'

const t = suite('runtime')
const sb = useSandbox(t)

const APPLETS = ['sh', 'echo', 'cat', 'sleep', 'hostname', 'id', 'true', 'touch', 'ls', 'tty', 'stat']

function ready(what: string): boolean {
  return need(what, probe.skiff(), probe.rootless(), probe.busybox(), probe.python())
}

type Config = Record<string, any>

/** A bundle: busybox as its root filesystem, `skiff runtime spec --rootless` edited by `edit`. */
function bundle(name: string, args: string[], edit: (c: Config) => void = () => {}): string {
  const dir = join(sb.dir, name)
  mkdirSync(join(dir, 'rootfs', 'bin'), { recursive: true })
  copyFileSync('/bin/busybox', join(dir, 'rootfs', 'bin', 'busybox'))
  chmodSync(join(dir, 'rootfs', 'bin', 'busybox'), 0o755)
  for (const a of APPLETS) symlinkSync('busybox', join(dir, 'rootfs', 'bin', a))
  const spec = rt(['spec', '--rootless', '--bundle', dir])
  assert.is(spec.status, 0, spec.describe())
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Config
  config.process.terminal = false
  config.process.args = args
  edit(config)
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2))
  return dir
}

function rt(args: string[], opts: { input?: string } = {}): SkiffResult {
  return sb.run(['runtime', '--root', join(sb.dir, 'runc'), ...args], opts)
}

/**
 * A verb that leaves the container running (create, run -d): its process keeps the stdio it was
 * given, as with runc, so it gets files (an engine gives FIFOs or files) rather than pipes a
 * caller would wait on. What the command printed comes back as its stdout and stderr.
 */
function rtBackground(args: string[]): { status: number | null; stdout: string; stderr: string; describe(): string } {
  const out = join(sb.dir, `out-${args.join('-').replace(/\W/g, '_')}`)
  const fds = [openSync('/dev/null', 'r'), openSync(`${out}.1`, 'w'), openSync(`${out}.2`, 'w')]
  const argv = ['runtime', '--root', join(sb.dir, 'runc'), ...args]
  const r = spawnSync(skiffBin, argv, { env: sb.env(), cwd: sb.home, stdio: fds, timeout: 60_000 })
  for (const fd of fds) closeSync(fd)
  const stdout = readFileSync(`${out}.1`, 'utf8')
  const stderr = readFileSync(`${out}.2`, 'utf8')
  return { status: r.status, stdout, stderr, describe: () => `skiff ${argv.join(' ')} → ${r.status}\n${stdout}${stderr}` }
}

function state(id: string): { status: string; pid: number; bundle: string; id: string } {
  const r = rt(['state', id])
  assert.is(r.status, 0, r.describe())
  return JSON.parse(r.stdout)
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return !/^\d+ \(.*\) [ZX]/.test(stat)
  } catch {
    return false
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; !ok(); await sleep(20)) if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
}

t('spec --rootless, then run: the command\'s output and exit status; nothing is left under --root', () => {
  if (!ready('runtime run')) return
  const b = bundle('b', ['sh', '-c', 'echo hello from $(hostname) as $(id -u); exit 3'])
  const r = rt(['run', '--bundle', b, 'one'])
  assert.is(r.status, 3, r.describe())
  assert.is(r.stdout, 'hello from skiff as 0\n')
  assert.equal(readdirSync(join(sb.dir, 'runc')), [])
  // flags after the id, as Slurm's oci.conf writes them (runc's reordering)
  assert.is(rt(['run', 'two', '-b', b]).status, 3)
})

t('create: the process waits (the command has not run); start runs it; kill; state says each; delete', async () => {
  if (!ready('runtime lifecycle')) return
  const out = join(sb.dir, 'out')
  mkdirSync(out)
  const b = bundle('b', ['sh', '-c', 'touch /out/ran; trap "touch /out/term; exit 0" TERM; while true; do sleep 0.1; done'], (c) => {
    c.mounts.push({ destination: '/out', type: 'bind', source: out, options: ['rbind', 'rw'] })
  })
  const pidFile = join(sb.dir, 'pid')
  const created = rtBackground(['create', '--bundle', b, '--pid-file', pidFile, 'c1'])
  assert.is(created.status, 0, created.describe())
  const s = state('c1')
  assert.is(s.status, 'created')
  assert.is(s.bundle, b)
  assert.is(Number(readFileSync(pidFile, 'utf8')), s.pid)
  assert.ok(alive(s.pid))
  await sleep(300)
  assert.not.ok(existsSync(join(out, 'ran')), 'the command ran before start')
  assert.match(rt(['list']).stdout, /c1\s+\d+\s+created/)
  assert.is(rt(['start', 'c1']).status, 0)
  await until('the command to run', () => existsSync(join(out, 'ran')))
  assert.is(state('c1').status, 'running')
  // pause needs the container's cgroup: made where a v2 subtree is delegated, none on this CI host
  const paused = rt(['pause', 'c1'])
  if (paused.status === 0) {
    assert.is(state('c1').status, 'paused')
    assert.is(rt(['resume', 'c1']).status, 0)
  } else {
    assert.match(paused.stderr, /has no cgroup, so it cannot be paused/, paused.describe())
  }
  const again = rt(['start', 'c1'])
  assert.is(again.status, 1)
  assert.match(again.stderr, /is running, not created/)
  const busy = rt(['delete', 'c1'])
  assert.is(busy.status, 1)
  assert.match(busy.stderr, /delete --force/)
  assert.is(rt(['kill', 'c1', 'TERM']).status, 0)
  await until('the container to stop', () => state('c1').status === 'stopped')
  assert.ok(existsSync(join(out, 'term')), 'the signal reached the command')
  assert.is(rt(['delete', 'c1']).status, 0)
  assert.is(rt(['state', 'c1']).status, 1)
  assert.not.ok(alive(s.pid))
})

t('kill of a created container ends it (its process takes signals as the command will)', async () => {
  if (!ready('runtime kill created')) return
  const b = bundle('b', ['sleep', '60'])
  assert.is(rtBackground(['create', '--bundle', b, 'k']).status, 0)
  const pid = state('k').pid
  assert.is(rt(['kill', 'k', 'TERM']).status, 0)
  await until('the created container to stop', () => state('k').status === 'stopped')
  assert.not.ok(alive(pid))
  assert.is(rt(['start', 'k']).status, 1)
  assert.is(rt(['delete', 'k']).status, 0)
})

t('hooks: all six kinds, in the spec\'s order, each with the state on stdin', () => {
  if (!ready('runtime hooks')) return
  const log = join(sb.dir, 'hooks')
  mkdirSync(log)
  const hook = join(sb.dir, 'hook.sh')
  writeFileSync(hook, `#!/bin/sh\nprintf '%s %s\\n' "$1" "$(cat)" >> ${log}/log\n`, { mode: 0o755 })
  const host = (kind: string) => ({ path: hook, args: ['hook.sh', kind] })
  const b = bundle('b', ['sh', '-c', 'sleep 0.2; echo command >> /log/log'], (c) => {
    c.mounts.push({ destination: '/log', type: 'bind', source: log, options: ['rbind', 'rw'] })
    c.hooks = {
      prestart: [host('prestart')],
      createRuntime: [host('createRuntime')],
      createContainer: [host('createContainer')],
      // inside the container: its own shell, its view of the log
      startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'echo "startContainer $(cat)" >> /log/log'] }],
      poststart: [host('poststart')],
      poststop: [host('poststop')],
    }
  })
  assert.is(rtBackground(['create', '--bundle', b, 'h']).status, 0)
  const pid = state('h').pid
  assert.is(rt(['start', 'h']).status, 0)
  spawnSync('sleep', ['1'])
  assert.is(rt(['delete', 'h']).status, 0)
  const lines = readFileSync(join(log, 'log'), 'utf8').trim().split('\n')
  const kinds = lines.map((l) => l.split(' ')[0])
  assert.equal(kinds.filter((k) => k !== 'command'), ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'], lines.join('\n'))
  assert.ok(kinds.indexOf('command') > kinds.indexOf('startContainer'))
  for (const line of lines.filter((l) => !l.startsWith('command'))) {
    const st = JSON.parse(line.slice(line.indexOf(' ') + 1))
    assert.is(st.id, 'h', line)
    assert.is(st.bundle, b, line)
  }
  const byKind = (k: string) => JSON.parse(lines.find((l) => l.startsWith(`${k} `))!.slice(k.length + 1))
  assert.is(byKind('prestart').status, 'created')
  assert.is(byKind('createRuntime').status, 'creating')
  assert.is(byKind('prestart').pid, pid)
  assert.is(byKind('createContainer').pid, pid, 'the container\'s pid as the runtime sees it')
  assert.is(byKind('poststart').status, 'running')
  assert.is(byKind('poststop').status, 'stopped')
})

t('a failing poststart hook is a warning (the spec\'s rule), and the root gets the rootfsPropagation asked for', () => {
  if (!ready('runtime poststart warning')) return
  const b = bundle('b', ['sh', '-c', 'grep -E "^[0-9]+ [0-9]+ [0-9:]+ [^ ]+ / " /proc/self/mountinfo'], (c) => {
    c.linux.rootfsPropagation = 'rshared'
    c.hooks = { poststart: [{ path: '/bin/false' }] }
  })
  const r = rt(['run', '--bundle', b, 'w'])
  assert.is(r.status, 0, r.describe())
  assert.match(r.stderr, /warning: poststart hook \/bin\/false exited with status 1/)
  assert.match(r.stdout, / shared:\d+/)
})

t('a failing hook fails create with its name; nothing is left', () => {
  if (!ready('runtime hook failure')) return
  const b = bundle('b', ['true'], (c) => {
    c.hooks = { createRuntime: [{ path: '/bin/false' }] }
  })
  const r = rt(['create', '--bundle', b, 'f'])
  assert.is(r.status, 1, r.describe())
  assert.match(r.stderr, /createRuntime hook \/bin\/false exited with status 1/)
  assert.equal(readdirSync(join(sb.dir, 'runc')), [])
})

t('a console socket gets the pty master: the shell reads the engine\'s input and writes to it', async () => {
  if (!ready('runtime console socket')) return
  const b = bundle('b', ['sh'], (c) => {
    c.process.terminal = true
    c.process.env.push('PS1=$ ')
  })
  const sock = join(sb.dir, 'console.sock')
  const helper = spawn('python3', [join(repoRoot, 'test', 'helpers', 'console-socket.py'), sock, 'tty; echo in-tty-$((6*7)); exit 4\\n'], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  helper.stdout!.on('data', (d: Buffer) => (out += d))
  const ended = new Promise((r) => helper.on('close', r))
  await until('the console socket', () => existsSync(sock))
  const c = rtBackground(['create', '--bundle', b, '--console-socket', sock, 'tty'])
  assert.is(c.status, 0, c.describe())
  assert.is(rt(['start', 'tty']).status, 0)
  await ended
  const got = JSON.parse(out) as { name: string; output: string }
  assert.match(got.name, /^\/dev\/pts\/\d+$/)
  assert.match(got.output, /\/dev\/pts\/\d+/)
  assert.match(got.output, /in-tty-42/)
  await until('the container to stop', () => state('tty').status === 'stopped')
  assert.is(rt(['delete', 'tty']).status, 0)
  // a terminal needs somewhere to go
  const none = rt(['create', '--bundle', b, 'tty2'])
  assert.is(none.status, 1)
  assert.match(none.stderr, /--console-socket is needed/)
})

t('exec: a command in the running container (args, or --process), its status; --detach with a pid file', async () => {
  if (!ready('runtime exec')) return
  const b = bundle('b', ['sh', '-c', 'echo ready > /tmp/ready; sleep 60'], (c) => {
    c.hostname = 'ctr'
    c.mounts.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid'] })
  })
  assert.is(rtBackground(['run', '--detach', '--bundle', b, 'e']).status, 0)
  assert.is(state('e').status, 'running')
  await until('the command', () => rt(['exec', 'e', 'cat', '/tmp/ready']).stdout === 'ready\n')
  const r = rt(['exec', 'e', 'sh', '-c', 'echo $(hostname) $(id -u); exit 5'])
  assert.is(r.status, 5, r.describe())
  assert.is(r.stdout, 'ctr 0\n')
  const proc = join(sb.dir, 'process.json')
  writeFileSync(proc, JSON.stringify({ args: ['sh', '-c', 'echo $FOO from $(pwd)'], env: ['FOO=bar', 'PATH=/bin'], cwd: '/tmp', user: { uid: 0, gid: 0 } }))
  const p = rt(['exec', '--process', proc, 'e'])
  assert.is(p.stdout, 'bar from /tmp\n', p.describe())
  const pidFile = join(sb.dir, 'exec.pid')
  const d = rtBackground(['exec', '--detach', '--pid-file', pidFile, 'e', 'sh', '-c', 'sleep 0.3; echo detached > /tmp/d'])
  assert.is(d.status, 0, d.describe())
  assert.ok(Number(readFileSync(pidFile, 'utf8')) > 0)
  await until('the detached exec', () => rt(['exec', 'e', 'cat', '/tmp/d']).stdout === 'detached\n')
  assert.is(rt(['ps', '--format', 'json', 'e']).status, 0)
  assert.is(rt(['delete', '--force', 'e']).status, 0)
})

t('namespaces joined by path: a second container in the first one\'s user, uts and network namespaces', () => {
  if (!ready('runtime join')) return
  const first = bundle('b1', ['sleep', '60'], (c) => {
    c.hostname = 'first'
  })
  assert.is(rtBackground(['run', '-d', '--bundle', first, 'j1']).status, 0)
  const pid = state('j1').pid
  const second = bundle('b2', ['sh', '-c', 'hostname; cat /proc/self/uid_map'], (c) => {
    delete c.hostname
    delete c.linux.uidMappings
    delete c.linux.gidMappings
    c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) =>
      ['user', 'uts', 'network'].includes(n.type) ? { type: n.type, path: `/proc/${pid}/ns/${n.type === 'network' ? 'net' : n.type}` } : n)
  })
  const r = rt(['run', '--bundle', second, 'j2'])
  assert.is(r.status, 0, r.describe())
  assert.match(r.stdout, /^first\n\s+0\s+\d+\s+1\n$/)
  assert.is(rt(['delete', '-f', 'j1']).status, 0)
})

t('kill -9 of create at any instant: state tells the truth, delete cleans up, no process is left', async () => {
  if (!ready('runtime create killed')) return
  const b = bundle('b', ['sleep', '60'])
  const pids: number[] = []
  for (const [i, delay] of [5, 20, 40, 60, 90, 150, 1000].entries()) {
    const child = spawn(skiffBin, ['runtime', '--root', join(sb.dir, 'runc'), 'create', '--bundle', b, `k${i}`], { env: sb.env(), stdio: 'ignore' })
    const done = new Promise((r) => child.on('close', r))
    await sleep(delay)
    child.kill('SIGKILL')
    await done
  }
  await sleep(300)
  const list = JSON.parse(rt(['list', '--format', 'json']).stdout) as { id: string; status: string; pid: number }[]
  for (const c of list) {
    assert.ok(['created', 'stopped'].includes(c.status), `${c.id}: ${c.status}`)
    if (c.status === 'created') {
      assert.ok(alive(c.pid))
      pids.push(c.pid)
    }
    assert.is(rt(['delete', '--force', c.id]).status, 0)
  }
  assert.equal(readdirSync(join(sb.dir, 'runc')), [])
  for (const p of pids) assert.not.ok(alive(p), `pid ${p} lives on`)
})

t('bad input: one Error line with a hint, status 1, the engine\'s --log gets it', () => {
  if (!ready('runtime bad input')) return
  const b = bundle('b', ['true'])
  const cases: [string[], RegExp][] = [
    [['state', 'nope'], /container "nope" does not exist/],
    [['create', '--bundle', join(sb.dir, 'missing'), 'x'], /cannot read .*config\.json/],
    [['create', '--bogus', 'x'], /unknown flag --bogus/],
    [['kill', 'nope', 'NOSIG'], /unknown signal|does not exist/],
    [['create', '--bundle', b, 'bad/id'], /invalid container id/],
    [['pause', 'x'], /does not exist/],
    [['update', 'x'], /--resources FILE/],
  ]
  for (const [args, re] of cases) {
    const r = rt(args)
    assert.is(r.status, 1, r.describe())
    assert.match(r.stderr, re, r.describe())
    assert.is(r.stderr.split('\n').filter((l) => l.startsWith('Error:')).length, 1, r.describe())
    assert.not.match(r.stderr, /internal error|\n\s+at /, r.describe())
  }
  const apparmor = bundle('aa', ['true'], (c) => {
    c.process.apparmorProfile = 'docker-default'
  })
  const log = join(sb.dir, 'log.json')
  const r = sb.run(['runtime', '--root', join(sb.dir, 'runc'), '--log', log, '--log-format', 'json', 'create', '--bundle', apparmor, 'aa'])
  assert.is(r.status, 1)
  assert.match(r.stderr, /process\.apparmorProfile is set/)
  const entry = JSON.parse(readFileSync(log, 'utf8').trim()) as { level: string; msg: string }
  assert.is(entry.level, 'error')
  assert.match(entry.msg, /apparmorProfile/)
  assert.is(rtBackground(['create', '--bundle', b, 'dup']).status, 0)
  const dup = rt(['create', '--bundle', b, 'dup'])
  assert.is(dup.status, 1)
  assert.match(dup.stderr, /already exists/)
  assert.is(rt(['delete', '-f', 'dup']).status, 0)
})

t.run()

// Detached containers for real: run -d, ps, logs, exec, stop/start, kill, rm, names, restart
// policies, --init, --read-only, and state that survives kill -9 of the supervisor or the CLI.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { layerTar } from './fixtures/image.js'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { busyboxArchive, need, probe, skiffBin, useSandbox, type Sandbox } from './helpers/env.js'

const life = suite('lifecycle')
const sb = useSandbox(life)

function ready(what: string): boolean {
  return need(what, probe.skiff(), probe.rootless(), probe.busybox())
}

function load(s: Sandbox): void {
  const r = s.run(['load', '-q', '-i', busyboxArchive('docker')])
  assert.is(r.status, 0, r.describe())
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A live process (not a zombie) with this pid. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!)
  } catch {
    return false
  }
}

interface Inspected {
  Id: string
  Name: string
  RestartCount: number
  State: { Status: string; Running: boolean; Pid: number; ExitCode: number; StartedAt: string; FinishedAt: string; Error: string }
  Config: { Env: string[] }
  HostConfig: { RestartPolicy: { Name: string; MaximumRetryCount: number }; Init: boolean; ReadonlyRootfs: boolean }
}

function inspect(name: string): Inspected {
  const r = sb.run(['inspect', '--type', 'container', name])
  assert.is(r.status, 0, r.describe())
  return (JSON.parse(r.stdout) as Inspected[])[0]!
}

function supervisorOf(id: string): number {
  return (JSON.parse(readFileSync(join(sb.root, 'containers', id, 'state.json'), 'utf8')) as { supervisorPid: number }).supervisorPid
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) assert.unreachable(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

/** Every container removed, no supervisor or container process left, nothing in containers/ or tmp/. */
function assertAllGone(pids: number[]): void {
  const ids = sb.run(['ps', '-aq']).stdout.split('\n').filter(Boolean)
  if (ids.length) {
    const rm = sb.run(['rm', '-f', ...ids])
    assert.is(rm.status, 0, rm.describe())
  }
  assert.equal(readdirSync(join(sb.root, 'containers')), [])
  assert.equal(readdirSync(join(sb.root, 'tmp')), [])
  for (const pid of pids) assert.not.ok(alive(pid), `process ${pid} still runs`)
}

life('run -d, ps, logs, exec, stop within the timeout, start again, rm', async () => {
  if (!ready('detached lifecycle')) return
  load(sb)
  const d = sb.run(['run', '-d', '--name', 'web', 'busybox', 'sh', '-c', 'while true; do echo tick; echo tock >&2; sleep 0.2; done'])
  assert.is(d.status, 0, d.describe())
  const id = d.stdout.trim()
  assert.match(id, /^[0-9a-f]{64}$/)

  const ps = sb.run(['ps'])
  assert.match(ps.stdout, /CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES/)
  assert.match(ps.stdout, new RegExp(`${id.slice(0, 12)}\\s+busybox\\s+"sh -c while true; d…"\\s+.*Up .*\\s+web\\n`))
  const json = JSON.parse(sb.run(['ps', '--format', 'json']).stdout) as { Id: string; Names: string[]; State: string }[]
  assert.equal(json.map((c) => [c.Id, c.Names, c.State]), [[id, ['web'], 'running']])

  await until('two ticks', () => (sb.run(['logs', 'web']).stdout.match(/tick/g) ?? []).length >= 2)
  const logs = sb.run(['logs', 'web'])
  assert.match(logs.stdout, /^(tick\n)+/)
  assert.match(logs.stderr, /^(tock\n)+/)
  // lines alternate between tick and tock: the last two hold one of each
  assert.match(sb.run(['logs', '-t', '--tail', '2', 'web']).stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z tick\n$/)
  assert.is(sb.run(['logs', '--since', '2099-01-01T00:00:00Z', 'web']).stdout, '')

  // logs -f follows new lines and ends when the container stops
  const follow = sb.start(['logs', '-f', '--tail', '0', 'web'])

  const ex = sb.run(['exec', '-e', 'X=1', 'web', 'sh', '-c', 'echo $X $$; cat /proc/1/cmdline; exit 7'])
  assert.is(ex.status, 7, ex.describe())
  assert.match(ex.stdout, /^1 \d+\nsh\0-c\0while true/)
  assert.match(sb.run(['exec', '-u', 'app', 'web', 'id']).stdout, /^uid=1000\(app\) gid=1000\(app\)/)
  assert.is(sb.run(['exec', 'web', 'no-such-thing']).status, 127)
  const pty = await sb.pty(['exec', '-it', 'web', 'sh'], [
    { expect: /# (\x1b\[6n|\x1b\[J)?$/ },
    { send: 'tty; echo $TERM\r' },
    { expect: /\/dev\/pts\/\d+\r\nxterm/ },
    { send: 'exit 3\r' },
  ])
  assert.is(pty.status, 3, pty.output)

  // sh as pid 1 ignores SIGTERM: stop waits -t seconds, then kills
  const supervisor = supervisorOf(id)
  const t0 = Date.now()
  const stop = sb.run(['stop', '-t', '1', 'web'])
  assert.is(stop.status, 0, stop.describe())
  const took = Date.now() - t0
  assert.ok(took >= 900 && took < 5000, `stop took ${took} ms`)
  const after = inspect('web')
  assert.is(after.State.Status, 'exited')
  assert.is(after.State.ExitCode, 137)
  assert.not.ok(alive(supervisor))
  const followed = await follow.done
  assert.is(followed.status, 0, followed.describe())
  assert.match(followed.stdout, /tick\n/)

  assert.is(sb.run(['start', 'web']).status, 0)
  assert.is(inspect('web').State.Status, 'running')
  const rm = sb.run(['rm', 'web'])
  assert.is.not(rm.status, 0)
  assert.match(rm.stderr, /container web is running.*\n  hint: .*rm -f web/)
  const second = supervisorOf(id)
  assert.is(sb.run(['rm', '-f', 'web']).status, 0)
  assert.match(sb.run(['ps', '-a']).stdout, /^CONTAINER ID.*\n$/)
  assertAllGone([supervisor, second])
})

life('names: generated and distinct for 20 parallel runs; a taken name is a clear error', async () => {
  if (!ready('names')) return
  load(sb)
  const runs = Array.from({ length: 20 }, () => sb.start(['run', '-d', 'busybox', 'sleep', '60']))
  const results = await Promise.all(runs.map((r) => r.done))
  for (const r of results) assert.is(r.status, 0, r.describe())
  const all = JSON.parse(sb.run(['ps', '--format', 'json']).stdout) as { Id: string; Names: string[]; Pid: number }[]
  assert.is(all.length, 20)
  assert.is(new Set(all.map((c) => c.Names[0])).size, 20)
  for (const c of all) assert.match(c.Names[0]!, /^[a-z]+_[a-z]+\d*$/)
  const name = all[0]!.Names[0]!
  const dup = sb.run(['run', '-d', '--name', name, 'busybox', 'true'])
  assert.is(dup.status, 125)
  assert.match(dup.stderr, new RegExp(`the container name "${name}" is already in use by container ${all[0]!.Id.slice(0, 12)}`))
  assert.match(sb.run(['run', '--name', 'x', 'busybox', 'true']).stderr, /invalid container name "x"/)
  const pids = all.flatMap((c) => [c.Pid, supervisorOf(c.Id)])
  assertAllGone(pids)
})

life('kill -9 of the supervisor: ps says exited, nothing of the container lives on, rm cleans up', async () => {
  if (!ready('supervisor killed')) return
  load(sb)
  const id = sb.run(['run', '-d', '--name', 'victim', 'busybox', 'sleep', '60']).stdout.trim()
  const pid = inspect('victim').State.Pid
  const supervisor = supervisorOf(id)
  assert.ok(alive(pid) && alive(supervisor))
  process.kill(supervisor, 'SIGKILL')
  await until('the container to be gone', () => !alive(pid))
  const state = inspect('victim').State
  assert.is(state.Status, 'exited')
  assert.match(state.Error, /supervisor was killed/)
  assert.match(sb.run(['ps', '-a']).stdout, /Exited \(137\).*victim/)
  assert.is(sb.run(['start', 'victim']).status, 0, 'it can be started again')
  assertAllGone([pid, supervisor, supervisorOf(id)])
})

life('kill -9 of the CLI in the middle of run -d leaves a consistent ps, and rm cleans up', async () => {
  if (!ready('cli killed')) return
  load(sb)
  // the last delay lets one run finish on a slow machine: its container is what `rm` gets, and
  // rm sweeps what the killed creates left in tmp/
  for (const delay of [5, 15, 30, 45, 60, 90, 150, 1000]) {
    const { child, done } = sb.start(['run', '-d', 'busybox', 'sleep', '60'])
    await sleep(delay)
    child.kill('SIGKILL')
    await done
  }
  await sleep(300)
  const all = JSON.parse(sb.run(['ps', '-a', '--format', 'json']).stdout) as { Id: string; State: string; Pid: number }[]
  const pids: number[] = []
  for (const c of all) {
    assert.ok(['created', 'running', 'exited'].includes(c.State), c.State)
    if (c.State === 'running') {
      assert.ok(alive(c.Pid), `running container ${c.Id} has a live pid 1`)
      pids.push(c.Pid, supervisorOf(c.Id))
    }
  }
  assertAllGone(pids)
})

life('restart policies: on-failure:N retries N times; a stopped "always" container stays stopped', async () => {
  if (!ready('restart')) return
  load(sb)
  assert.is(sb.run(['run', '-d', '--name', 'flaky', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'echo run; exit 3']).status, 0)
  await until('two restarts and the end', () => inspect('flaky').State.Status === 'exited', 15_000)
  const flaky = inspect('flaky')
  assert.is(flaky.State.ExitCode, 3)
  assert.is(flaky.RestartCount, 2)
  assert.equal(flaky.HostConfig.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 2 })
  assert.is(sb.run(['logs', 'flaky']).stdout, 'run\nrun\nrun\n')

  assert.is(sb.run(['run', '-d', '--name', 'keeper', '--restart', 'always', 'busybox', 'sleep', '60']).status, 0)
  const first = inspect('keeper').State.Pid
  // killed behind skiff's back: the policy brings it back
  process.kill(first, 'SIGKILL')
  await until('a restart', () => {
    const s = inspect('keeper').State
    return s.Status === 'running' && s.Pid !== first
  })
  assert.is(sb.run(['stop', '-t', '0', 'keeper']).status, 0)
  await sleep(400)
  assert.is(inspect('keeper').State.Status, 'exited')
  const bad = sb.run(['run', '--rm', '--restart', 'always', 'busybox', 'true'])
  assert.match(bad.stderr, /--rm and --restart cannot be combined/)
  assertAllGone([])
})

life('--init: pid 1 reaps and forwards signals, so stop takes SIGTERM', async () => {
  if (!ready('init')) return
  load(sb)
  const r = sb.run(['run', '--rm', '--init', 'busybox', 'sh', '-c', 'cat /proc/1/comm; echo $$'])
  assert.is(r.status, 0, r.describe())
  assert.equal(r.stdout.split('\n').slice(0, 2), ['init', '2'])
  // an orphan whose parent died is reaped by init: no zombie stays
  const z = sb.run(['run', '--rm', '--init', 'busybox', 'sh', '-c', '(sleep 0.2 &) ; sleep 0.6; ps -o stat,comm | grep -c "^Z" || true'])
  assert.is(z.stdout.trim(), '0', z.describe())
  assert.is(sb.run(['run', '-d', '--init', '--name', 'sleeper', 'busybox', 'sleep', '60']).status, 0)
  const t0 = Date.now()
  assert.is(sb.run(['stop', '-t', '20', 'sleeper']).status, 0)
  assert.ok(Date.now() - t0 < 5000, 'SIGTERM reached sleep through init')
  assert.is(inspect('sleeper').State.ExitCode, 143)
  assertAllGone([])
})

life('--read-only root, create + start + wait, log rotation', async () => {
  if (!ready('read-only')) return
  load(sb)
  const ro = sb.run(['run', '--rm', '--read-only', 'busybox', 'sh', '-c', 'touch /x 2>&1; touch /dev/shm/ok && echo shm-ok'])
  assert.match(ro.stdout, /Read-only file system/)
  assert.match(ro.stdout, /shm-ok/)

  const created = sb.run(['create', '--name', 'later', 'busybox', 'sh', '-c', 'exit 5'])
  assert.is(created.status, 0, created.describe())
  assert.is(inspect('later').State.Status, 'created')
  assert.match(sb.run(['ps', '-a']).stdout, /Created\s+later/)
  assert.is(sb.run(['start', 'later']).status, 0)
  const w = sb.run(['wait', 'later'])
  assert.is(w.stdout, '5\n', w.describe())

  const id = sb.run(['run', '-d', '--log-opt', 'max-size=4k', 'busybox', 'sh', '-c', 'i=0; while [ $i -lt 400 ]; do echo line$i; i=$((i+1)); done']).stdout.trim()
  assert.is(sb.run(['wait', id]).stdout, '0\n')
  assert.ok(existsSync(join(sb.root, 'containers', id, 'ctr.log.1')), 'rotated')
  const tail = sb.run(['logs', '--tail', '3', id]).stdout
  assert.is(tail, 'line397\nline398\nline399\n')
  assertAllGone([])
})

life('top lists the container\'s processes; diff its changes since the image', async () => {
  if (!ready('top and diff')) return
  load(sb)
  assert.is(sb.run(['run', '-d', '--name', 'changer', 'busybox', 'sh', '-c', 'echo x > /new; rm /etc/group; mkdir /root/d; exec sleep 60']).status, 0)
  await until('the changes', () => sb.run(['diff', 'changer']).stdout.includes('A /root/d'))
  assert.is(sb.run(['diff', 'changer']).stdout, 'C /etc\nD /etc/group\nA /new\nC /root\nA /root/d\n')
  const top = sb.run(['top', 'changer'])
  assert.match(top.stdout, /^UID\s+PID\s+PPID\s+STAT\s+CMD\n\d+\s+(\d+)\s+\d+\s+\S+\s+sleep 60\n$/)
  assert.is(Number(/\n\d+\s+(\d+)/.exec(top.stdout)![1]), inspect('changer').State.Pid)
  assertAllGone([])
})

life('volumes: a named volume outlives its container; binds (ro), tmpfs, anonymous volumes go with --rm and rm -v', async () => {
  if (!ready('volumes')) return
  load(sb)
  const host = join(sb.home, 'shared')
  mkdirSync(host)
  writeFileSync(join(host, 'f'), 'from-host\n')
  const first = sb.run(['run', '--name', 'writer', '-v', 'keep:/data', '-v', `${host}:/h:ro`, '--tmpfs', '/scratch:size=1m', 'busybox', 'sh', '-c',
    'cat /h/f; touch /h/x 2>/dev/null || echo ro-ok; echo kept > /data/file; chown 1000:1000 /data/file; touch /scratch/t && echo tmpfs-ok'])
  assert.is(first.status, 0, first.describe())
  assert.is(first.stdout, 'from-host\nro-ok\ntmpfs-ok\n')
  const inUse = sb.run(['volume', 'rm', 'keep'])
  assert.match(inUse.stderr, /volume keep is in use by container [0-9a-f]{12}/)
  assert.is(sb.run(['rm', 'writer']).status, 0)
  // the container is gone; the volume and its file, owned by uid 1000 inside, are not
  const second = sb.run(['run', '--rm', '-v', 'keep:/data', 'busybox', 'stat', '-c', '%u %n', '/data/file'])
  assert.is(second.stdout, '1000 /data/file\n', second.describe())
  assert.equal(JSON.parse(sb.run(['volume', 'ls', '--format', 'json']).stdout).map((v: { Name: string }) => v.Name), ['keep'])
  assert.is(JSON.parse(sb.run(['volume', 'inspect', 'keep']).stdout)[0].Mountpoint, join(sb.root, 'volumes', 'keep', '_data'))

  // anonymous volumes: removed with --rm, and by rm -v
  assert.is(sb.run(['run', '--rm', '-v', '/anon', 'busybox', 'touch', '/anon/x']).status, 0)
  assert.equal(sb.run(['volume', 'ls', '-q']).stdout, 'keep\n')
  assert.is(sb.run(['run', '--name', 'anon', '-v', '/anon', 'busybox', 'true']).status, 0)
  assert.is(sb.run(['volume', 'ls', '-q']).stdout.split('\n').filter(Boolean).length, 2)
  assert.is(sb.run(['rm', '-v', 'anon']).status, 0)
  assert.equal(sb.run(['volume', 'ls', '-q']).stdout, 'keep\n')
  // files of mapped ids go too
  const rm = sb.run(['volume', 'rm', 'keep'])
  assert.is(rm.status, 0, rm.describe())
  assert.equal(readdirSync(join(sb.root, 'volumes')), [])
  assert.match(sb.run(['run', '--rm', '--mount', 'type=bind,source=/no/such/dir,target=/x', 'busybox', 'true']).stderr, /bind source path does not exist: \/no\/such\/dir/)
  assertAllGone([])
})

life('cp both ways, running and stopped, tar streams; symlinks in the container never lead to the host', async () => {
  if (!ready('cp')) return
  load(sb)
  const src = join(sb.home, 'src')
  mkdirSync(join(src, 'sub'), { recursive: true })
  writeFileSync(join(src, 'a'), 'one\n')
  writeFileSync(join(src, 'sub', 'b'), 'two\n')
  symlinkSync('a', join(src, 'l'))
  const secret = join(sb.home, 'host-secret')
  writeFileSync(secret, 'host-only\n')
  assert.is(sb.run(['run', '-d', '--name', 'box', 'busybox', 'sh', '-c', `ln -s / /tmp/root; ln -s ${secret} /tmp/leak; ln -s /etc /tmp/etc; exec sleep 60`]).status, 0)
  await sleep(200)

  // in: a directory into an existing one, owned by the container's root; a file under a new name
  assert.is(sb.run(['cp', src, 'box:/tmp/']).status, 0)
  assert.is(sb.run(['exec', 'box', 'sh', '-c', 'cat /tmp/src/a /tmp/src/sub/b; readlink /tmp/src/l; stat -c %u /tmp/src/a']).stdout, 'one\ntwo\na\n0\n')
  assert.is(sb.run(['cp', join(src, 'a'), 'box:/tmp/renamed']).status, 0)
  assert.is(sb.run(['exec', 'box', 'cat', '/tmp/renamed']).stdout, 'one\n')
  // through a symlink in the container: it resolves in the container (its /etc), never the host's
  assert.is(sb.run(['cp', join(src, 'a'), 'box:/tmp/etc/copied']).status, 0)
  assert.is(sb.run(['exec', 'box', 'cat', '/etc/copied']).stdout, 'one\n')
  assert.not.ok(existsSync('/etc/copied'))

  // out: a directory under a new name, belonging to the user; a file
  const out = join(sb.home, 'out')
  assert.is(sb.run(['cp', 'box:/tmp/src', out]).status, 0)
  assert.is(readFileSync(join(out, 'sub', 'b'), 'utf8'), 'two\n')
  assert.is(readlinkSync(join(out, 'l')), 'a')
  assert.is(statSync(join(out, 'a')).uid, process.getuid!())
  // a link to a host path is a path in the container there: no such file, not the host's secret
  const leak = sb.run(['cp', '-L', 'box:/tmp/leak', join(sb.home, 'leaked')])
  assert.is.not(leak.status, 0)
  assert.match(leak.stderr, /No such file|ENOENT|no such file/i)
  assert.not.ok(existsSync(join(sb.home, 'leaked')))
  const viaRoot = sb.run(['cp', `box:/tmp/root${secret}`, join(sb.home, 'leaked2')])
  assert.is.not(viaRoot.status, 0)

  // a hostile archive on stdin: ../ and absolute names are skipped, the rest lands
  const evil = layerTar([
    { type: 'file', path: '../../escape', raw: true, content: 'x\n' },
    { type: 'file', path: '/abs-escape', raw: true, content: 'y\n' },
    { type: 'file', path: 'ok', content: 'fine\n' },
  ])
  const stream = sb.run(['cp', '-', 'box:/tmp'], { input: evil })
  assert.is(stream.status, 0, stream.describe())
  assert.match(stream.stderr, /skipped \.\.\/\.\.\/escape/)
  assert.is(sb.run(['exec', 'box', 'sh', '-c', 'cat /tmp/ok; ls /escape /abs-escape /tmp/abs-escape 2>&1 | grep -c "No such"']).stdout, 'fine\n3\n')

  // a stopped container: its root filesystem is mounted for the copy
  assert.is(sb.run(['stop', '-t', '0', 'box']).status, 0)
  assert.is(sb.run(['cp', join(src, 'sub', 'b'), 'box:/stopped-copy']).status, 0)
  const tarOut = spawnSync(skiffBin, ['cp', 'box:/stopped-copy', '-'], { env: sb.env(), encoding: 'buffer' })
  assert.is(tarOut.status, 0, String(tarOut.stderr))
  assert.match(tarOut.stdout.toString('latin1'), /^stopped-copy\0/)
  assert.match(tarOut.stdout.toString('latin1'), /two\n/)
  // export: the whole root filesystem, without what is mounted on it (/proc, /dev, volumes)
  assert.is(sb.run(['start', 'box']).status, 0)
  const exported = join(sb.home, 'box.tar')
  assert.is(sb.run(['export', '-o', exported, 'box']).status, 0)
  const names = spawnSync('tar', ['-tf', exported], { encoding: 'utf8' }).stdout.split('\n')
  for (const n of ['./stopped-copy', './tmp/src/sub/b', './bin/busybox', './proc/']) assert.ok(names.includes(n), n)
  assert.not.ok(names.some((n) => n.startsWith('./proc/self') || n.startsWith('./dev/pts/')), 'nothing under /proc or /dev/pts')
  assertAllGone([])
})

life('attach to a detached terminal: input, output, window size; Ctrl-P Ctrl-Q detaches; the exit status comes back', async () => {
  if (!need('attach', probe.skiff(), probe.rootless(), probe.busybox(), probe.python())) return
  load(sb)
  assert.is(sb.run(['run', '-dit', '--name', 'term', 'busybox', 'sh']).status, 0)
  await sleep(300)
  assert.is(inspect('term').State.Status, 'running', 'sh with a terminal keeps running detached')
  const first = await sb.pty(['attach', 'term'], [
    { send: 'echo sum-$((20+22)); stty size\r' },
    // Node's raw mode keeps the terminal's output processing: \r\r\n is what a terminal shows as \r\n
    { expect: /sum-42\r+\n30 100\r+\n/ },
    { send: '\x10\x11' },
  ], { rows: 30, cols: 100 })
  assert.is(first.error, null, first.output)
  assert.is(first.status, 0, first.output)
  assert.is(inspect('term').State.Status, 'running', 'detached, not stopped')
  // --detach-keys: other keys detach (that Ctrl-P Ctrl-Q is then input: test/container/records.test.ts)
  const other = await sb.pty(['attach', '--detach-keys', 'ctrl-a,d', 'term'], [
    { send: 'echo still-$((1+1))\r' },
    { expect: /still-2/ },
    { send: '\x01d' },
  ])
  assert.is(other.error, null, other.output)
  assert.is(other.status, 0, other.output)
  assert.is(inspect('term').State.Status, 'running', 'detached by ctrl-a,d')
  assert.match(sb.run(['attach', '--detach-keys', 'ctrl-p,qq', 'term']).stderr, /"qq" is not a key/)
  const second = await sb.pty(['attach', 'term'], [{ send: 'exit 3\r' }])
  assert.is(second.status, 3, second.output)
  assert.match(sb.run(['logs', 'term']).stdout, /sum-42/)
  assert.match(sb.run(['attach', 'term']).stderr, /container term is not running/)
  assertAllGone([])
})

life('Ctrl-P Ctrl-Q detaches a foreground run -it and exec -it; both run on, attach and logs reach the container', async () => {
  if (!need('detach keys', probe.skiff(), probe.rootless(), probe.busybox(), probe.python())) return
  load(sb)
  const run = await sb.pty(['run', '-it', '--rm', '--name', 'fg', 'busybox', 'sh'], [
    { send: 'echo before-$((6*7))\r' },
    { expect: /before-42/ },
    { send: '\x10\x11' },
  ])
  assert.is(run.error, null, run.output)
  assert.is(run.status, 0, run.output)
  await sleep(200)
  assert.is(inspect('fg').State.Status, 'running', 'detached from the foreground run, still running')
  // its own keys for exec; the exec'd sleep runs on after the detach
  const exec = await sb.pty(['exec', '-it', '--detach-keys', 'ctrl-a,d', 'fg', 'sh', '-c', 'echo in-exec; exec sleep 1000'], [
    { expect: /in-exec/ },
    { send: '\x01d' },
  ])
  assert.is(exec.error, null, exec.output)
  assert.is(exec.status, 0, exec.output)
  assert.match(sb.run(['top', 'fg']).stdout, /sleep 1000/, 'the exec\'d process runs on')
  const back = await sb.pty(['attach', 'fg'], [
    { send: 'echo after-detach\r' },
    { expect: /after-detach/ },
    { send: 'exit 4\r' },
  ])
  assert.is(back.status, 4, back.output)
  await sleep(300)
  assert.is(sb.run(['container', 'exists', 'fg']).status, 1, '--rm removed it once it ended')
  // --detach-keys "" turns detaching off: the keys go to the shell
  const none = await sb.pty(['run', '-it', '--rm', '--detach-keys', '', 'busybox', 'sh'], [
    { send: '\x10\x11echo no-detach\r' },
    { expect: /no-detach/ },
    { send: 'exit 5\r' },
  ])
  assert.is(none.status, 5, none.output)
  assert.match(sb.run(['run', '--detach-keys', 'ctrl-', 'busybox', 'true']).stderr, /is not a key/)
  assertAllGone([])
})

life('--preserve-fds N: the caller\'s fds 3.. reach the command of run, run -d and exec; fds not given are an error', async () => {
  if (!need('preserve-fds', probe.skiff(), probe.rootless(), probe.busybox())) return
  load(sb)
  writeFileSync(join(sb.home, 'f3'), 'three\n')
  writeFileSync(join(sb.home, 'f4'), 'four\n')
  const sh = (script: string) => spawnSync('sh', ['-c', script], { env: sb.env(), cwd: sb.home, encoding: 'utf8', timeout: 60_000 })
  const run = sh(`"${skiffBin}" run --rm --preserve-fds 2 busybox sh -c 'cat <&3; cat <&4; ls /proc/self/fd | sort -n | tr "\\n" " "' 3<f3 4<f4`)
  assert.is(run.status, 0, run.stderr)
  // the two files, and no fd of skiff's or the shim's beyond them
  assert.is(run.stdout, 'three\nfour\n0 1 2 3 4 5 ', run.stderr)
  assert.is(sh(`"${skiffBin}" run -d --name keep --preserve-fds 1 busybox sh -c 'cat <&3 > /got; sleep 1000' 3<f3`).status, 0)
  await sleep(300)
  assert.is(sb.run(['exec', 'keep', 'cat', '/got']).stdout, 'three\n')
  const exec = sh(`"${skiffBin}" exec --preserve-fds 1 keep sh -c 'cat <&3' 3<f4`)
  assert.is(exec.stdout, 'four\n', exec.stderr)
  const missing = sh(`"${skiffBin}" run --rm --preserve-fds 1 busybox true`)
  assert.is(missing.status, 125, missing.stderr)
  assert.match(missing.stderr, /--preserve-fds 1: fd 3 was not given to skiff/)
  assert.match(sb.run(['run', '--preserve-fds', '-1', 'busybox', 'true']).stderr, /--preserve-fds/)
  sb.run(['rm', '-f', 'keep'])
  assertAllGone([])
})

life.run()

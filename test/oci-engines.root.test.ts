// skiff-runc driven by real engines (issue 26): rootless podman (run, exec, logs, stop, rm, -it),
// containerd 1.6's ctr as root, and Slurm's `srun --container` as a user without subordinate
// ids. Root only starts the daemons and switches users; podman and Slurm's steps run skiff as the
// user. Does I/O.
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { busyboxArchive, probe, ptyRun, removeTree, repoRoot, requireEnv, skiffBin, tempDir } from './helpers/env.js'

const t = suite('oci engines')
const user = process.env.SKIFF_TEST_USER || 'skiff-test'
const hpcUser = process.env.SKIFF_TEST_HPC_USER || 'skiff-hpc'
const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0

function idOf(name: string): number | undefined {
  const r = spawnSync('id', ['-u', name], { encoding: 'utf8' })
  return r.status === 0 ? Number(r.stdout.trim()) : undefined
}

function ready(what: string, tools: string[], who = user): boolean {
  if (!requireEnv(what, process.getuid?.() === 0, 'runs as root, to start the engines and act as their users (npm test as root runs it)')) return false
  if (!requireEnv(what, idOf(who) !== undefined, `user ${who} is missing: bash test/setup-host.sh (as root) makes it`)) return false
  for (const tool of tools) if (!requireEnv(what, has(tool), `${tool} is missing: bash test/setup-host.sh installs it`)) return false
  if (!requireEnv(what, probe.skiff().ok, probe.skiff().reason)) return false
  return requireEnv(what, spawnSync('runuser', ['-u', who, '--', 'test', '-x', skiffBin]).status === 0, `${who} cannot run ${skiffBin}: set SKIFF_BIN to a copy it can reach`)
}

/** A directory every user can enter, with the link name engines call: skiff-runc → skiff. */
function linkDir(): { dir: string; runc: string } {
  const dir = tempDir('skiff-runc-')
  chmodSync(dir, 0o755)
  const runc = join(dir, 'skiff-runc')
  symlinkSync(skiffBin, runc)
  return { dir, runc }
}

t('podman --runtime skiff-runc: run --rm, run -d, exec, logs, stop, rm and -it, rootless', async () => {
  if (!ready('podman with skiff-runc', ['podman', 'unshare'])) return
  const { dir, runc } = linkDir()
  const uid = idOf(user)!
  const home = join(dir, 'home')
  mkdirSync(join(home, 'run'), { recursive: true, mode: 0o700 })
  copyFileSync(busyboxArchive('docker'), join(home, 'busybox.tar'))
  const empty = join(dir, 'empty')
  writeFileSync(empty, '')
  spawnSync('chown', ['-R', `${uid}:${uid}`, home])
  const env = ['env', '-i', 'PATH=/usr/local/bin:/usr/bin:/bin', `HOME=${home}`, `USER=${user}`, `XDG_RUNTIME_DIR=${join(home, 'run')}`]
  // podman (crun's cgroup code) on this hybrid host: a mount namespace where cgroup2 lists no controllers
  const nsArgv = (cmd: string) => ['unshare', '--mount', '--propagation', 'private', 'sh', '-c',
    `{ ! grep -qs . /sys/fs/cgroup/unified/cgroup.controllers || mount --bind ${empty} /sys/fs/cgroup/unified/cgroup.controllers; } && cd ${home} && exec runuser -u ${user} -- ${env.join(' ')} sh -c '${cmd}'`]
  const podman = `podman --root ${home}/podman --runroot ${home}/run/podman --runtime ${runc}`
  const inNs = (cmd: string) => {
    const argv = nsArgv(cmd)
    const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 120_000 })
    return { ...r, describe: () => `${cmd} → ${r.status}\n${r.stdout}${r.stderr}` }
  }
  spawnSync('pkill', ['-u', user, 'catatonit'])
  try {
    assert.is(inNs(`${podman} load -q -i busybox.tar`).status, 0)
    const once = inNs(`${podman} run --rm busybox sh -c "echo hi from \\$(hostname); exit 3"`)
    assert.is(once.status, 3, once.describe())
    assert.match(once.stdout, /^hi from \w+\n$/)
    const started = inNs(`${podman} run -d --name w busybox sh -c "echo started; trap \\"echo got-term; exit 0\\" TERM; while true; do sleep 0.1; done"`)
    assert.is(started.status, 0, started.describe())
    const ex = inNs(`${podman} exec w sh -c "echo exec-ok; exit 4"`)
    assert.is(ex.status, 4, ex.describe())
    assert.is(ex.stdout, 'exec-ok\n')
    assert.match(inNs(`${podman} ps`).stdout, /Up .* w\n/)
    const stop = inNs(`${podman} stop w`)
    assert.is(stop.status, 0, stop.describe())
    assert.is(inNs(`${podman} logs w`).stdout, 'started\ngot-term\n')
    assert.match(inNs(`${podman} ps -a`).stdout, /Exited \(0\)/)
    assert.is(inNs(`${podman} rm w`).status, 0)
    // -it: conmon's console socket gets the pty
    const tty = await ptyRun(nsArgv(`${podman} run -it --rm busybox sh`), [
      { expect: '# ', timeout: 30 },
      { send: 'tty; echo in-tty-$((6*7))\r' },
      { expect: 'in-tty-42' },
      { send: 'exit 5\r' },
    ], { timeout: 60 })
    assert.is(tty.status, 5, tty.output)
    assert.match(tty.output, /\/dev\/pts\/\d+/)
  } finally {
    inNs(`${podman} rm -fa >/dev/null 2>&1; ${podman} system reset -f >/dev/null 2>&1; true`)
    spawnSync('pkill', ['-u', user, 'catatonit'])
    removeTree(dir)
  }
})

t('containerd: ctr run --runc-binary skiff-runc (attached with its status, detached with exec and kill), as root', async () => {
  if (!ready('containerd with skiff-runc', ['containerd', 'ctr', 'containerd-shim-runc-v2'])) return
  const { dir, runc } = linkDir()
  const sock = join(dir, 'containerd.sock')
  writeFileSync(join(dir, 'config.toml'), `version = 2\nroot = "${dir}/root"\nstate = "${dir}/state"\n[grpc]\n  address = "${sock}"\n[plugins."io.containerd.grpc.v1.cri"]\n  disable_apparmor = true\n`)
  const daemon = spawn('containerd', ['--config', join(dir, 'config.toml')], { stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  daemon.stderr!.on('data', (d: Buffer) => (log += d))
  const ctr = (...args: string[]) => {
    const r = spawnSync('ctr', ['-a', sock, ...args], { encoding: 'utf8', timeout: 60_000 })
    return { ...r, describe: () => `ctr ${args.join(' ')} → ${r.status}\n${r.stdout}${r.stderr}` }
  }
  try {
    for (let i = 0; i < 100 && ctr('version').status !== 0; i++) spawnSync('sleep', ['0.1'])
    const imported = ctr('image', 'import', busyboxArchive('docker'))
    assert.is(imported.status, 0, imported.describe() + log)
    const image = 'docker.io/library/busybox:latest'
    const once = ctr('run', '--rm', '--runc-binary', runc, image, 'c1', 'sh', '-c', 'echo ctr-ok; cat /proc/self/uid_map; exit 3')
    assert.is(once.status, 3, once.describe())
    assert.match(once.stdout, /^ctr-ok\n\s+0\s+0\s+4294967295\n$/)
    assert.is(ctr('run', '-d', '--runc-binary', runc, image, 'c2', 'sh', '-c', 'trap "exit 7" TERM; while true; do sleep 0.1; done').status, 0)
    const ex = ctr('task', 'exec', '--exec-id', 'e1', 'c2', 'sh', '-c', 'echo exec-ok')
    assert.is(ex.stdout, 'exec-ok\n', ex.describe())
    assert.match(ctr('task', 'ls').stdout, /c2\s+\d+\s+RUNNING/)
    assert.is(ctr('task', 'kill', 'c2').status, 0)
    for (let i = 0; i < 100 && !/c2\s+\d+\s+STOPPED/.test(ctr('task', 'ls').stdout); i++) spawnSync('sleep', ['0.1'])
    assert.match(ctr('task', 'ls').stdout, /c2\s+\d+\s+STOPPED/)
    assert.is(ctr('task', 'rm', 'c2').status, 0)
    assert.is(ctr('container', 'rm', 'c2').status, 0)
  } finally {
    daemon.kill('SIGTERM')
    await new Promise((r) => daemon.on('close', r))
    spawnSync('umount', ['-R', join(dir, 'state')])
    removeTree(dir)
  }
})

t('as root without a user namespace: the config\'s devices made with their number, mode and owner', () => {
  if (!ready('skiff-runc as root', [])) return
  const { dir, runc } = linkDir()
  const bundle = join(dir, 'bundle')
  mkdirSync(join(bundle, 'rootfs', 'bin'), { recursive: true })
  copyFileSync('/bin/busybox', join(bundle, 'rootfs', 'bin', 'busybox'))
  for (const a of ['sh', 'stat']) symlinkSync('busybox', join(bundle, 'rootfs', 'bin', a))
  try {
    assert.is(spawnSync(runc, ['spec', '--bundle', bundle]).status, 0)
    const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'))
    config.process.terminal = false
    config.process.args = ['stat', '-c', '%F %t:%T %a %u:%g', '/dev/fuse-test']
    config.linux.devices = [{ path: '/dev/fuse-test', type: 'c', major: 10, minor: 229, fileMode: 0o640, uid: 12, gid: 34 }]
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(config))
    const r = spawnSync(runc, ['--root', join(dir, 'state'), 'run', '-b', bundle, 'dev'], { encoding: 'utf8', timeout: 60_000 })
    assert.is(r.status, 0, r.stdout + r.stderr)
    assert.is(r.stdout, 'character special file a:e5 640 12:34\n')
  } finally {
    removeTree(dir)
  }
})

t('Slurm: srun --container=BUNDLE runs the step in skiff (oci.conf), as a user without subordinate ids', () => {
  if (!ready('srun --container', ['srun', 'slurmctld', 'slurmd', 'munged'], hpcUser)) return
  const { dir, runc } = linkDir()
  const uid = idOf(hpcUser)!
  const slurm = join(dir, 'slurm')
  const bundle = join(dir, 'bundle')
  mkdirSync(join(bundle, 'rootfs', 'bin'), { recursive: true })
  copyFileSync('/bin/busybox', join(bundle, 'rootfs', 'bin', 'busybox'))
  chmodSync(join(bundle, 'rootfs', 'bin', 'busybox'), 0o755)
  for (const a of ['sh', 'echo', 'id']) symlinkSync('busybox', join(bundle, 'rootfs', 'bin', a))
  spawnSync('chown', ['-R', `${uid}:${uid}`, bundle])
  const env = ['env', '-i', 'PATH=/usr/bin:/bin', `HOME=${dir}`, `USER=${hpcUser}`, `SLURM_CONF=${join(slurm, 'slurm.conf')}`]
  const as = (argv: string[]) => spawnSync('runuser', ['-u', hpcUser, '--', ...env, ...argv], { encoding: 'utf8', cwd: bundle, timeout: 120_000 })
  assert.is(as([runc, 'spec', '--rootless']).status, 0)
  const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'))
  config.process.terminal = false
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config))
  const up = spawnSync('bash', [join(repoRoot, 'test', 'slurm', 'slurm.sh'), 'start', slurm], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, SKIFF_RUNC: runc } })
  assert.is(up.status, 0, up.stdout + up.stderr)
  try {
    const r = as(['srun', '-n1', `--container=${bundle}`, 'sh', '-c', 'echo in-step job=$SLURM_JOB_ID as $(id -u); exit 4'])
    assert.is(r.status, 4, r.stdout + r.stderr)
    assert.match(r.stdout, /^in-step job=\d+ as 0\n$/)
    const state = `/tmp/skiff-runc-${hpcUser}`
    assert.ok(!existsSync(state) || readdirSync(state).length === 0, 'the step\'s container was deleted')
  } finally {
    spawnSync('bash', [join(repoRoot, 'test', 'slurm', 'slurm.sh'), 'stop', slurm], { stdio: 'inherit', timeout: 60_000 })
    spawnSync('pkill', ['-9', '-u', hpcUser])
    removeTree(dir)
  }
})

t.run()

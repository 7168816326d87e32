// HPC (issue 25), as a cluster user has it: skiff-hpc has no subordinate ids (as LDAP users), no
// XDG_RUNTIME_DIR, and runs skiff under a real one-node Slurm (munged, slurmctld and slurmd from
// Debian, started here by test/slurm/slurm.sh and stopped at the end). Runs as root only to start
// Slurm and to act as that user (runuser); skiff itself runs as the user. Does I/O.
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { busyboxArchive, probe, repoRoot, requireEnv, skiffBin, tempDir } from './helpers/env.js'
import { mpiImage } from './fixtures/mpi-image.js'

const t = suite('hpc: keep-id, Slurm job steps, MPI')
const user = process.env.SKIFF_TEST_HPC_USER || 'skiff-hpc'

function idOf(name: string): number | undefined {
  const r = spawnSync('id', ['-u', name], { encoding: 'utf8' })
  return r.status === 0 ? Number(r.stdout.trim()) : undefined
}

const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0

function ready(what: string): boolean {
  if (!requireEnv(what, process.getuid?.() === 0, 'runs as root, to start Slurm and act as its user (npm test as root runs it)')) return false
  if (!requireEnv(what, idOf(user) !== undefined, `user ${user} is missing: bash test/setup-host.sh (as root) makes it`)) return false
  const subids = ['/etc/subuid', '/etc/subgid'].some((f) => existsSync(f) && readFileSync(f, 'utf8').split('\n').some((l) => l.startsWith(`${user}:`) || l.startsWith(`${idOf(user)}:`)))
  if (!requireEnv(what, !subids, `${user} must have no subordinate ids (test/setup-host.sh removes them)`)) return false
  for (const tool of ['srun', 'slurmctld', 'slurmd', 'munged', 'mpicc']) {
    if (!requireEnv(what, has(tool), `${tool} is missing: apt-get install slurm-wlm munge mpich libmpich-dev (test/setup-host.sh does)`)) return false
  }
  if (!requireEnv(what, probe.skiff().ok, probe.skiff().reason)) return false
  return requireEnv(what, spawnSync('runuser', ['-u', user, '--', 'test', '-x', skiffBin]).status === 0, `${user} cannot run ${skiffBin}: set SKIFF_BIN to a copy it can reach`)
}

interface World {
  slurm: string
  home: string
  work: string
  env: Record<string, string>
}
let world: World | undefined

/** Runs argv as the user in `cwd` (the job's directory), in the user's clean environment. */
function as(argv: string[], o: { cwd?: string; env?: Record<string, string>; timeout?: number } = {}) {
  const w = world!
  const env = { ...w.env, ...o.env }
  const r = spawnSync('runuser', ['-u', user, '--', 'env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv], {
    encoding: 'utf8', timeout: o.timeout ?? 120_000, cwd: o.cwd ?? w.work,
  })
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', describe: () => `${user}$ ${argv.join(' ')} → ${r.status}\n${r.stdout}${r.stderr}` }
}

const skiff = (args: string[], o?: Parameters<typeof as>[1]) => as([skiffBin, ...args], o)

/** Live processes of the user (zombies excluded: this sandbox's pid 1 reaps late). */
function liveProcesses(): string[] {
  const r = spawnSync('ps', ['-u', user, '-o', 'stat=,args='], { encoding: 'utf8' })
  return r.stdout.split('\n').filter((l) => l.trim() && !l.trim().startsWith('Z'))
}

t.before(() => {
  if (!ready('the HPC tests')) return
  const uid = idOf(user)!
  const base = tempDir('skiff-hpc-')
  chmodSync(base, 0o755)
  const home = join(base, 'home')
  const work = join(base, 'job')
  for (const d of [home, work]) {
    mkdirSync(d, { mode: 0o755 })
    chownSync(d, uid, uid)
  }
  const slurm = join(base, 'slurm')
  const up = spawnSync('bash', [join(repoRoot, 'test', 'slurm', 'slurm.sh'), 'start', slurm], { encoding: 'utf8', timeout: 120_000 })
  if (up.status !== 0) throw new Error(`Slurm did not start:\n${up.stdout}${up.stderr}`)
  world = {
    slurm,
    home,
    work,
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: home, USER: user, LOGNAME: user, LANG: 'C.UTF-8', SLURM_CONF: join(slurm, 'slurm.conf') },
  }
  for (const archive of [busyboxArchive(), mpiImage()]) {
    const copy = join(base, `image-${statSync(archive).ino}.tar`)
    writeFileSync(copy, readFileSync(archive))
    chmodSync(copy, 0o644)
    const r = skiff(['load', '-i', copy])
    if (r.status !== 0) throw new Error(r.describe())
  }
})

t.after(() => {
  if (!world) return
  spawnSync('bash', [join(repoRoot, 'test', 'slurm', 'slurm.sh'), 'stop', world.slurm], { stdio: 'inherit', timeout: 60_000 })
  spawnSync('pkill', ['-9', '-u', user])
})

t('keep-id without subordinate ids: the user inside, files written to a bind are the user\'s', () => {
  if (!world) return void ready('keep-id')
  const r = skiff(['run', '--rm', '--userns=keep-id', '-v', `${world.work}:/data`, 'busybox', 'sh', '-c', 'id -un; id -u; echo hi > /data/out; ls -ln /data/out'])
  assert.is(r.status, 0, r.describe())
  const [name, uid] = r.stdout.split('\n')
  assert.is(name, user, r.describe())
  assert.is(Number(uid), idOf(user))
  assert.is(statSync(join(world.work, 'out')).uid, idOf(user), 'the file is the user\'s on the host')
  assert.not.match(r.stderr, /warning/, 'keep-id needs no subordinate ids: nothing to warn about')
})

t('srun -N1 -n2: the hpc profile by itself, both ranks in one container, each with its SLURM_* and the job directory', () => {
  if (!world) return void ready('srun')
  const r = as(['srun', '-N1', '-n2', skiffBin, 'run', 'busybox', 'sh', '-c', 'echo "$SLURM_PROCID $(readlink /proc/self/ns/mnt) $(readlink /proc/self/ns/ipc) $(id -un) $(pwd) $(hostname) $SLURM_NTASKS"'])
  assert.is(r.status, 0, r.describe())
  const lines = r.stdout.trim().split('\n').sort()
  assert.is(lines.length, 2, r.describe())
  const [a, b] = lines.map((l) => l.split(' '))
  assert.equal([a![0], b![0]], ['0', '1'], 'each rank has its own SLURM_PROCID')
  assert.is(a![1], b![1], `one mount namespace for both ranks: ${r.stdout}`)
  assert.is(a![2], b![2], 'one ipc namespace (and /dev/shm) for both ranks')
  assert.is(a![3], user, 'keep-id: the user inside')
  assert.is(a![4], world.work, 'the job directory is bound and the working directory')
  assert.is(a![5], spawnSync('hostname', { encoding: 'utf8' }).stdout.trim(), "the host's name (uts of the host)")
  assert.is(a![6], '2')
  const info = as(['srun', '-n1', skiffBin, 'info', '--format', '{{.Items.profile.Value}}'])
  assert.match(info.stdout, /^hpc \(inside Slurm job step \d+\.\d+/, info.describe())
  assert.is(skiff(['ps', '-aq']).stdout.trim(), '', 'the step container is gone with the step')
})

t('a user with subordinate ids: the ranks share the container too (its pid 1 changed ids)', () => {
  if (!world) return void ready('srun with subordinate ids')
  const other = process.env.SKIFF_TEST_USER || 'skiff-test'
  const uid = idOf(other)
  if (!requireEnv('srun with subordinate ids', uid !== undefined, `user ${other} is missing: bash test/setup-host.sh makes it`)) return
  const dir = join(world.slurm, '..', 'ranged')
  mkdirSync(dir, { mode: 0o755 })
  chownSync(dir, uid!, uid!)
  const archive = join(dir, 'busybox.tar')
  writeFileSync(archive, readFileSync(busyboxArchive()))
  chmodSync(archive, 0o644)
  const env = ['PATH=/usr/local/bin:/usr/bin:/bin', `HOME=${dir}`, `USER=${other}`, `SKIFF_ROOT=${join(dir, 'store')}`, `SLURM_CONF=${join(world.slurm, 'slurm.conf')}`]
  const run = (argv: string[]) => spawnSync('runuser', ['-u', other, '--', 'env', '-i', ...env, ...argv], { encoding: 'utf8', cwd: dir, timeout: 120_000 })
  assert.is(run([skiffBin, 'load', '-i', archive]).status, 0)
  const r = run(['srun', '-n2', skiffBin, 'run', 'busybox', 'sh', '-c', 'echo "$(id -un) $(readlink /proc/self/ns/mnt)"'])
  assert.is(r.status, 0, `${r.stdout}${r.stderr}`)
  const lines = r.stdout.trim().split('\n')
  assert.is(lines.length, 2, r.stdout)
  assert.is(lines[0], lines[1], `one container: ${r.stdout}`)
  assert.match(lines[0]!, new RegExp(`^${other} `))
})

t('exit codes of the ranks reach srun', () => {
  if (!world) return void ready('exit codes')
  const r = as(['srun', '-n2', skiffBin, 'run', 'busybox', 'sh', '-c', 'exit $((3 + SLURM_PROCID))'])
  assert.is(r.status, 4, r.describe())
  assert.match(r.stderr, /task 0: Exited with exit code 3/)
})

t('MPI: srun --mpi=pmi2 -n2 runs a ring and an allreduce over shared memory only', () => {
  if (!world) return void ready('MPI')
  // UCX may use only shared-memory transports (posix, sysv, cma) and self: ranks in containers
  // of their own fail here (/proc/PID/fd of the other rank is not theirs to open)
  const r = as(['srun', '--mpi=pmi2', '-N1', '-n2', skiffBin, 'run', '-e', 'UCX_TLS=sm,self', 'mpi', '/usr/bin/ring'])
  assert.is(r.status, 0, r.describe())
  assert.match(r.stdout, /ranks=2 rank=0/, r.describe())
  assert.match(r.stdout, /ranks=2 rank=1/, r.describe())
  assert.match(r.stdout, /ring ok token=43 sum=1/, r.describe())
})

t('a single-file image: saved as squashfs, run from a read-only directory without unpacking, by MPI ranks too', () => {
  if (!world) return void ready('squashfs')
  const saved = skiff(['save', '--format', 'squashfs', '-o', join(world.work, 'mpi.sqsh'), 'mpi'])
  assert.is(saved.status, 0, saved.describe())
  // a shared directory the user may only read, as a site's image directory is
  const shared = join(world.slurm, '..', 'images')
  mkdirSync(shared, { mode: 0o755 })
  const file = join(shared, 'mpi.sqsh')
  writeFileSync(file, readFileSync(join(world.work, 'mpi.sqsh')))
  chmodSync(file, 0o444)
  chmodSync(shared, 0o555)
  const layers = () => spawnSync('sh', ['-c', `ls ${world!.home}/.local/share/skiff/layers | wc -l`], { encoding: 'utf8' }).stdout.trim()
  const before = layers()
  const r = skiff(['run', '--rm', file, 'sh', '-c', 'grep -c " / overlay" /proc/mounts; cat /.skiff/config.json | grep -o "/usr/bin/ring"; echo x > /new && cat /new'])
  assert.is(r.status, 0, r.describe())
  assert.equal(r.stdout.trim().split('\n'), ['1', '/usr/bin/ring', 'x'], r.describe())
  assert.is(layers(), before, 'nothing was unpacked into the store')
  const mpi = as(['srun', '--mpi=pmi2', '-N1', '-n2', skiffBin, 'run', '-e', 'UCX_TLS=sm,self', `sqsh:${file}`])
  assert.is(mpi.status, 0, mpi.describe())
  assert.match(mpi.stdout, /ring ok token=43 sum=1/, mpi.describe())
  const missing = skiff(['run', '--rm', join(shared, 'none.sqsh'), 'true'])
  assert.is(missing.status, 125, missing.describe())
  assert.match(missing.stderr, /^Error: single-file image .*none\.sqsh: no such file or directory/)
})

t('a CDI spec with stand-in devices: nodes bound, mounts, environment, and a createContainer hook', () => {
  if (!world) return void ready('CDI')
  const dir = join(world.slurm, '..', 'cdi')
  mkdirSync(join(dir, 'specs'), { recursive: true })
  // a stand-in device node (the same device as /dev/null) and a stand-in driver library
  spawnSync('mknod', ['-m', '666', join(dir, 'accel0'), 'c', '1', '3'])
  writeFileSync(join(dir, 'libaccel.so.1'), 'stand-in library\n')
  writeFileSync(join(dir, 'hook.sh'), '#!/bin/sh\n# the state on stdin; the root from the bundle\'s config.json\nstate=$(cat)\nbundle=$(echo "$state" | sed \'s/.*"bundle":"\\([^"]*\\)".*/\\1/\')\nroot=$(sed \'s/.*"root":{"path":"\\([^"]*\\)".*/\\1/\' "$bundle/config.json")\necho "$1 $(echo "$state" | grep -o \'"status":"[a-z]*"\')" > "$root/etc/ld.so.cache.hook"\n', { mode: 0o755 })
  writeFileSync(join(dir, 'specs', 'accel.yaml'), [
    'cdiVersion: 0.6.0',
    'kind: example.com/accel',
    'devices:',
    '  - name: "0"',
    '    containerEdits:',
    `      deviceNodes: [{ path: /dev/accel0, hostPath: ${join(dir, 'accel0')} }]`,
    '      env: [ACCEL_VISIBLE=0]',
    'containerEdits:',
    `  mounts: [{ hostPath: ${join(dir, 'libaccel.so.1')}, containerPath: /usr/lib/libaccel.so.1, options: [ro, nosuid, nodev, bind] }]`,
    `  hooks: [{ hookName: createContainer, path: ${join(dir, 'hook.sh')}, args: [hook.sh, update-ldcache] }]`,
    '',
  ].join('\n'))
  spawnSync('chmod', ['-R', 'a+rX', dir])
  const env = { SKIFF_CDI_SPEC_DIRS: join(dir, 'specs') }
  const r = skiff(['run', '--rm', '--device', 'example.com/accel=0', 'busybox', 'sh', '-c', 'test -c /dev/accel0 && echo node; echo $ACCEL_VISIBLE; cat /usr/lib/libaccel.so.1 /etc/ld.so.cache.hook; echo w > /dev/accel0 && echo writable'], { env })
  assert.is(r.status, 0, r.describe())
  assert.equal(r.stdout.trim().split('\n'), ['node', '0', 'stand-in library', 'update-ldcache "status":"creating"', 'writable'], r.describe())
  const unknown = skiff(['run', '--rm', '--device', 'example.com/accel=9', 'busybox', 'true'], { env })
  assert.is(unknown.status, 125)
  assert.match(unknown.stderr, /CDI device example.com\/accel=9 is not in any spec \(example.com\/accel has 0\)/)
  const gpus = skiff(['run', '--rm', '--gpus', 'all', 'busybox', 'true'], { env })
  assert.is(gpus.status, 125)
  assert.match(gpus.stderr, /no CDI spec names an NVIDIA GPU/)
})

t('a read-only additional image store an administrator filled: used, listed, never written', () => {
  if (!world) return void ready('additional stores')
  const store = join(world.slurm, '..', 'site-store')
  const fill = spawnSync(skiffBin, ['load', '-i', busyboxArchive()], { env: { PATH: process.env.PATH, HOME: '/root', SKIFF_ROOT: store }, encoding: 'utf8' })
  assert.is(fill.status, 0, `${fill.stdout}${fill.stderr}`)
  assert.is(spawnSync(skiffBin, ['tag', 'busybox', 'site/tools:1'], { env: { PATH: process.env.PATH, HOME: '/root', SKIFF_ROOT: store } }).status, 0)
  spawnSync('chmod', ['-R', 'a+rX', store])
  const snapshot = () => spawnSync('sh', ['-c', `cd ${store} && find . -printf '%p %s %T@\\n' | sort`], { encoding: 'utf8' }).stdout
  const before = snapshot()
  // a fresh store of the user's own, so that nothing of the image is there
  const env = { SKIFF_ADDITIONAL_STORES: store, SKIFF_ROOT: join(world.work, 'own-store') }
  const r = skiff(['run', '--rm', 'site/tools:1', 'sh', '-c', 'echo from the site store'], { env })
  assert.is(r.status, 0, r.describe())
  assert.is(r.stdout, 'from the site store\n')
  assert.match(skiff(['images', '--format', '{{.Repository}}:{{.Tag}}'], { env }).stdout, /site\/tools:1/)
  const rmi = skiff(['rmi', 'site/tools:1'], { env })
  assert.is(rmi.status, 125, rmi.describe())
  assert.match(rmi.stderr, /is in the read-only store/)
  assert.is(snapshot(), before, 'the additional store is unchanged (no file written, no lock taken)')
  // one that others may write is not used
  chmodSync(store, 0o777)
  const open = skiff(['run', '--rm', 'site/tools:1', 'true'], { env })
  assert.is(open.status, 125, open.describe())
  assert.match(open.stderr, /additional image store .* is not used: writable by others than its owner/)
  chmodSync(store, 0o755)
})

t('scancel of a running step leaves no process, container record, mount or cgroup', async () => {
  if (!world) return void ready('scancel')
  const w = world
  const env = Object.entries(w.env).map(([k, v]) => `${k}=${v}`)
  const job = spawn('runuser', ['-u', user, '--', 'env', '-i', ...env, 'srun', '-n2', skiffBin, 'run', 'busybox', 'sleep', '600'], { cwd: w.work, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  job.stdout.on('data', (d) => (output += d))
  job.stderr.on('data', (d) => (output += d))
  const ended = new Promise<number | null>((r) => job.on('exit', (code) => r(code)))
  let id = ''
  for (let i = 0; i < 300 && !id; i++) {
    await new Promise((r) => setTimeout(r, 100))
    const ps = skiff(['ps', '--no-trunc', '--format', '{{.ID}} {{.Names}}'])
    const line = ps.stdout.split('\n').find((l) => l.includes(' slurm-'))
    // both ranks are in it once two sleeps run
    if (line && liveProcesses().filter((p) => p.includes('sleep 600')).length >= 2) id = line.split(' ')[0]!
  }
  assert.ok(id, `the step's container never ran: ${output}`)
  const jobs = as(['squeue', '-h', '-u', user, '-o', '%i']).stdout.trim().split('\n').filter(Boolean)
  assert.ok(jobs.length > 0, 'the job is in the queue')
  assert.is(as(['scancel', ...jobs]).status, 0)
  const code = await Promise.race([ended, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 60_000))])
  assert.is.not(code, 'hung', `srun did not end after scancel: ${output}`)
  // slurmstepd sends SIGTERM, then SIGKILL after KillWait (5 s): nothing may be left either way
  let left: string[] = []
  for (let i = 0; i < 100; i++) {
    left = liveProcesses()
    if (!left.length) break
    await new Promise((r) => setTimeout(r, 100))
  }
  assert.equal(left, [], 'no process of the user is left')
  assert.is(skiff(['ps', '-aq']).stdout.trim(), '', 'no container record is left')
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes(id) || l.includes(w.home))
  assert.equal(mounts, [], 'no mount is left')
  const cgroups = spawnSync('find', ['/sys/fs/cgroup', '-maxdepth', '8', '-name', `*${id.slice(0, 12)}*`], { encoding: 'utf8' }).stdout.trim()
  assert.is(cgroups, '', 'no cgroup is left')
})

t.run()

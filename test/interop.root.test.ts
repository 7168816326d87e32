// What skiff builds and pushes, podman pulls and runs (issue 22): skiff runs as the unprivileged
// user A; podman too, as A, in a private mount namespace where cgroup2's controllers file reads
// empty (crun 1.8 refuses this hybrid cgroup host otherwise: docs/troubleshooting.md). Runs as
// root only for that namespace and to switch to A. Does I/O.
import { spawnSync } from 'node:child_process'
import { chmodSync, chownSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { busyboxArchive, probe, removeTree, requireEnv, skiffBin, tempDir } from './helpers/env.js'
import { startRegistry, type Registry } from './helpers/registry.js'

const t = suite('interop with podman')
const user = process.env.SKIFF_TEST_USER || 'skiff-test'
let registry: Registry | undefined
t.after(() => registry?.stop())

function ready(what: string): boolean {
  if (!requireEnv(what, process.getuid?.() === 0, 'runs as root, for a private mount namespace (npm test as root runs it)')) return false
  if (!requireEnv(what, spawnSync('id', ['-u', user]).status === 0, `user ${user} is missing: bash test/setup-host.sh makes it`)) return false
  for (const p of [probe.skiff(), probe.command('podman'), probe.command('docker-registry'), probe.command('unshare')]) if (!requireEnv(what, p.ok, p.reason)) return false
  return requireEnv(what, spawnSync('runuser', ['-u', user, '--', 'test', '-x', skiffBin]).status === 0, `${user} cannot run ${skiffBin}: set SKIFF_BIN to a copy it can reach`)
}

t('an image skiff built and pushed: podman pulls it and runs it, with its user, files and command', async () => {
  if (!ready('podman interop')) return
  registry = await startRegistry()
  const home = tempDir('skiff-interop-')
  chmodSync(home, 0o755)
  const uid = Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout.trim())
  const empty = join(home, 'empty')
  writeFileSync(empty, '')
  const env = ['env', '-i', 'PATH=/usr/local/bin:/usr/bin:/bin', `HOME=${home}`, `USER=${user}`, `XDG_RUNTIME_DIR=${join(home, 'run')}`, `SKIFF_ROOT=${join(home, 'store')}`]
  mkdirSync(join(home, 'run'), { mode: 0o700 })
  mkdirSync(join(home, 'ctx'))
  copyFileSync(busyboxArchive('docker'), join(home, 'busybox.tar'))
  writeFileSync(join(home, 'ctx', 'Dockerfile'), 'FROM busybox\nRUN mkdir /data && echo made-by-skiff > /data/msg && echo worker:x:1234:1234::/data:/bin/sh >> /etc/passwd\nUSER worker\nWORKDIR /data\nCMD ["sh", "-c", "cat msg; id -un"]\n')
  spawnSync('chown', ['-R', `${uid}:${uid}`, home])
  chownSync(home, uid, uid)
  // skiff and podman both in the namespace where cgroup2 lists no controllers
  const inNs = (cmd: string) => spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c',
    `{ ! grep -qs . /sys/fs/cgroup/unified/cgroup.controllers || mount --bind ${empty} /sys/fs/cgroup/unified/cgroup.controllers; } && cd ${home} && exec runuser -u ${user} -- ${env.join(' ')} sh -c '${cmd}'`], { encoding: 'utf8', timeout: 300_000 })
  // podman's pause process holds the user's namespaces: one started outside ours would be reused
  spawnSync('pkill', ['-u', user, 'catatonit'])
  try {
    const reg = registry.host
    const skiff = inNs(`${skiffBin} load -q -i busybox.tar && ${skiffBin} build -q -t made:1 ctx && ${skiffBin} push made:1 ${reg}/interop/made:1`)
    assert.is(skiff.status, 0, skiff.stdout + skiff.stderr)
    const podman = inNs(`podman --root ${home}/podman --runroot ${home}/run/podman run --rm --tls-verify=false ${reg}/interop/made:1`)
    assert.is(podman.stdout, 'made-by-skiff\nworker\n', podman.stderr)
  } finally {
    inNs(`podman --root ${home}/podman --runroot ${home}/run/podman system reset -f >/dev/null 2>&1; true`)
    spawnSync('pkill', ['-u', user, 'catatonit'])
    removeTree(home)
  }
})

t.run()

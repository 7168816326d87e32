// opencontainers/runtime-tools' validation suite against skiff-runc and crun, root and rootless,
// side by side on this machine (issue 26; test/runtime-tools/: the suite built from Debian's source
// package). A program crun passes cleanly must pass cleanly for skiff too, but for the ones named
// below with the reason; the totals are printed (docs/oci-runtime.md has them). Runs as root to
// build the suite and act as the test user. Does I/O (~5 minutes).
import { spawnSync } from 'node:child_process'
import { chmodSync, copyFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { probe, removeTree, repoRoot, requireEnv, skiffBin, tempDir } from './helpers/env.js'

const user = process.env.SKIFF_TEST_USER || 'skiff-test'
const suite = process.env.SKIFF_RUNTIME_TOOLS_DIR || '/var/cache/skiff-runtime-tools'
const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0

/** What crun passes and skiff cannot, and why. */
const EXPECTED: Record<'root' | 'rootless', Record<string, string>> = {
  root: {
    linux_ns_itype: 'skiff always makes a mount namespace (its root filesystem needs one); the test wants the host\'s',
    ...Object.fromEntries(['linux_cgroups_cpus', 'linux_cgroups_devices', 'linux_cgroups_pids', 'linux_cgroups_relative_cpus', 'linux_cgroups_relative_devices', 'linux_cgroups_relative_pids', 'delete_resources']
      .map((p) => [p, 'cgroup v1 on this hybrid host: crun drives it as root, skiff is cgroup v2 only'])),
  },
  rootless: {},
}

interface Score { pass: number; fail: number; skip: number }

function run(argv: string[]): Map<string, Score> {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 900_000 })
  assert.is(r.status, 0, `${argv.join(' ')}\n${r.stdout}${r.stderr}`)
  const scores = new Map<string, Score>()
  for (const line of r.stdout.trim().split('\n')) {
    const [name, pass, fail, skip] = line.split(' ')
    scores.set(name!, { pass: Number(pass), fail: Number(fail), skip: Number(skip) })
  }
  return scores
}

test('runtime-tools validation: skiff-runc clean wherever crun is (but for the reasons named), root and rootless', () => {
  if (!requireEnv('runtime-tools', process.getuid?.() === 0, 'runs as root, to build the suite and act as the test user')) return
  for (const tool of ['crun', 'unshare', 'runuser']) if (!requireEnv('runtime-tools', has(tool), `${tool} is missing: bash test/setup-host.sh installs it`)) return
  if (!requireEnv('runtime-tools', probe.skiff().ok, probe.skiff().reason)) return
  const built = spawnSync('bash', [join(repoRoot, 'test', 'runtime-tools', 'build.sh'), suite], { encoding: 'utf8', timeout: 600_000 })
  assert.is(built.status, 0, `the suite did not build:\n${built.stdout}${built.stderr}`)
  const work = tempDir('skiff-runtime-tools-')
  chmodSync(work, 0o755)
  try {
    copyFileSync(join(repoRoot, 'test', 'runtime-tools', 'validate.sh'), join(work, 'validate.sh'))
    copyFileSync(skiffBin, join(work, 'skiff'))
    chmodSync(join(work, 'skiff'), 0o755)
    symlinkSync('skiff', join(work, 'skiff-runc'))
    writeFileSync(join(work, 'empty'), '')
    spawnSync('chmod', ['-R', 'a+rX', suite, work])
    const uid = spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout.trim()
    // crun refuses this hybrid host unless cgroup2's controllers file reads empty: both get that
    const mask = `{ ! grep -qs . /sys/fs/cgroup/unified/cgroup.controllers || mount --bind ${work}/empty /sys/fs/cgroup/unified/cgroup.controllers; }`
    const inNs = (cmd: string) => ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', `${mask} && cd ${work} && ${cmd}`]
    const asUser = `exec runuser -u ${user} -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=${work} USER=${user} XDG_RUNTIME_DIR=/run/user/${uid}`
    const crun = spawnSync('sh', ['-c', 'command -v crun'], { encoding: 'utf8' }).stdout.trim()
    const problems: string[] = []
    const totals: string[] = []
    for (const mode of ['root', 'rootless'] as const) {
      const score = (runtime: string) => run(inNs(`${mode === 'rootless' ? `${asUser} ` : ''}bash ${work}/validate.sh ${suite} ${runtime}`))
      const skiff = score(join(work, 'skiff-runc'))
      const them = score(crun)
      for (const [name, s] of skiff) {
        if (name === 'TOTAL') continue
        if (s.fail > 0 && them.get(name)?.fail === 0 && !EXPECTED[mode][name]) problems.push(`${mode}: ${name} fails for skiff (${s.fail}) and passes for crun`)
      }
      const t = (m: Map<string, Score>) => { const s = m.get('TOTAL')!; return `${s.pass} passed / ${s.fail} failed / ${s.skip} skipped` }
      totals.push(`${mode}: skiff-runc ${t(skiff)}; crun ${t(them)}`)
    }
    console.log(totals.join('\n'))
    assert.equal(problems, [], problems.join('\n'))
  } finally {
    removeTree(work)
  }
})

test.run()

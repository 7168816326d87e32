// bench/startup.mjs — `run --rm IMAGE true` start-up, skiff beside podman, crun and bwrap, in one
// hyperfine run as the same unprivileged user with a clean environment. Writes docs/benchmarks.md.
//
// Run as root on a machine prepared by test/setup-host.sh (it is called here): `npm run bench`.
// The environment is cleared (`env -i` with PATH, HOME, XDG_RUNTIME_DIR) because this machine sets
// NODE_EXTRA_CA_CERTS, which adds ~35 ms to every Node start, skiff's included.
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const user = process.env.SKIFF_TEST_USER || 'skiff-test'
const runs = Number(process.env.BENCH_RUNS || 40)
const work = '/tmp/skiff-bench'

function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...opts })
}

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0
}

if (process.getuid() !== 0) {
  console.error('bench: run as root (it installs the peers and runs them as the unprivileged test user)')
  process.exit(2)
}

// 1. The machine and the peers.
sh('bash', [join(root, 'test', 'setup-host.sh')], { stdio: 'inherit' })
const peers = { hyperfine: 'hyperfine', podman: 'podman', crun: 'crun', bwrap: 'bubblewrap' }
const missing = Object.entries(peers).filter(([cmd]) => !have(cmd)).map(([, pkg]) => pkg)
if (missing.length) {
  sh('apt-get', ['update', '-qq'], { stdio: 'inherit' })
  sh('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
}
if (!existsSync(join(root, 'dist', 'skiff'))) sh('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' })

// 2. One image for every tool: the busybox image the tests build, offline.
rmSync(work, { recursive: true, force: true })
mkdirSync(work, { recursive: true })
chmodSync(work, 0o755)
const archive = join(work, 'busybox.tar')
sh('node', [join(root, 'test', 'fixtures', 'make-busybox-image.mjs'), archive], { stdio: 'inherit' })
sh('cp', [join(root, 'dist', 'skiff'), join(work, 'skiff')])
sh('chown', ['-R', user, work])

const uid = Number(sh('id', ['-u', user]).trim())
const home = sh('sh', ['-c', `getent passwd ${user} | cut -d: -f6`]).trim()
const store = join(work, 'store')
const cleanEnv = ['env', '-i', 'PATH=/usr/local/bin:/usr/bin:/bin', `HOME=${home}`, `XDG_RUNTIME_DIR=/run/user/${uid}`, `USER=${user}`, `SKIFF_ROOT=${store}`]
// crun 1.8 (podman's runtime here) refuses a hybrid cgroup host whose cgroup2 tree lists any
// controller ("cgroups in hybrid mode not supported"); this machine's lists hugetlb. Every tool
// therefore runs in a private mount namespace where that one file reads empty — the machine
// itself is untouched, and skiff runs in the same namespace, so the comparison stays fair.
const controllers = '/sys/fs/cgroup/unified/cgroup.controllers'
const empty = join(work, 'empty')
writeFileSync(empty, '')
const maskCgroup = existsSync(controllers) && readFileSync(controllers, 'utf8').trim() !== ''
const inNs = (argv) =>
  maskCgroup ? ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', `mount --bind ${empty} ${controllers} && exec "$@"`, 'sh', ...argv] : argv
const asUserArgv = (argv) => inNs(['runuser', '-u', user, '--', ...cleanEnv, ...argv])
const asUser = (script) => {
  const [cmd, ...args] = asUserArgv(['sh', '-c', script])
  return sh(cmd, args, { cwd: work })
}
// podman keeps a pause process holding its namespaces; a new one must start inside ours
spawnSync('pkill', ['-u', user, 'catatonit'])

asUser('./skiff load -q -i busybox.tar')
// crun and bwrap get the same root filesystem as a plain directory (a bundle, as runc users make).
asUser(`mkdir -p bundle/rootfs && tar -xf busybox.tar -C bundle && for l in $(python3 -c "import json;print(' '.join(json.load(open('bundle/manifest.json'))[0]['Layers']))"); do tar -xf bundle/$l -C bundle/rootfs 2>/dev/null || true; done`)
asUser('cd bundle && crun spec --rootless && python3 - <<EOF\nimport json\nc=json.load(open("config.json"))\nc["process"]["args"]=["true"]\nc["process"]["terminal"]=False\njson.dump(c,open("config.json","w"))\nEOF')
// podman gets the same tree by `podman import`: its vfs driver gives the root of an image without
// a "./" entry (as the fixture's layers are) mode 0700, and crun then cannot exec in it.
asUser('podman rm -af >/dev/null 2>&1; (tar -C bundle/rootfs -c . 2>/dev/null || true) | podman import -q - skiff-bench-busybox >/dev/null')

// hyperfine -N runs commands without a shell: SKIFF_ROOT comes from the clean environment.
const skiff = `${work}/skiff`
const cases = [
  ['skiff', `${skiff} run --rm busybox true`],
  ['podman --network=none', 'podman run --rm --network=none skiff-bench-busybox true'],
  ['podman (default network)', 'podman run --rm skiff-bench-busybox true'],
  ['crun run (bundle)', `crun --cgroup-manager=disabled run -b ${work}/bundle skiff-bench`],
  ['bwrap', `bwrap --unshare-all --bind ${work}/bundle/rootfs / --proc /proc --dev /dev true`],
  ['skiff --version', `${work}/skiff --version`],
]
// A peer that cannot run here is left out of the timing run, and the report says why.
const failed = []
const working = cases.filter(([name, cmd]) => {
  const [c, ...a] = asUserArgv(cmd.split(' '))
  const r = spawnSync(c, a, { cwd: work, encoding: 'utf8' })
  if (r.status === 0) return true
  failed.push([name, (r.stderr || r.stdout || `status ${r.status}`).trim().split('\n').pop()])
  return false
})
const out = join(work, 'startup.json')
const hyperfineArgs = ['hyperfine', '-N', '--warmup', '5', '--runs', String(runs), '--export-json', out]
for (const [name, cmd] of working) hyperfineArgs.push('-n', name, cmd)
{
  const [cmd, ...args] = asUserArgv(hyperfineArgs)
  sh(cmd, args, { cwd: work, stdio: 'inherit' })
}

// 3. The report.
const results = JSON.parse(readFileSync(out, 'utf8')).results
const ms = (s) => (s * 1000).toFixed(1)
const skiffMedian = results[0].median
const version = (cmd) => spawnSync('sh', ['-c', cmd], { encoding: 'utf8' }).stdout.trim().split('\n')[0]
const rows = results.map((r) => `| ${r.command} | ${ms(r.median)} | ${ms(r.min)} | ${ms(r.max)} | ${(r.median / skiffMedian).toFixed(2)} |`)
const md = `# Benchmarks

Measured by \`npm run bench\` (\`node bench/startup.mjs\`, as root; every tool runs as the unprivileged user
\`${user}\` with a clean environment: \`env -i PATH HOME XDG_RUNTIME_DIR USER SKIFF_ROOT\` — this machine sets
NODE_EXTRA_CA_CERTS, which adds ~35 ms to any Node start). hyperfine, ${runs} runs after 5 warm-up
runs, the tools interleaved in one run. Image: busybox built from Debian's busybox-static
(test/fixtures/make-busybox-image.mjs), the same files for every tool.

## \`run --rm IMAGE true\`

| command | median ms | min ms | max ms | median ÷ skiff's |
|---|---|---|---|---|
${rows.join('\n')}

Every tool ran in a private mount namespace where ${controllers} reads empty: crun 1.8 refuses
this hybrid cgroup host otherwise (it lists hugetlb). skiff's network here is loopback only (user-mode networking arrives with its own issue), so the
fair podman figure is \`--network=none\`.

${failed.length ? `Could not run here (left out): ${failed.map(([n, e]) => `${n}: \`${e}\``).join('; ')}. The anchors measured\nearlier on this kind of machine (../shared/DESIGN.md): podman run --rm busybox true 103 ms, --network=none 96 ms.\n` : ''}
Commands:
${cases.map(([n, c]) => `- ${n}: \`${c.replace(work, '$BENCH').replace(work, '$BENCH')}\``).join('\n')}

Versions: ${version(`${work}/skiff --version`)}; ${version('podman --version')}; ${version('crun --version')};
${version('bwrap --version')}; ${version('hyperfine --version')}; kernel ${version('uname -r')}.
Measured ${new Date().toISOString().slice(0, 10)}.
`
writeFileSync(join(root, 'docs', 'benchmarks.md'), md)
process.stdout.write(`\nbench: wrote docs/benchmarks.md\n${rows.join('\n')}\n`)

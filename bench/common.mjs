// bench/common.mjs — what every benchmark shares: root check, the peers from Debian, the
// unprivileged user with a clean environment, the busybox image for every tool, and the report
// sections of docs/benchmarks.md.
//
// The environment is cleared (`env -i` with PATH, HOME, XDG_RUNTIME_DIR) because this machine sets
// NODE_EXTRA_CA_CERTS, which adds ~35 ms to every Node start, skiff's included.
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = dirname(dirname(fileURLToPath(import.meta.url)))
export const user = process.env.SKIFF_TEST_USER || 'skiff-test'

export function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...opts })
}

export function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0
}

export function version(cmd) {
  return spawnSync('sh', ['-c', cmd], { encoding: 'utf8' }).stdout.trim().split('\n')[0]
}

/** Root check, the machine prepared as the tests prepare it, the missing peers installed, skiff built. */
export function prepareMachine(peers) {
  if (process.getuid() !== 0) {
    console.error('bench: run as root (it installs the peers and runs them as the unprivileged test user)')
    process.exit(2)
  }
  sh('bash', [join(root, 'test', 'setup-host.sh'), '--no-vm', '--build-deps'], { stdio: 'inherit' })
  const missing = Object.entries(peers).filter(([cmd]) => !have(cmd)).map(([, pkg]) => pkg)
  if (missing.length) {
    sh('apt-get', ['update', '-qq'], { stdio: 'inherit' })
    sh('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  }
  ensureBuilt()
}

/**
 * dist/skiff, built unless it is already the build of this very tree: a build left from an
 * earlier commit would be measured under this one's name. The docs, which the bench writes as it
 * goes, do not count.
 */
export function ensureBuilt() {
  const exe = join(root, 'dist', 'skiff')
  const git = (...args) => spawnSync('git', ['-C', root, ...args], { encoding: 'utf8' }).stdout?.trim() ?? ''
  const head = git('rev-parse', '--short', 'HEAD')
  const changed = git('status', '--porcelain', '--untracked-files=no', '--', '.', ':!docs') !== ''
  const built = existsSync(exe) ? (spawnSync(exe, ['--version'], { encoding: 'utf8' }).stdout ?? '').trim() : ''
  if (changed || !head || !built.endsWith(`+${head}`)) sh('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' })
}

/**
 * A work directory owned by the test user, with commands to run there as that user. crun 1.8
 * (podman's runtime here) refuses a hybrid cgroup host whose cgroup2 tree lists any controller
 * ("cgroups in hybrid mode not supported"); this machine's lists hugetlb. Every tool therefore runs
 * in a private mount namespace where that one file reads empty — the machine itself is untouched,
 * and skiff runs in the same namespace, so the comparison stays fair.
 */
export function userWorkspace(work) {
  rmSync(work, { recursive: true, force: true })
  mkdirSync(work, { recursive: true })
  chmodSync(work, 0o755)
  const uid = Number(sh('id', ['-u', user]).trim())
  const home = sh('sh', ['-c', `getent passwd ${user} | cut -d: -f6`]).trim()
  const store = join(work, 'store')
  const cleanEnv = ['env', '-i', 'PATH=/usr/local/bin:/usr/bin:/bin', `HOME=${home}`, `XDG_RUNTIME_DIR=/run/user/${uid}`, `USER=${user}`, `SKIFF_ROOT=${store}`]
  const controllers = '/sys/fs/cgroup/unified/cgroup.controllers'
  const empty = join(work, 'empty')
  writeFileSync(empty, '')
  const maskCgroup = existsSync(controllers) && readFileSync(controllers, 'utf8').trim() !== ''
  const inNs = (argv) =>
    maskCgroup ? ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', `mount --bind ${empty} ${controllers} && exec "$@"`, 'sh', ...argv] : argv
  const asUserArgv = (argv) => inNs(['runuser', '-u', user, '--', ...cleanEnv, ...argv])
  const asUser = (script, opts = {}) => {
    const [cmd, ...args] = asUserArgv(['sh', '-c', script])
    return sh(cmd, args, { cwd: work, ...opts })
  }
  sh('cp', [join(root, 'dist', 'skiff'), join(work, 'skiff')])
  sh('chown', ['-R', user, work])
  return { work, uid, store, asUser, asUserArgv, skiff: join(work, 'skiff'), maskCgroup, controllers }
}

/**
 * The busybox test image for every tool: loaded into skiff; for crun and bwrap a bundle (as runc
 * users make); for podman `podman import` of the same tree (its vfs driver gives the root of an
 * image without a "./" entry, as the fixture's layers are, mode 0700, and crun then cannot exec).
 */
export function prepareBusybox(ws) {
  const { work, asUser } = ws
  sh('node', [join(root, 'test', 'fixtures', 'make-busybox-image.mjs'), join(work, 'busybox.tar')], { stdio: 'inherit' })
  sh('chown', [user, join(work, 'busybox.tar')])
  // podman keeps a pause process holding its namespaces; a new one must start inside ours
  spawnSync('pkill', ['-u', user, 'catatonit'])
  asUser('./skiff load -q -i busybox.tar')
  asUser(`mkdir -p bundle/rootfs && tar -xf busybox.tar -C bundle && for l in $(python3 -c "import json;print(' '.join(json.load(open('bundle/manifest.json'))[0]['Layers']))"); do tar -xf bundle/$l -C bundle/rootfs 2>/dev/null || true; done`)
  asUser('cd bundle && crun spec --rootless && python3 - <<EOF\nimport json\nc=json.load(open("config.json"))\nc["process"]["args"]=["true"]\nc["process"]["terminal"]=False\njson.dump(c,open("config.json","w"))\nEOF')
  asUser('podman rm -af >/dev/null 2>&1; (tar -C bundle/rootfs -c . 2>/dev/null || true) | podman import -q - skiff-bench-busybox >/dev/null')
}

/**
 * An image with iperf3: the busybox tree (prepareBusybox first) plus the host's iperf3 and the
 * libraries it loads; `iperf` in skiff, `bench-iperf` in podman. The host's iperf3 path.
 */
export function prepareIperfImage(ws) {
  const { work, asUser } = ws
  const rootfs = join(work, 'iperf-root')
  sh('cp', ['-a', join(work, 'bundle', 'rootfs'), rootfs])
  // the bundle was made by plain tar: layer whiteouts are files there, not wanted in an image
  sh('find', [rootfs, '-name', '.wh.*', '-delete'])
  const iperf = sh('sh', ['-c', 'command -v iperf3']).trim()
  const libs = sh('ldd', [iperf]).split('\n').map((l) => /(\/\S+)/.exec(l)?.[1]).filter(Boolean)
  for (const f of [iperf, ...libs]) {
    const to = join(rootfs, f)
    mkdirSync(dirname(to), { recursive: true })
    copyFileSync(f, to)
    chmodSync(to, 0o755)
  }
  sh('chown', ['-R', user, rootfs])
  asUser('tar -C iperf-root -cf iperf-root.tar . && podman import -q iperf-root.tar bench-iperf >/dev/null && rm -f iperf.tar && podman save -q -o iperf.tar bench-iperf && ./skiff load -q -i iperf.tar && ./skiff tag localhost/bench-iperf:latest iperf')
  return iperf
}

/**
 * Put `md` (which starts with "## TITLE…") into docs/benchmarks.md in place of the section whose
 * heading starts the same way, or at the end. Each bench script owns its sections.
 */
export function replaceSection(headingPrefix, md) {
  const doc = join(root, 'docs', 'benchmarks.md')
  const old = existsSync(doc) ? readFileSync(doc, 'utf8') : '# Benchmarks\n'
  const start = old.indexOf(`\n## ${headingPrefix}`)
  if (start < 0) return writeFileSync(doc, `${old.trimEnd()}\n\n${md.trim()}\n`)
  const next = old.indexOf('\n## ', start + 1)
  writeFileSync(doc, `${old.slice(0, start).trimEnd()}\n\n${md.trim()}\n${next >= 0 ? `\n${old.slice(next + 1)}` : ''}`)
}

/**
 * Wait (up to 3 min) until the disk is quiet: the share of time some task waited for I/O over the
 * last 10 s (/proc/pressure/io, "some avg10") below 2%. Removing a few GB here (ext4 with online
 * discard) keeps the disk busy for about a minute after rm returns, and whatever is measured in
 * that minute ran up to 2x slower, every tool alike. Without PSI there is nothing to wait on.
 */
export function quietDisk() {
  const pressure = () => {
    try {
      return Number(/some avg10=([0-9.]+)/.exec(readFileSync('/proc/pressure/io', 'utf8'))?.[1] ?? 0)
    } catch {
      return 0
    }
  }
  const pause = new Int32Array(new SharedArrayBuffer(4))
  const start = Date.now()
  let told = false
  for (let p = pressure(); p >= 2; p = pressure()) {
    if (Date.now() - start > 180_000) {
      process.stdout.write(`bench: the disk is still busy after 3 min (I/O pressure ${p}%): measuring anyway\n`)
      return
    }
    if (!told) process.stdout.write(`bench: waiting for the disk to settle (I/O pressure ${p}% over the last 10 s)\n`)
    told = true
    Atomics.wait(pause, 0, 0, 2000)
  }
}

/** Programs the tools start for themselves, dropped from the page cache with the tools. */
const HELPERS = ['conmon', 'crun', 'runc', 'catatonit', 'pasta', 'slirp4netns', 'fuse-overlayfs', 'newuidmap', 'newgidmap']

/**
 * Drop every program the commands of `cases` name (and the helpers tools start) from the page
 * cache, so that each tool is read back from disk by its warm-up runs. A file written a moment ago (skiff's copy in the work
 * directory, a package just installed) starts faster than the same file read back from disk:
 * here `skiff --version` took 25.4 ms from a fresh copy and 27.4 ms after its pages were dropped
 * and faulted back in by exec (40 interleaved runs; presumably the write left larger folios in
 * the page cache). Left as they are, the tools would start from whatever state they happen to be
 * in (docs/architecture.md).
 */
export function evictExecutables(cases, cwd) {
  // every word of the commands that names a program: `./skiff` in the work directory, `podman`
  // on PATH, and those inside `sh -c '...'` scripts (other files found this way do no harm)
  const words = new Set(HELPERS)
  for (const [, cmd] of cases) for (const w of cmd.split(/[\s;'"()$|&<>`]+/)) if (/^[\w./+-]+$/.test(w) && !w.includes('=')) words.add(w)
  const paths = new Set([process.execPath])
  const bare = []
  for (const w of words) {
    if (w.includes('/')) {
      const path = resolve(cwd, w)
      if (statSync(path, { throwIfNoEntry: false })?.isFile()) paths.add(path)
    } else bare.push(w)
  }
  // one shell for all the lookups; only programs (absolute paths), not builtins or keywords
  const found = spawnSync('sh', ['-c', 'for w; do command -v "$w"; done', 'sh', ...bare], { encoding: 'utf8' }).stdout ?? ''
  for (const line of found.split('\n')) if (line.startsWith('/')) paths.add(line)
  for (const path of paths) {
    // written back first (dirty pages stay); then GNU dd's iflag=nocache with count=0 drops the
    // whole file's cached pages, but those a running process maps
    spawnSync('sync', [path], { stdio: 'ignore' })
    spawnSync('dd', [`if=${path}`, 'iflag=nocache', 'count=0', 'status=none'], { stdio: 'ignore' })
  }
  return [...paths]
}

/**
 * hyperfine as the test user over [name, command] cases, without a shell (-N), written to `out`
 * (JSON); its results, in the cases' order. It starts once the disk is quiet, with every tool's
 * executable out of the page cache (the warm-up runs read them back).
 */
export function hyperfine(ws, cases, { runs, warmup = 0, out, prepare }) {
  quietDisk()
  evictExecutables(cases, ws.work)
  const args = ['hyperfine', '-N', ...(warmup ? ['--warmup', String(warmup)] : []), '--runs', String(runs), '--export-json', out]
  // `prepare`: a shell command per case, run before each of its runs
  for (const [i, [name, cmd]] of cases.entries()) args.push(...(prepare ? ['--prepare', `sh -c '${prepare[i]}'`] : []), '-n', name, cmd)
  const [cmd, ...rest] = ws.asUserArgv(args)
  sh(cmd, rest, { cwd: ws.work, stdio: 'inherit' })
  return JSON.parse(readFileSync(out, 'utf8')).results
}

/** The machine's own Debian mirror (apt's sources), which may be the only one it reaches. */
function debianMirror() {
  const read = (f) => (existsSync(f) ? readFileSync(f, 'utf8') : '')
  const deb822 = /^URIs:\s*(\S+\/debian)\/?\s*$/m.exec(read('/etc/apt/sources.list.d/debian.sources'))
  const oneLine = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\/?\s+\S+/m.exec(read('/etc/apt/sources.list'))
  return deb822?.[1] ?? oneLine?.[1] ?? 'http://deb.debian.org/debian'
}

/**
 * Debian 12 minbase (`debootstrap --variant=minbase bookworm` from the machine's mirror) at
 * `dir`, made once and kept; false where debootstrap cannot reach a mirror.
 */
export function debianMinbase(dir = '/var/cache/skiff-bench/debian-minbase') {
  if (existsSync(join(dir, 'etc', 'debian_version'))) return true
  if (!have('debootstrap')) spawnSync('apt-get', ['install', '-y', '-qq', 'debootstrap'], { stdio: 'inherit' })
  rmSync(`${dir}.new`, { recursive: true, force: true })
  mkdirSync(dirname(dir), { recursive: true })
  const r = spawnSync('debootstrap', ['--variant=minbase', 'bookworm', `${dir}.new`, debianMirror()], { stdio: ['ignore', 'ignore', 'inherit'] })
  if (r.status !== 0) return false
  sh('mv', [`${dir}.new`, dir])
  return true
}

// bench/pull.mjs — pull of a ~100 MB Debian image and of the busybox image from a registry on
// 127.0.0.1 into an empty store: skiff beside `podman pull` and `skopeo copy` (download only, no
// unpack), in one hyperfine run as the unprivileged test user; and skiff's layer unpack throughput
// (`skiff load` of an OCI layout directory: no network). Writes its section of
// docs/benchmarks.md. Run as root.
//
// The Debian image is `debootstrap --variant=minbase bookworm` from the machine's Debian mirror
// (made once, kept in /var/cache/skiff-bench), one gzip layer without /dev, /proc, /sys and the
// downloaded .debs, as Docker's debian images are. Where debootstrap cannot reach a mirror, the
// image is made from the host's own trees instead (Python's and Perl's libraries, one layer per
// tree), and the report says so.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { create } from 'tar'
import { debianMinbase, ensureBuilt, quietDisk, replaceSection, version } from './common.mjs'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const user = process.env.SKIFF_TEST_USER || 'skiff-test'
const work = '/tmp/skiff-bench-pull'
const port = 5077
const sh = (cmd, args, opts = {}) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...opts })

if (process.getuid() !== 0) {
  console.error('bench: run as root')
  process.exit(2)
}
sh('bash', [join(root, 'test', 'setup-host.sh'), '--no-vm', '--build-deps'], { stdio: 'inherit' })
for (const [cmd, pkg] of [['hyperfine', 'hyperfine'], ['podman', 'podman'], ['skopeo', 'skopeo'], ['docker-registry', 'docker-registry']]) {
  if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) sh('apt-get', ['install', '-y', '-qq', pkg], { stdio: 'inherit' })
}
ensureBuilt()
rmSync(work, { recursive: true, force: true })
mkdirSync(join(work, 'layout', 'blobs', 'sha256'), { recursive: true })

// 1. The image: Debian minbase (else the host's trees), gzip layers, an OCI layout.
const minbase = '/var/cache/skiff-bench/debian-minbase'
const debian = debianMinbase(minbase)
const trees = debian ? ['.'] : ['usr/lib/python3.11', 'usr/share/perl', 'usr/lib/x86_64-linux-gnu/perl'].filter((t) => existsSync(`/${t}`))
const blob = (file) => {
  const digest = createHash('sha256').update(readFileSync(file)).digest('hex')
  renameSync(file, join(work, 'layout', 'blobs', 'sha256', digest))
  return { digest: `sha256:${digest}`, size: statSync(join(work, 'layout', 'blobs', 'sha256', digest)).size }
}
const layers = []
const diffIds = []
let uncompressed = 0
for (const [i, tree] of trees.entries()) {
  const raw = join(work, `layer${i}.tar`)
  if (debian) sh('tar', ['--numeric-owner', '--exclude=./dev/*', '--exclude=./proc/*', '--exclude=./sys/*', '--exclude=./var/cache/apt/archives/*.deb', '-C', minbase, '-cf', raw, '.'])
  else await create({ cwd: '/', file: raw, portable: true }, [tree])
  uncompressed += statSync(raw).size
  diffIds.push(`sha256:${createHash('sha256').update(readFileSync(raw)).digest('hex')}`)
  sh('gzip', ['-6', raw])
  layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...blob(`${raw}.gz`) })
}
const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: diffIds } }))
writeFileSync(join(work, 'config'), config)
const configDesc = { mediaType: 'application/vnd.oci.image.config.v1+json', ...blob(join(work, 'config')) }
const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: configDesc, layers }))
writeFileSync(join(work, 'manifest'), manifest)
const manifestDesc = { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...blob(join(work, 'manifest')), annotations: { 'org.opencontainers.image.ref.name': 'big' } }
writeFileSync(join(work, 'layout', 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [manifestDesc] }))
writeFileSync(join(work, 'layout', 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
const compressed = layers.reduce((n, l) => n + l.size, 0)

/** Is `dir` on ext4 without a journal (whose inode allocator skips inodes freed in the last 60 s)? */
function noJournal(dir) {
  const source = spawnSync('findmnt', ['-no', 'SOURCE,FSTYPE', '-T', dir], { encoding: 'utf8' }).stdout.trim().split(/\s+/)
  if (source[1] !== 'ext4' || !source[0]?.startsWith('/dev/')) return false
  const task = join('/sys/fs/ext4', source[0].slice('/dev/'.length), 'journal_task')
  return existsSync(task) && readFileSync(task, 'utf8').trim() === '<none>'
}

// 2. The registry, and the image in it.
writeFileSync(join(work, 'registry.yml'), `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${work}/registry\nhttp:\n  addr: 127.0.0.1:${port}\n`)
const registry = spawn('docker-registry', ['serve', join(work, 'registry.yml')], { stdio: 'ignore' })
try {
  await new Promise((r) => setTimeout(r, 1000))
  sh('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${join(work, 'layout')}:big`, `docker://127.0.0.1:${port}/bench/big:1`])
  // and the small one every other bench uses: busybox-static in two layers
  sh('node', [join(root, 'test', 'fixtures', 'make-busybox-image.mjs'), join(work, 'busybox.tar')], { stdio: 'inherit' })
  sh('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `docker-archive:${join(work, 'busybox.tar')}`, `docker://127.0.0.1:${port}/bench/busybox:1`])
  const smallSize = statSync(join(work, 'busybox.tar')).size
  sh('cp', [join(root, 'dist', 'skiff'), join(work, 'skiff')])
  sh('chown', ['-R', user, work])
  chmodSync(work, 0o755)
  const uid = sh('id', ['-u', user]).trim()
  const home = sh('sh', ['-c', `getent passwd ${user} | cut -d: -f6`]).trim()
  const env = ['env', '-i', 'PATH=/usr/local/bin:/usr/bin:/bin', `HOME=${home}`, `XDG_RUNTIME_DIR=/run/user/${uid}`, `USER=${user}`, `SKIFF_ROOT=${work}/store`]
  const image = `127.0.0.1:${port}/bench/big:1`
  const small = `127.0.0.1:${port}/bench/busybox:1`
  const out = join(work, 'pull.json')
  // Every run starts from a new, empty store: the prepare step moves the last one aside rather
  // than removing it. This machine's root is ext4 without a journal, whose inode allocator skips
  // inodes freed in the last 60 s (ext4's "recently deleted" check, only without a journal):
  // removing the 6,600 files of the last run right before made the next unpack 3-4× slower
  // (GNU tar too: 1.0 → 4.2 s), whichever tool did it. The aside stores go when the bench ends.
  mkdirSync(join(work, 'aside'), { recursive: true })
  const aside = (dir) => `mv ${dir} ${work}/aside/$(date +%s%N) 2>/dev/null; true`
  const podman = `podman --root ${work}/podman-root --runroot ${work}/podman-run`
  const podmanAside = `${aside(`${work}/podman-root`)}; rm -rf ${work}/podman-run`
  const cases = [
    ['skiff pull', `${work}/skiff pull -q ${image}`, aside(`${work}/store`)],
    ['podman pull', `${podman} pull -q --tls-verify=false ${image}`, podmanAside],
    ['skopeo copy (no unpack)', `skopeo copy --quiet --src-tls-verify=false docker://${image} oci:${work}/copy:big`, aside(`${work}/copy`)],
    ['skiff load (unpack only)', `${work}/skiff load -q -i ${work}/layout`, aside(`${work}/store`)],
    ['skiff pull busybox', `${work}/skiff pull -q ${small}`, aside(`${work}/store`)],
    ['podman pull busybox', `${podman} pull -q --tls-verify=false ${small}`, podmanAside],
    ['skopeo copy busybox (no unpack)', `skopeo copy --quiet --src-tls-verify=false docker://${small} oci:${work}/copy:small`, aside(`${work}/copy`)],
  ]
  // prepare commands run through a shell
  const args = ['hyperfine', '--warmup', '1', '--runs', String(process.env.BENCH_PULL_RUNS || 5), '--export-json', out]
  for (const [name, cmd, prep] of cases) args.push('--prepare', `${prep} >/dev/null 2>&1 || true`, '-n', name, cmd)
  sh('chown', [user, join(work, 'aside')])
  // Files the benches before this one removed (podman's vfs copies a whole root filesystem per
  // container) slow any unpack for the next 60 s on such a filesystem: let them age first.
  const journalless = noJournal(work)
  if (journalless) {
    process.stdout.write('bench: ext4 without a journal here: waiting 61 s for inodes freed by earlier benches to age\n')
    sh('sync', [])
    await new Promise((r) => setTimeout(r, 61_000))
  }
  quietDisk()
  try {
    sh('runuser', ['-u', user, '--', ...env, ...args], { cwd: work, stdio: 'inherit' })
  } finally {
    // as root: the stores hold files of the user's subordinate ids
    rmSync(join(work, 'aside'), { recursive: true, force: true })
  }
  // what the removal set off (a minute of discards here) would slow whatever runs next
  quietDisk()
  const results = JSON.parse(readFileSync(out, 'utf8')).results
  const s = (x) => x.toFixed(2)
  const byName = Object.fromEntries(results.map((r) => [r.command, r]))
  // each row beside skiff's pull of the same image
  const base = (r) => (r.command.includes('busybox') ? byName['skiff pull busybox'] : byName['skiff pull']).median
  const rows = results.map((r) => `| ${r.command} | ${s(r.median)} | ${s(r.min)} | ${s(r.max)} | ${(r.median / base(r)).toFixed(2)} |`)
  const unpack = byName['skiff load (unpack only)']
  const md = `
## Pull of a ${(compressed / 1e6).toFixed(0)} MB ${debian ? 'Debian ' : ''}image (${trees.length} gzip layer${trees.length > 1 ? 's' : ''}, ${(uncompressed / 1e6).toFixed(0)} MB unpacked) from 127.0.0.1

Measured by \`node bench/pull.mjs\` (part of \`npm run bench\`), hyperfine, ${process.env.BENCH_PULL_RUNS || 5} runs after 1 warm-up,
each run into a new, empty store, as \`${user}\` with a clean environment. The prepare step moves the
last run's store aside instead of removing it: this machine's ext4 has no journal, and then its inode
allocator skips inodes freed in the last 60 s, which made an unpack right after removing the last one
3-4× slower (GNU tar's too)${journalless ? '; for the same reason the bench waited 61 s before it began, so that the files the benches\nbefore it removed had aged' : ''}. podman runs with \`--root\` and \`--runroot\` under the bench's directory.
${debian ? 'The image is Debian 12 minbase (`debootstrap --variant=minbase bookworm`), one layer.' : `debootstrap could not run here: the image is made from this machine's ${trees.map((t) => `/${t}`).join(', ')} (many small files).`}

The busybox rows pull the image every other bench uses (busybox-static, two layers, ${(smallSize / 1e6).toFixed(1)} MB as a docker archive).

| command | median s | min s | max s | median ÷ skiff pull's (same image) |
|---|---|---|---|---|
${rows.join('\n')}

Layer unpack throughput (skiff load of the OCI layout, no network): ${(uncompressed / 1e6 / unpack.median).toFixed(0)} MB/s of
uncompressed layer data (${(compressed / 1e6 / unpack.median).toFixed(0)} MB/s compressed).

Commands:
${cases.map(([n, c, p]) => `- ${n}: \`${c.replaceAll(work, '$BENCH')}\` (before each run: \`${p.replaceAll(work, '$BENCH')}\`)`).join('\n')}

Versions: ${version(`${join(work, 'skiff')} --version`)}; ${version('podman --version')}; ${version('skopeo --version')}; docker-registry ${version("dpkg-query -W -f '\${Version}' docker-registry")}; kernel ${version('uname -r')}.
`
  replaceSection('Pull of a', md)
  process.stdout.write(`\nbench: appended the pull section to docs/benchmarks.md\n${rows.join('\n')}\n`)
} finally {
  registry.kill()
}

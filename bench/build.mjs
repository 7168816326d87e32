// bench/build.mjs — skiff build beside podman build (buildah inside, from Debian) on one multi-stage
// Dockerfile with RUN and COPY steps from a Debian base made here, cold (no cache) and warm (the
// context unchanged: every step from the cache); and skiff push of a ~100 MB image to a registry
// on 127.0.0.1 beside podman push and skopeo copy, each into an empty registry. One hyperfine run
// per part, as the unprivileged test user, in the private mount namespace where crun (podman's
// runtime, for RUN) accepts this hybrid cgroup host; skiff runs there too. Writes its sections
// of docs/benchmarks.md. Run as root.
import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { debianMinbase, hyperfine, prepareBusybox, prepareMachine, replaceSection, sh, user, userWorkspace, version } from './common.mjs'

prepareMachine({ hyperfine: 'hyperfine', podman: 'podman', skopeo: 'skopeo', 'docker-registry': 'docker-registry' })
const ws = userWorkspace('/tmp/skiff-bench-build')
const { work, asUser } = ws
const runs = Number(process.env.BENCH_BUILD_RUNS || 5)
// podman's default here (vfs: no storage.conf says otherwise), and the kernel's overlay, which it
// can use rootless on this kernel (faster, so the fairer comparison)
const podman = `podman --root ${work}/podman-root --runroot ${work}/podman-run`
const podmanOverlay = `podman --storage-driver overlay --root ${work}/podman-overlay --runroot ${work}/podman-overlay-run`

// 1. The base image, the same tree for both tools: Debian minbase, else busybox.
const minbase = '/var/cache/skiff-bench/debian-minbase'
const debian = debianMinbase(minbase)
if (debian) {
  sh('tar', ['--numeric-owner', '--exclude=./dev/*', '--exclude=./proc/*', '--exclude=./sys/*', '--exclude=./var/cache/apt/archives/*.deb', '-C', minbase, '-cf', join(work, 'base.tar'), '.'])
} else {
  prepareBusybox(ws)
  asUser('./skiff export $(./skiff create busybox true) > base.tar')
}
sh('chown', [user, join(work, 'base.tar')])
asUser('./skiff import base.tar bench/base:1 >/dev/null')
asUser(`${podman} import -q base.tar localhost/bench/base:1 >/dev/null`)
asUser(`${podmanOverlay} import -q base.tar localhost/bench/base:1 >/dev/null`)

// 2. The context: a few hundred small files, and a Dockerfile of two stages.
const ctx = join(work, 'ctx')
for (let d = 0; d < 20; d++) {
  mkdirSync(join(ctx, 'src', `dir${d}`), { recursive: true })
  for (let f = 0; f < 20; f++) writeFileSync(join(ctx, 'src', `dir${d}`, `file${f}.txt`), `${'x'.repeat(2000 + d * 100 + f)}\n`)
}
mkdirSync(join(ctx, 'config'), { recursive: true })
writeFileSync(join(ctx, 'config', 'app.conf'), 'key = value\n')
const base = (tool) => (tool === 'podman' ? 'localhost/bench/base:1' : 'bench/base:1')
const dockerfile = (tool) => `FROM ${base(tool)} AS build
WORKDIR /src
COPY src/ ./
RUN for i in $(seq 1 500); do echo "line $i" >> generated.txt; done && cat dir*/file1.txt > joined.txt
RUN tar -czf /out.tgz -C /src .

FROM ${base(tool)}
COPY --from=build /out.tgz /app/
COPY config/ /etc/app/
RUN mkdir -p /var/app && tar -xzf /app/out.tgz -C /var/app && rm /app/out.tgz
ENV APP_HOME=/var/app
CMD ["ls", "/var/app"]
`
writeFileSync(join(ctx, 'Dockerfile.skiff'), dockerfile('skiff'))
writeFileSync(join(ctx, 'Dockerfile.podman'), dockerfile('podman'))
sh('chown', ['-R', user, ctx])
// one build of each first: both tools show they build it, and the warm cases have their cache
asUser(`./skiff build -q -f ctx/Dockerfile.skiff -t bench/app:1 ctx >/dev/null`)
asUser(`${podman} build -q -f ctx/Dockerfile.podman -t bench/app:1 ctx >/dev/null`)
asUser(`${podmanOverlay} build -q -f ctx/Dockerfile.podman -t bench/app:1 ctx >/dev/null`)

const buildCases = [
  ['skiff build, cold', `./skiff build -q --no-cache -f ctx/Dockerfile.skiff -t bench/app:1 ctx`],
  ['podman build, cold', `${podmanOverlay} build -q --no-cache -f ctx/Dockerfile.podman -t bench/app:1 ctx`],
  ['podman build (vfs), cold', `${podman} build -q --no-cache -f ctx/Dockerfile.podman -t bench/app:1 ctx`],
  ['skiff build, warm', `./skiff build -q -f ctx/Dockerfile.skiff -t bench/app:1 ctx`],
  ['podman build, warm', `${podmanOverlay} build -q -f ctx/Dockerfile.podman -t bench/app:1 ctx`],
  ['podman build (vfs), warm', `${podman} build -q -f ctx/Dockerfile.podman -t bench/app:1 ctx`],
]
const built = hyperfine(ws, buildCases, { runs, warmup: 1, out: join(work, 'build.json') })

// 3. Push: a ~100 MB image (the base and 60 MB that does not compress) into an empty registry.
const port = 5078
writeFileSync(join(work, 'registry.yml'), `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${work}/registry\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`)
// the user's: each run's prepare step empties its storage
const [regCmd, ...regArgs] = ws.asUserArgv(['docker-registry', 'serve', join(work, 'registry.yml')])
const registry = spawn(regCmd, regArgs, { stdio: 'ignore', detached: true })
let pushed
let imageSize = 0
try {
  await new Promise((r) => setTimeout(r, 1000))
  mkdirSync(join(work, 'big'), { recursive: true })
  writeFileSync(join(work, 'big', 'Dockerfile'), `FROM bench/base:1\nRUN head -c 60000000 /dev/urandom > /payload\n`)
  sh('chown', ['-R', user, join(work, 'big')])
  asUser('./skiff build -q -t bench/big:1 big >/dev/null && ./skiff save -o big.tar bench/big:1')
  asUser(`${podmanOverlay} load -q -i big.tar >/dev/null`)
  imageSize = JSON.parse(asUser(`./skiff inspect --type image -f '{{json .Size}}' bench/big:1`))
  const target = `127.0.0.1:${port}/bench/pushed:1`
  // each run into an empty registry (a repository that has the blobs would make it a HEAD each)
  const empty = `rm -rf ${work}/registry/docker`
  const pushCases = [
    ['skiff push', `./skiff push -q bench/big:1 ${target}`, empty],
    ['podman push', `${podmanOverlay} push -q --tls-verify=false docker.io/bench/big:1 ${target}`, empty],
    ['skopeo copy', `skopeo copy --quiet --dest-tls-verify=false docker-archive:big.tar docker://${target}`, empty],
  ]
  pushed = hyperfine(ws, pushCases.map(([n, c]) => [n, c]), { runs, warmup: 1, out: join(work, 'push.json'), prepare: pushCases.map(([, , p]) => p) })
} finally {
  try {
    process.kill(-registry.pid, 'SIGTERM')
  } catch {}
}

const s = (x) => x.toFixed(2)
const table = (results, baseOf) => results.map((r) => `| ${r.command} | ${s(r.median)} | ${s(r.min)} | ${s(r.max)} | ${(r.median / baseOf(r).median).toFixed(2)} |`).join('\n')
const by = Object.fromEntries(built.map((r) => [r.command, r]))
const versions = `${version(`${ws.skiff} --version`)}; ${version('podman --version')} (buildah inside); ${version('skopeo --version')}; kernel ${version('uname -r')}`
replaceSection('Build of a multi-stage Dockerfile', `
## Build of a multi-stage Dockerfile (${debian ? 'Debian 12 minbase' : 'busybox'} base), cold and warm

Measured by \`node bench/build.mjs\`, hyperfine, ${runs} runs after 1 warm-up, as \`${user}\` with a clean
environment, podman with \`--root\`/\`--runroot\` under the bench's directory: \`podman build\` with the kernel's
overlay (\`--storage-driver overlay\`), and \`(vfs)\` with the driver it picks here by itself. The Dockerfile: two
stages; WORKDIR, COPY of 400 small files, two RUNs, COPY --from, COPY, RUN, ENV, CMD
(bench/build.mjs). Cold: \`--no-cache\`; warm: the context unchanged, every step from the cache.
The base image is the same tree in both stores (\`import\`).

| command | median s | min s | max s | ÷ skiff's (same case) |
|---|---|---|---|---|
${table(built, (r) => by[r.command.includes('cold') ? 'skiff build, cold' : 'skiff build, warm'])}

podman (overlay) ÷ skiff: cold ${(by['podman build, cold'].median / by['skiff build, cold'].median).toFixed(2)}×, warm ${(by['podman build, warm'].median / by['skiff build, warm'].median).toFixed(2)}× (goal: ≥ 1.5× cold, ≥ 3× warm).

Versions: ${versions}.
`)
replaceSection('Push of a', `
## Push of a ${(imageSize / 1e6).toFixed(0)} MB image to a registry on 127.0.0.1

Measured by \`node bench/build.mjs\`, hyperfine, ${runs} runs after 1 warm-up, each into an empty
registry (Debian's docker-registry; its storage removed before each run). The image: the base and a
60 MB layer of random bytes. skiff and skopeo send the stored gzip blobs; podman compresses its
layers again.

| command | median s | min s | max s | ÷ skiff push's |
|---|---|---|---|---|
${table(pushed, () => pushed[0])}

Versions: ${versions}; docker-registry ${version("dpkg-query -W -f '${Version}' docker-registry")}.
`)
// its stores hold container trees (podman's vfs keeps a copy per layer): gone, as root
sh('rm', ['-rf', work])
process.stdout.write(`\nbench: wrote the build and push sections of docs/benchmarks.md\n`)

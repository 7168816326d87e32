// bench/startup.mjs — `run --rm IMAGE true` start-up, skiff beside podman, crun and bwrap, in one
// hyperfine run as the same unprivileged user with a clean environment. Writes docs/benchmarks.md.
//
// Run as root on a machine prepared by test/setup-host.sh (it is called here): `npm run bench`.
// The environment is cleared (`env -i` with PATH, HOME, XDG_RUNTIME_DIR) because this machine sets
// NODE_EXTRA_CA_CERTS, which adds ~35 ms to every Node start, skiff's included.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { hyperfine, prepareBusybox, prepareMachine, root, sh, user, userWorkspace, version } from './common.mjs'

const runs = Number(process.env.BENCH_RUNS || 40)

// 1. The machine, the peers, one image for every tool (built offline from busybox-static).
prepareMachine({ hyperfine: 'hyperfine', podman: 'podman', crun: 'crun', runc: 'runc', bwrap: 'bubblewrap', 'ch-run': 'charliecloud-runtime' })
const ws = userWorkspace('/tmp/skiff-bench')
prepareBusybox(ws)
const { work, asUserArgv, controllers } = ws

// runc gets its own rootless spec (crun's has no uid mappings runc accepts) over the same rootfs
ws.asUser(`mkdir -p runc-bundle && cd runc-bundle && runc spec --rootless && python3 - <<EOF\nimport json\nc=json.load(open("config.json"))\nc["root"]={"path":"${work}/bundle/rootfs","readonly":True}\nc["process"]["args"]=["true"]\nc["process"]["terminal"]=False\njson.dump(c,open("config.json","w"))\nEOF`)

sh('cp', [process.execPath, join(work, 'node')])

// hyperfine -N runs commands without a shell: SKIFF_ROOT comes from the clean environment.
const skiff = `${work}/skiff`
const cases = [
  ['skiff', `${skiff} run --rm busybox true`],
  ['skiff --network=none', `${skiff} run --rm --network=none busybox true`],
  // a verb's first run, before skiff has saved its code cache (env's exec adds ~1 ms)
  ['skiff --network=none, no saved code cache', `env SKIFF_CODE_CACHE=0 ${skiff} run --rm --network=none busybox true`],
  ['skiff --storage-driver=fuse-overlayfs', `${skiff} run --rm --storage-driver=fuse-overlayfs busybox true`],
  ['skiff --storage-driver=copy', `${skiff} run --rm --storage-driver=copy busybox true`],
  ['podman --network=none', 'podman run --rm --network=none skiff-bench-busybox true'],
  ['podman (default network)', 'podman run --rm skiff-bench-busybox true'],
  ['crun run (bundle)', `crun --cgroup-manager=disabled run -b ${work}/bundle skiff-bench`],
  ['runc run (bundle)', `runc --root ${work}/runc-state run -b ${work}/runc-bundle skiff-bench-runc`],
  ['bwrap', `bwrap --unshare-all --bind ${work}/bundle/rootfs / --proc /proc --dev /dev true`],
  ['ch-run (directory)', `ch-run ${work}/bundle/rootfs -- true`],
  ['skiff --version', `${work}/skiff --version`],
  // the floor under skiff: Node's own start (the executable is Node with skiff inside), from a
  // copy that no process maps, so that its pages are dropped and read back as skiff's are
  ["node -e 0 (Node's own start)", `${work}/node -e 0`],
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
const results = hyperfine(ws, working, { runs, warmup: 5, out: join(work, 'startup.json') })

// 3. The report.
const ms = (s) => (s * 1000).toFixed(1)
const skiffMedian = results[0].median
const rows = results.map((r) => `| ${r.command} | ${ms(r.median)} | ${ms(r.min)} | ${ms(r.max)} | ${(r.median / skiffMedian).toFixed(2)} |`)
const md = `# Benchmarks

Measured by \`npm run bench\` (\`node bench/startup.mjs\`, as root; every tool runs as the unprivileged user
\`${user}\` with a clean environment: \`env -i PATH HOME XDG_RUNTIME_DIR USER SKIFF_ROOT\` — this machine sets
NODE_EXTRA_CA_CERTS, which adds ~35 ms to any Node start). hyperfine, ${runs} runs after 5 warm-up
runs, the tools interleaved in one run. Image: busybox built from Debian's busybox-static
(test/fixtures/make-busybox-image.mjs), the same files for every tool. Each measurement waits for a
quiet disk and first drops every tool's executable from the page cache, so that the warm-up runs
read all of them back from disk alike (a file written a moment ago, such as skiff's copy in the work
directory, starts 1-2 ms faster here than the same file read back).

## \`run --rm IMAGE true\`

| command | median ms | min ms | max ms | median ÷ skiff's |
|---|---|---|---|---|
${rows.join('\n')}

Every tool ran in a private mount namespace where ${controllers} reads empty: crun 1.8 refuses
this hybrid cgroup host otherwise (it lists hugetlb). skiff's default network is pasta (podman 4.3's is
slirp4netns): compare \`skiff\` with \`podman (default network)\`, and the \`--network=none\` rows with each other. The
storage-driver rows give the same run with fuse-overlayfs and with the copying driver (which copies the image's 2 MB for
every container). skiff's rows run with the V8 code cache its first \`run\` (a warm-up) saved; the "no saved code cache"
row is what a verb's first run costs (through \`env\`, which adds an exec). \`$BENCH/node\` is a copy of ${process.execPath}, the
node skiff's executable is made of.

${failed.length ? `Could not run here (left out): ${failed.map(([n, e]) => `${n}: \`${e}\``).join('; ')}. The anchors measured\nearlier on this kind of machine (../shared/DESIGN.md): podman run --rm busybox true 103 ms, --network=none 96 ms.\n` : ''}
Commands:
${cases.map(([n, c]) => `- ${n}: \`${c.replace(work, '$BENCH').replace(work, '$BENCH')}\``).join('\n')}

Versions: ${version(`${work}/skiff --version`)}; ${version('podman --version')}; ${version('crun --version')};
${version('bwrap --version')}; ${version('runc --version')}; ch-run ${version('USER=root ch-run --version 2>&1')}; ${version('hyperfine --version')}; kernel ${version('uname -r')}.
Measured ${new Date().toISOString().slice(0, 10)}.
`
// the sections of the other bench scripts stay
const doc = join(root, 'docs', 'benchmarks.md')
const others = existsSync(doc) ? readFileSync(doc, 'utf8').split('\n## ').slice(1).filter((sec) => !sec.startsWith('`run --rm')) : []
writeFileSync(doc, [md.trimEnd(), ...others.map((sec) => `## ${sec.trimEnd()}`)].join('\n\n') + '\n')
process.stdout.write(`\nbench: wrote docs/benchmarks.md\n${rows.join('\n')}\n`)

// bench/listing.mjs — `ps -a` and `images` with a big store: 1,000 containers (created, not
// started) and 1,000 image names, skiff beside podman, in one run as the unprivileged test user.
// Writes its section of docs/benchmarks.md. Run as root.
//
// The 1,000 images are 1,000 tags of the busybox image (one row each in both tools' listings):
// loading 1,000 distinct images would take most of the bench's time budget for no other insight.
import { join } from 'node:path'
import { hyperfine, prepareBusybox, prepareMachine, replaceSection, user, userWorkspace, version } from './common.mjs'

const count = Number(process.env.BENCH_LISTING || 1000)
const runs = Number(process.env.BENCH_LISTING_RUNS || 10)

prepareMachine({ hyperfine: 'hyperfine', podman: 'podman', crun: 'crun' })
const ws = userWorkspace('/tmp/skiff-bench-listing')
const { work, asUser } = ws
// podman's store is the test user's own: names an earlier run left would be counted too
asUser('podman rmi -af >/dev/null 2>&1 || true')
prepareBusybox(ws)

const started = Date.now()
process.stdout.write(`bench: filling both stores with ${count} containers and ${count} image names...\n`)
// skiff: create is a full container (its rootfs directories, names, record); podman's the same.
// The two stores are filled at once (one core each): nothing is measured while they fill.
asUser(`(for i in $(seq ${count}); do ./skiff create --network=none busybox true >/dev/null || exit 1; done) & s=$!
  (for i in $(seq ${count}); do podman create --network=none skiff-bench-busybox true >/dev/null || exit 1; done) & p=$!
  wait $s && wait $p`)
asUser(`./skiff tag busybox $(seq -f 'bench/t%g' 1 ${count}) && podman tag skiff-bench-busybox $(seq -f 'localhost/bench/t%g' 1 ${count})`)
const fillSeconds = (Date.now() - started) / 1000
const counted = asUser('echo "$(./skiff ps -aq | wc -l) $(podman ps -aq | wc -l) $(./skiff images | wc -l) $(podman images | wc -l)"').trim()

const cases = [
  ['skiff ps -a', './skiff ps -a'],
  ['podman ps -a', 'podman ps -a'],
  ['skiff images', './skiff images'],
  ['podman images', 'podman images'],
]
const results = hyperfine(ws, cases, { runs, warmup: 2, out: join(work, 'listing.json') })
asUser('./skiff rm -f $(./skiff ps -aq) >/dev/null; podman rm -f -t 0 $(podman ps -aq) >/dev/null')

const ms = (x) => (x * 1000).toFixed(1)
const byName = Object.fromEntries(results.map((r) => [r.command, r]))
const row = (tool, what) => {
  const r = byName[`${tool} ${what}`]
  const skiff = byName[`skiff ${what}`]
  return `| ${tool} ${what} | ${ms(r.median)} | ${ms(r.min)} | ${ms(r.max)} | ${(r.median / skiff.median).toFixed(2)} |`
}
const rows = [row('skiff', 'ps -a'), row('podman', 'ps -a'), row('skiff', 'images'), row('podman', 'images')]
const md = `## Listing a big store

Measured by \`node bench/listing.mjs\` (part of \`npm run bench\`), as \`${user}\` with a clean environment,
the tools interleaved by hyperfine (${runs} runs each after 2 warm-ups). Each store holds ${count} containers
(\`create --network=none busybox true\`, never started) and ${count} image names (tags of the busybox
image: one row each in both listings). Filling both stores, side by side, took ${fillSeconds.toFixed(0)} s. Counted
before the run (skiff ps -aq, podman ps -aq, skiff images lines, podman images lines):
${counted}.

| command | median ms | min ms | max ms | median ÷ skiff's |
|---|---|---|---|---|
${rows.join('\n')}

Versions: ${version(`${ws.skiff} --version`)}; ${version('podman --version')}; kernel ${version('uname -r')}.
`
replaceSection('Listing a big store', md)
process.stdout.write(`\nbench: wrote the listing section of docs/benchmarks.md\n${rows.join('\n')}\n`)

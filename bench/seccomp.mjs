// bench/seccomp.mjs — the cost of the seccomp filter: `run --rm IMAGE true` with the default
// profile against seccomp=unconfined, skiff and podman (crun, libseccomp) side by side in one
// hyperfine run; and the cost per system call inside a container (a loop of getppid and stat, the
// probe of test/fixtures/syscall-probe.c) with and without each tool's filter. Same user, clean
// environment. Writes its section of docs/benchmarks.md. Run as root.
import { execFileSync } from 'node:child_process'
import { copyFileSync, chmodSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { hyperfine, prepareBusybox, prepareMachine, replaceSection, root, sh, user, userWorkspace, version } from './common.mjs'

const runs = Number(process.env.BENCH_RUNS || 40)
const calls = Number(process.env.BENCH_SYSCALLS || 2000000)
const rounds = Number(process.env.BENCH_ROUNDS || 5)
prepareMachine({ hyperfine: 'hyperfine', podman: 'podman', crun: 'crun' })
const ws = userWorkspace('/tmp/skiff-bench-seccomp')
const { work, asUser } = ws
prepareBusybox(ws)

// the probe, in an image of its own for both tools (the busybox tree plus /usr/bin/syscall-probe)
const rootfs = join(work, 'probe-root')
sh('cp', ['-a', join(work, 'bundle', 'rootfs'), rootfs])
sh('find', [rootfs, '-name', '.wh.*', '-delete'])
mkdirSync(join(rootfs, 'usr', 'bin'), { recursive: true })
execFileSync('cc', ['-static', '-O2', '-o', join(work, 'syscall-probe'), join(root, 'test', 'fixtures', 'syscall-probe.c')])
copyFileSync(join(work, 'syscall-probe'), join(rootfs, 'usr', 'bin', 'syscall-probe'))
chmodSync(join(rootfs, 'usr', 'bin', 'syscall-probe'), 0o755)
sh('chown', ['-R', user, rootfs])
asUser('tar -C probe-root -cf probe-root.tar . && podman import -q probe-root.tar bench-probe >/dev/null && podman save -q -o probe.tar bench-probe && ./skiff load -q -i probe.tar && ./skiff tag localhost/bench-probe:latest probe')

// 1. Start-up
const cases = [
  ['skiff, default profile', './skiff run --rm busybox true'],
  ['skiff, seccomp=unconfined', './skiff run --rm --security-opt seccomp=unconfined busybox true'],
  ['podman, default profile', 'podman run --rm skiff-bench-busybox true'],
  ['podman, seccomp=unconfined', 'podman run --rm --security-opt seccomp=unconfined skiff-bench-busybox true'],
]
const startup = hyperfine(ws, cases, { runs, warmup: 3, out: join(work, 'seccomp-startup.json') })
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const s = startup.map((r, i) => ({ name: cases[i][0], median: median(r.times) * 1000, min: Math.min(...r.times) * 1000 }))

// 2. Per system call, inside the container: the median of `rounds` loops per case, interleaved
const loops = [
  ['skiff, default profile', `./skiff run --rm probe syscall-probe loop ${calls}`],
  ['skiff, seccomp=unconfined', `./skiff run --rm --security-opt seccomp=unconfined probe syscall-probe loop ${calls}`],
  ['podman, default profile', `podman run --rm bench-probe syscall-probe loop ${calls}`],
  ['podman, seccomp=unconfined', `podman run --rm --security-opt seccomp=unconfined bench-probe syscall-probe loop ${calls}`],
]
const ns = loops.map(() => [])
for (let r = 0; r < rounds; r++) {
  loops.forEach(([, cmd], i) => ns[i].push(Number(/loop=([\d.]+)/.exec(asUser(cmd))?.[1])))
}
const per = loops.map(([name], i) => ({ name, ns: median(ns[i]) }))
const filterCost = (tool) => per.find((p) => p.name === `${tool}, default profile`).ns - per.find((p) => p.name === `${tool}, seccomp=unconfined`).ns
const startCost = (tool) => s.find((p) => p.name === `${tool}, default profile`).median - s.find((p) => p.name === `${tool}, seccomp=unconfined`).median

const g = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'failed')
const md = `## Seccomp filter

Measured by \`node bench/seccomp.mjs\` (part of \`npm run bench\`), as \`${user}\` with a clean
environment, every tool in one run. skiff compiles its profile to classic BPF in TypeScript (a
search tree over the syscall number) and caches the program; podman's crun builds its filter with
libseccomp from the profile at every start.

\`run --rm IMAGE true\` (hyperfine, ${runs} runs after 3 warm-up; ms):

| command | median | min |
|---|---|---|
${s.map((r) => `| ${r.name} | ${g(r.median)} | ${g(r.min)} |`).join('\n')}

The filter adds ${g(startCost('skiff'))} ms to skiff's start (median), ${g(startCost('podman'))} ms to podman's.

A system call inside the container (getppid and stat(2) in turn, ${calls} of each; ns per call, the median of ${rounds} rounds):

| container | ns per call |
|---|---|
${per.map((p) => `| ${p.name} | ${g(p.ns)} |`).join('\n')}

The filter costs ${g(filterCost('skiff'))} ns per call in skiff, ${g(filterCost('podman'))} ns in podman.

Versions: ${version(`${ws.skiff} --version`)}; ${version('podman --version')}; ${version('crun --version | head -1')}; libseccomp ${version('dpkg-query -W -f=\'${Version}\' libseccomp2')}; kernel ${version('uname -r')}.
`
replaceSection('Seccomp filter', md)
process.stdout.write(`\nbench: wrote the seccomp section of docs/benchmarks.md\n${md}\n`)

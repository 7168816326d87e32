// bench/seccomp.mjs — the cost of the seccomp filter: `run --rm IMAGE true` with the default
// profile against seccomp=unconfined, skiff and podman (crun, libseccomp) side by side in one
// hyperfine run; and the cost per system call inside a container (a loop of getppid and stat, the
// probe of test/fixtures/syscall-probe.c) with and without each tool's filter. Same user, clean
// environment. Writes its section of docs/benchmarks.md. Run as root.
import { execFileSync } from 'node:child_process'
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { hyperfine, prepareBusybox, prepareMachine, replaceSection, root, sh, user, userWorkspace, version } from './common.mjs'

const runs = Number(process.env.BENCH_RUNS || 40)
const calls = Number(process.env.BENCH_SYSCALLS || 2000000)
const rounds = Number(process.env.BENCH_ROUNDS || 9)
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

// 3. Making and loading the filter, in a fresh process each time: libseccomp building it from the
// same profile (what crun does at every start) against skiff's compiled program read from a file
// and loaded (what the shim does). C, generated here from the profile for the default capabilities.
if (!existsSync('/usr/include/seccomp.h')) sh('apt-get', ['install', '-y', '-qq', 'libseccomp-dev'], { stdio: 'inherit' })
const profile = JSON.parse(readFileSync(join(root, 'core', 'launch', 'seccomp-default.json'), 'utf8'))
const CAPS = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE']
const applies = (r) => (r.includes?.caps ?? []).every((c) => CAPS.includes(c)) && (!r.includes?.arches || r.includes.arches.includes('amd64')) &&
  !(r.excludes?.caps ?? []).some((c) => CAPS.includes(c)) && !(r.excludes?.arches ?? []).includes('amd64')
const OPS = { SCMP_CMP_NE: 1, SCMP_CMP_LT: 2, SCMP_CMP_LE: 3, SCMP_CMP_EQ: 4, SCMP_CMP_GE: 5, SCMP_CMP_GT: 6, SCMP_CMP_MASKED_EQ: 7 }
const action = (r) => (r.action === 'SCMP_ACT_ALLOW' ? 'SCMP_ACT_ALLOW' : `SCMP_ACT_ERRNO(${r.errnoRet ?? 1})`)
const ruleLines = profile.syscalls.filter(applies).filter((r) => action(r) !== 'SCMP_ACT_ERRNO(1)' || r.args?.length).flatMap((r) => r.names.map((n) => {
  const args = (r.args ?? []).map((a) => `{ ${a.index}, ${OPS[a.op]}, ${a.value}ULL, ${a.valueTwo ?? 0}ULL }`)
  return `\tadd(ctx, ${action(r)}, "${n}", ${args.length}, (struct scmp_arg_cmp[]){ ${args.join(', ') || '{ 0 }'} });`
}))
writeFileSync(join(work, 'filter-load.c'), `#define _GNU_SOURCE
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static void add(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n, struct scmp_arg_cmp *args)
{
\tint nr = seccomp_syscall_resolve_name(name);
\tif (nr != __NR_SCMP_ERROR)
\t\tseccomp_rule_add_array(ctx, action, nr, n, args);
}
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
static void with_libseccomp(void)
{
\tscmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(1));
\tseccomp_arch_add(ctx, SCMP_ARCH_X86);
\tseccomp_arch_add(ctx, SCMP_ARCH_X32);
${ruleLines.join('\n')}
\tif (seccomp_load(ctx) < 0) _exit(3);
}
static void compiled(const char *file)
{
\tstatic struct sock_filter prog[4097];
\tFILE *f = fopen(file, "rb");
\tsize_t n = fread(prog, 1, sizeof(prog), f);
\tfclose(f);
\tstruct sock_fprog p = { (unsigned short)(n / 8), prog };
\tprctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
\tif (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p) < 0) _exit(3);
}
int main(int argc, char **argv)
{
\tint runs = atoi(argv[1]);
\tfor (int r = 0; r < runs; r++) {
\t\tint fd[2];
\t\tif (pipe(fd) < 0) return 1;
\t\tif (fork() == 0) {
\t\t\tdouble t = now();
\t\t\tif (argv[2]) compiled(argv[2]); else with_libseccomp();
\t\t\tt = now() - t;
\t\t\twrite(fd[1], &t, sizeof(t));
\t\t\t_exit(0);
\t\t}
\t\tdouble t = -1;
\t\tread(fd[0], &t, sizeof(t));
\t\twait(NULL);
\t\tclose(fd[0]);
\t\tclose(fd[1]);
\t\tprintf("%.3f\\n", t);
\t}
\treturn 0;
}
`)
sh('cc', ['-O2', '-o', join(work, 'filter-load'), join(work, 'filter-load.c'), '-lseccomp'])
const programFile = join(work, 'default.bpf')
{
  // skiff's program for the same capabilities, as the store caches it
  const cached = asUser(`ls ${ws.store}/seccomp/*.json | head -1`).trim()
  writeFileSync(programFile, Buffer.from(JSON.parse(readFileSync(cached, 'utf8')).program, 'base64'))
}
const loads = (args) => median(sh(join(work, 'filter-load'), args).trim().split('\n').map(Number))
const loadRuns = 200
const libseccompMs = loads([String(loadRuns)])
const compiledMs = loads([String(loadRuns), programFile])

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

Making and loading the filter for the default profile in a fresh process (median of ${loadRuns}; C, in
this run): libseccomp ${version("dpkg-query -W -f='${Version}' libseccomp2")} building it from the rules, as crun does at every start,
${g(libseccompMs, 2)} ms; skiff's compiled program read from its file and loaded, as the shim does, ${g(compiledMs, 2)} ms.
(skiff compiles a profile in TypeScript once, 10–13 ms cold, and keeps the program in the store.)

Versions: ${version(`${ws.skiff} --version`)}; ${version('podman --version')}; ${version('crun --version | head -1')}; libseccomp ${version('dpkg-query -W -f=\'${Version}\' libseccomp2')}; kernel ${version('uname -r')}.
`
replaceSection('Seccomp filter', md)
process.stdout.write(`\nbench: wrote the seccomp section of docs/benchmarks.md\n${md}\n`)

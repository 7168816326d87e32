// bench/lifecycle.mjs — detached containers: time to start and remove 100 of them, and the memory
// each idle one costs on the host (skiff's supervisor + waiter beside podman's conmon), in one run
// as the unprivileged test user. Writes its section of docs/benchmarks.md. Run as root.
import { spawnSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { hyperfine, prepareBusybox, prepareMachine, replaceSection, user, userWorkspace, version } from './common.mjs'

const count = Number(process.env.BENCH_DETACHED || 100)
const runs = Number(process.env.BENCH_DETACHED_RUNS || 3)
const idle = 10

prepareMachine({ hyperfine: 'hyperfine', podman: 'podman', crun: 'crun' })
const ws = userWorkspace('/tmp/skiff-bench-lifecycle')
prepareBusybox(ws)
const { work, asUser } = ws

// 1. Start N detached containers, then remove them all: one command per tool, hyperfine runs it.
const cases = [
  // both without a network: podman's default (pasta or slirp4netns) adds a process per container
  ['skiff --network=none', `for i in $(seq ${count}); do ./skiff run -d --network=none busybox sleep 1000 >/dev/null; done; ./skiff rm -f $(./skiff ps -aq) >/dev/null`],
  ['podman --network=none', `for i in $(seq ${count}); do podman run -d --network=none skiff-bench-busybox sleep 1000 >/dev/null; done; podman rm -f -t 0 $(podman ps -aq) >/dev/null`],
]
const results = hyperfine(ws, cases.map(([name, script]) => [name, `sh -c '${script}'`]), { runs, out: join(work, 'lifecycle.json') })

// 2. Memory of idle detached containers: RSS and PSS (shared pages divided among their users)
// of the processes that stay beside each container on the host.
function memory(pid) {
  const kb = (text, key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0)
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
    return { rss: kb(rollup, 'Rss'), pss: kb(rollup, 'Pss') }
  } catch {
    return { rss: 0, pss: 0 }
  }
}
function procs(filter) {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return filter(readFileSync(`/proc/${p}/comm`, 'utf8').trim(), readFileSync(`/proc/${p}/status`, 'utf8'))
    } catch {
      return false
    }
  }).map(Number)
}
const uid = ws.uid
const mine = (status) => new RegExp(`^Uid:\\s+${uid}\\s`, 'm').test(status)
asUser(`for i in $(seq ${idle}); do ./skiff run -d --network=none busybox sleep 1000 >/dev/null; podman run -d --network=none skiff-bench-busybox sleep 1000 >/dev/null; done`)
spawnSync('sleep', ['1'])
const sum = (pids) => pids.map(memory).reduce((a, m) => ({ rss: a.rss + m.rss, pss: a.pss + m.pss }), { rss: 0, pss: 0 })
// skiff: every shim process (supervisor, waiter) is the container's on-host cost
const skiffMem = sum(procs((comm, status) => comm.startsWith('shim-') && mine(status)))
// podman: conmon, one per container (the pause process is shared by all of them: left out)
const conmonMem = sum(procs((comm, status) => comm === 'conmon' && mine(status)))
asUser('./skiff rm -f $(./skiff ps -aq) >/dev/null; podman rm -f -t 0 $(podman ps -aq) >/dev/null')

const s = (x) => x.toFixed(2)
const skiffMedian = results[0].median
const rows = results.map((r) => `| ${r.command} | ${s(r.median)} | ${s(r.min)} | ${s(r.max)} | ${(r.median / skiffMedian).toFixed(2)} |`)
const per = (m) => `${(m.rss / idle / 1024).toFixed(2)} MB RSS, ${(m.pss / idle / 1024).toFixed(2)} MB PSS`
const md = `## Detached containers

Measured by \`node bench/lifecycle.mjs\` (part of \`npm run bench\`), as \`${user}\` with a clean environment,
the tools interleaved by hyperfine (${runs} runs each).

Start ${count} detached containers (\`run -d --network=none IMAGE sleep 1000\`, one after another), then remove them all (\`rm -f\`):

| command | median s | min s | max s | median ÷ skiff's |
|---|---|---|---|---|
${rows.join('\n')}

Memory on the host per idle detached container (${idle} of each running):
- skiff (the shim's supervisor and waiter processes): ${per(skiffMem)}
- podman (conmon): ${per(conmonMem)}

Commands:
${cases.map(([n, c]) => `- ${n}: \`${c}\``).join('\n')}

Versions: ${version(`${ws.skiff} --version`)}; ${version('podman --version')}; ${version('conmon --version')}; kernel ${version('uname -r')}.
`
replaceSection('Detached containers', md)
process.stdout.write(`\nbench: wrote the detached-containers section of docs/benchmarks.md\n${rows.join('\n')}\nskiff ${per(skiffMem)}; conmon ${per(conmonMem)}\n`)

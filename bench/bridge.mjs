// bench/bridge.mjs — bridge networks: container-to-container TCP throughput (iperf3) on one
// network, skiff against podman rootless (netavark + aardvark-dns, its rootless network namespace)
// and the host's loopback; the extra start-up cost of `run --rm --network NET` over
// `--network none`, with its tail; and 50 containers started at once on one network (distinct
// addresses, every name resolved). Same user, clean environment, one run. Writes its section of
// docs/benchmarks.md. Run as root.
import { spawn, spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { hyperfine, prepareBusybox, prepareIperfImage, prepareMachine, replaceSection, sh, user, userWorkspace, version } from './common.mjs'

const seconds = Number(process.env.BENCH_IPERF_SECONDS || 5)
const runs = Number(process.env.BENCH_RUNS || 40)
const parallel = Number(process.env.BENCH_PARALLEL || 50)
prepareMachine({ hyperfine: 'hyperfine', podman: 'podman', crun: 'crun', iperf3: 'iperf3', pasta: 'passt', netavark: 'netavark', 'aardvark-dns': 'aardvark-dns' })
// netavark's binaries live outside PATH
for (const [bin, pkg] of [['/usr/lib/podman/netavark', 'netavark'], ['/usr/lib/podman/aardvark-dns', 'aardvark-dns']]) {
  if (spawnSync('test', ['-x', bin]).status !== 0) sh('apt-get', ['install', '-y', '-qq', pkg], { stdio: 'inherit' })
}
const ws = userWorkspace('/tmp/skiff-bench-bridge')
// podman with netavark (its default where CNI was never used; said here, as CNI is installed too)
const conf = join(ws.work, 'containers.conf')
writeFileSync(conf, '[network]\nnetwork_backend = "netavark"\n')
sh('chmod', ['644', conf])
const { work } = ws
const asUser = (script, opts) => ws.asUser(`export CONTAINERS_CONF=${conf}; ${script}`, opts)
const podmanReset = () => asUser('podman rm -af -t 0 >/dev/null 2>&1; podman network rm -f bnet >/dev/null 2>&1; true')
spawnSync('pkill', ['-u', user, 'catatonit'])
podmanReset()
prepareBusybox({ ...ws, asUser })
const iperf = prepareIperfImage({ ...ws, asUser })
asUser('./skiff network create bnet >/dev/null && podman network create bnet >/dev/null')

// 1. Throughput: a server and a client container on one network, the client finds the server by name.
const gbitOf = (text) => {
  try {
    return JSON.parse(text).end.sum_received.bits_per_second / 1e9
  } catch {
    return NaN
  }
}
const throughput = []
asUser('./skiff run -d --name isrv --network bnet iperf iperf3 -s >/dev/null')
asUser('podman run -d --name psrv --network bnet bench-iperf iperf3 -s >/dev/null')
spawnSync('sleep', ['1.5'])
for (const [name, client] of [
  ['skiff, one bridge network', `./skiff run --rm --network bnet iperf iperf3 -c isrv -t ${seconds} -J`],
  ['podman 4.3 rootless (netavark)', `podman run --rm --network bnet bench-iperf iperf3 -c psrv -t ${seconds} -J`],
]) {
  let out = ''
  try {
    out = asUser(client)
  } catch {}
  throughput.push({ name, gbit: gbitOf(out) })
}
{
  const [cmd, ...args] = ws.asUserArgv(['sh', '-c', `exec ${iperf} -s -p 15299`])
  const srv = spawn(cmd, args, { cwd: work, stdio: 'ignore', detached: true })
  spawnSync('sleep', ['1'])
  let out = ''
  try {
    out = asUser(`${iperf} -c 127.0.0.1 -p 15299 -t ${seconds} -J`)
  } catch {}
  throughput.push({ name: 'host loopback (ceiling)', gbit: gbitOf(out) })
  try {
    process.kill(-srv.pid, 'SIGKILL')
  } catch {}
}

// 2. Start-up: --network NET over --network none, the servers above still running (so the
// keeper, and podman's rootless namespace, are up, as while an application runs).
const cases = [
  ['skiff --network none', './skiff run --rm --network none busybox true'],
  ['skiff --network bnet', './skiff run --rm --network bnet busybox true'],
  ['skiff (default: pasta)', './skiff run --rm busybox true'],
  ['podman --network none', 'podman run --rm --network none skiff-bench-busybox true'],
  ['podman --network bnet', 'podman run --rm --network bnet skiff-bench-busybox true'],
]
const startup = hyperfine({ ...ws, asUserArgv: (argv) => ws.asUserArgv(['env', `CONTAINERS_CONF=${conf}`, ...argv]) }, cases, { runs, warmup: 3, out: join(work, 'bridge-startup.json') })
const stats = (r) => {
  const t = [...r.times].sort((a, b) => a - b).map((x) => x * 1000)
  return { median: t[Math.floor(t.length / 2)], p90: t[Math.floor(t.length * 0.9)], max: t[t.length - 1] }
}
const s = startup.map((r, i) => ({ name: cases[i][0], ...stats(r) }))

// 3. Many at once: started in parallel, then every address distinct and every name resolved.
const many = []
for (const [tool, image, run, exec] of [
  ['skiff', 'busybox', './skiff run -d --network bnet', './skiff exec'],
  ['podman', 'skiff-bench-busybox', 'podman run -d --network bnet', 'podman exec'],
]) {
  const t0 = process.hrtime.bigint()
  asUser(`for i in $(seq 1 ${parallel}); do ${run} --name m$i ${image} sleep 600 >/dev/null & done; wait`)
  const secs = Number(process.hrtime.bigint() - t0) / 1e9
  const addrs = asUser(`for i in $(seq 1 ${parallel}); do ${exec} m$i ip -4 -o addr show eth0 | awk '{print $4}'; done`).trim().split('\n')
  const resolved = Number(asUser(`${exec} m1 sh -c 'n=0; for i in $(seq 1 ${parallel}); do nslookup m$i >/dev/null 2>&1 && n=$((n+1)); done; echo $n'`).trim())
  many.push({ tool, secs, distinct: new Set(addrs.filter(Boolean)).size, resolved })
  asUser(tool === 'skiff' ? `./skiff rm -f $(seq -f m%g 1 ${parallel}) >/dev/null` : `podman rm -f -t 0 $(seq -f m%g 1 ${parallel}) >/dev/null`)
}
asUser('./skiff rm -f isrv >/dev/null; ./skiff network rm bnet >/dev/null')
podmanReset()

const g = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'failed')
const loop = throughput.find((r) => r.name.startsWith('host loopback'))
const none = (tool) => s.find((r) => r.name === `${tool} --network none`)
const extra = (r) => {
  const base = none(r.name.split(' ')[0])
  return r.name.endsWith('bnet') && base ? `+${(r.median - base.median).toFixed(1)} ms` : ''
}
const md = `## Bridge networks

Measured by \`node bench/bridge.mjs\` (part of \`npm run bench\`), as \`${user}\` with a clean
environment, every tool in one run. podman uses netavark and aardvark-dns (Debian's) in its rootless
network namespace; skiff its keeper (one pasta uplink, kernel bridge and veths, its own name server).

Container to container on one network, iperf3 for ${seconds} s, the client finding the server by name (Gbit/s):

| path | Gbit/s | ÷ host loopback |
|---|---|---|
${throughput.map((r) => `| ${r.name} | ${g(r.gbit)} | ${(r.gbit / loop.gbit).toFixed(2)} |`).join('\n')}

\`run --rm IMAGE true\` (hyperfine, ${runs} runs after 3 warm-up; ms):

| command | median | p90 | max | over --network none (median) |
|---|---|---|---|---|
${s.map((r) => `| ${r.name} | ${g(r.median)} | ${g(r.p90)} | ${g(r.max)} | ${extra(r)} |`).join('\n')}

${parallel} containers started at once on one network (\`run -d\` in parallel), then each one's address read and every name looked up from the first:

| tool | seconds | distinct addresses | names resolved |
|---|---|---|---|
${many.map((m) => `| ${m.tool} | ${m.secs.toFixed(1)} | ${m.distinct} of ${parallel} | ${m.resolved} of ${parallel} |`).join('\n')}

Versions: ${version(`${ws.skiff} --version`)}; ${version('podman --version')}; netavark ${version('dpkg-query -W -f=\'${Version}\' netavark')}; passt ${version('dpkg-query -W -f=\'${Version}\' passt')}; ${version('iperf3 --version')}; kernel ${version('uname -r')}.
`
replaceSection('Bridge networks', md)
process.stdout.write(`\nbench: wrote the bridge-network section of docs/benchmarks.md\n${md}\n`)

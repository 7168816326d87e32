// bench/network.mjs — throughput of a published port (iperf3 through -p, both directions):
// skiff with pasta and with slirp4netns, podman's default (slirp4netns + rootlesskit's port
// handler), pasta on its own, and the host's loopback as the ceiling. Same user, clean
// environment, one run. Writes its section of docs/benchmarks.md. Run as root.
import { spawn, spawnSync } from 'node:child_process'
import { prepareBusybox, prepareIperfImage, prepareMachine, replaceSection, user, userWorkspace, version } from './common.mjs'

const seconds = Number(process.env.BENCH_IPERF_SECONDS || 5)
prepareMachine({ hyperfine: 'hyperfine', podman: 'podman', crun: 'crun', iperf3: 'iperf3', pasta: 'passt', slirp4netns: 'slirp4netns' })
const ws = userWorkspace('/tmp/skiff-bench-net')
prepareBusybox(ws)
const { work, asUser, asUserArgv } = ws

// 1. An image with iperf3 (iperf for skiff, bench-iperf for podman)
const iperf = prepareIperfImage(ws)

// 2. One server per case, each on its own host port; the client is the host's iperf3.
const cases = [
  ['skiff (pasta)', 15201, './skiff run -d --name ipa -p 127.0.0.1:15201:5201 iperf iperf3 -s', './skiff rm -f ipa'],
  ['skiff --network=slirp4netns (skiff\'s forwarder)', 15202, './skiff run -d --name isl --network=slirp4netns -p 127.0.0.1:15202:5201 iperf iperf3 -s', './skiff rm -f isl'],
  ['skiff --network=slirp4netns (slirp4netns API)', 15206, 'env SKIFF_SLIRP_PORTS=api ./skiff run -d --name isa --network=slirp4netns -p 127.0.0.1:15206:5201 iperf iperf3 -s', './skiff rm -f isa'],
  ['podman (slirp4netns + rootlesskit ports)', 15203, 'podman run -d --name ipo -p 127.0.0.1:15203:5201 bench-iperf iperf3 -s', 'podman rm -f -t 0 ipo'],
  ['pasta on its own', 15204, `pasta -q --config-net -t 15204:5201 -u none -T none -U none -- ${iperf} -s`, null],
  ['host loopback (ceiling)', 15205, `${iperf} -s -p 15205`, null],
]
const results = []
for (const [name, port, start, stop] of cases) {
  let bg
  if (stop) asUser(`${start} >/dev/null`)
  else {
    const [cmd, ...args] = asUserArgv(['sh', '-c', start])
    bg = spawn(cmd, args, { cwd: work, stdio: 'ignore', detached: true })
  }
  spawnSync('sleep', ['1.5'])
  const gbit = (reverse) => {
    const [cmd, ...args] = asUserArgv([iperf, '-c', '127.0.0.1', '-p', String(port), '-t', String(seconds), '-J', ...(reverse ? ['-R'] : [])])
    const r = spawnSync(cmd, args, { cwd: work, encoding: 'utf8' })
    try {
      return JSON.parse(r.stdout).end.sum_received.bits_per_second / 1e9
    } catch {
      return NaN
    }
  }
  results.push({ name, up: gbit(false), down: gbit(true) })
  if (stop) asUser(`${stop} >/dev/null 2>&1 || true`)
  if (bg) {
    try {
      process.kill(-bg.pid, 'SIGKILL')
    } catch {}
  }
  spawnSync('pkill', ['-u', user, '-f', 'iperf3 -s'])
}

const pasta = results.find((r) => r.name === 'pasta on its own')
const g = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'failed')
const rows = results.map((r) => `| ${r.name} | ${g(r.up)} | ${g(r.down)} | ${(r.up / pasta.up).toFixed(2)} |`)
const md = `## Port forwarding throughput (iperf3 through -p)

Measured by \`node bench/network.mjs\` (part of \`npm run bench\`): an iperf3 server in a container
(the busybox tree plus this host's iperf3), the host's iperf3 as client to the published port on
127.0.0.1, ${seconds} s each way, as \`${user}\` with a clean environment. Gbit/s received.

| path | host → container | container → host | host → container ÷ pasta on its own |
|---|---|---|---|
${rows.join('\n')}

Versions: ${version(`${ws.skiff} --version`)}; ${version('podman --version')}; passt ${version('dpkg-query -W -f=\'${Version}\' passt')}; ${version('slirp4netns --version')}; ${version('iperf3 --version')}; kernel ${version('uname -r')}.
`
replaceSection('Port forwarding throughput', md)
process.stdout.write(`\nbench: wrote the port-forwarding section of docs/benchmarks.md\n${rows.join('\n')}\n`)

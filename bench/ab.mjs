// bench/ab.mjs — two (or more) builds of skiff, or any commands, timed interleaved: each round runs
// every command once, in turn, so that a machine whose speed drifts by the minute (two cores, a
// slow hour) weighs on all of them alike. Prints each command's median and minimum. Does I/O.
//
//   node bench/ab.mjs RUNS 'CMD A' 'CMD B' ...
//   node bench/ab.mjs 60 '/tmp/skiff-old run --rm --network=none busybox true' '/tmp/skiff-new run --rm --network=none busybox true'
//
// Run it as the user the commands are for (an unprivileged one with a store holding busybox). The
// environment is reduced to PATH, HOME, USER and XDG_RUNTIME_DIR (NODE_EXTRA_CA_CERTS alone adds
// ~35 ms to every Node start here). Five warm-up rounds first.
import { spawnSync } from 'node:child_process'

const [runsText, ...commands] = process.argv.slice(2)
const runs = Number(runsText)
if (!Number.isInteger(runs) || runs < 1 || commands.length === 0) {
  process.stderr.write("usage: node bench/ab.mjs RUNS 'COMMAND' ['COMMAND' ...]\n")
  process.exit(2)
}
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/', USER: process.env.USER ?? '' }
if (process.env.XDG_RUNTIME_DIR) env.XDG_RUNTIME_DIR = process.env.XDG_RUNTIME_DIR
const once = (command) => {
  const t = process.hrtime.bigint()
  const r = spawnSync('/bin/sh', ['-c', `exec ${command}`], { env, stdio: ['ignore', 'ignore', 'pipe'] })
  if (r.status !== 0) throw new Error(`${command}: status ${r.status}: ${r.stderr}`)
  return Number(process.hrtime.bigint() - t) / 1e6
}
for (let i = 0; i < 5; i++) for (const c of commands) once(c)
const times = commands.map(() => [])
for (let i = 0; i < runs; i++) commands.forEach((c, k) => times[k].push(once(c)))
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1]
commands.forEach((c, k) => process.stdout.write(`${median(times[k]).toFixed(1).padStart(7)} ms median  ${Math.min(...times[k]).toFixed(1).padStart(7)} ms min  ${c}\n`))

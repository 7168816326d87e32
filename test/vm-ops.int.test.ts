// What a container's cgroup gives beyond limits, in the test VM (test/helpers/vm.ts): pause,
// unpause, update, stats, and a kill no process escapes.
// One VM per test file, for the time limits (runInVm in test/helpers/vm.ts).
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { busyboxArchive, need, probe, skiffBin, tempDir } from './helpers/env.js'
import { runInVm, vmCheck } from './helpers/vm.js'

const vm = suite('vm ops')

vm('pause/unpause, update, stats, and a kill no process escapes, in the VM', async () => {
  if (!need('test VM', probe.skiff(), probe.busybox(), vmCheck())) return
  const dir = tempDir('skiff-vm-test-')
  const script = join(dir, 'ops.sh')
  const s = `${skiffBin}`
  writeFileSync(script, `export SKIFF_ROOT=/mnt/store XDG_CACHE_HOME=/mnt/cache
${s} load -q -i ${busyboxArchive('docker')} >/dev/null
# the counter renames its file into place: frozen between the truncate and the write of
# "echo > /tmp/n", it left an empty file for cp to read (a rare failure in CI)
${s} run -d --name counter --network=none busybox sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/n.new; mv /tmp/n.new /tmp/n; sleep 0.1; done' >/dev/null
sleep 2
${s} pause counter >/dev/null
echo "paused-ps: $(${s} ps | grep -c '(Paused)')"
a=$(${s} cp counter:/tmp/n - | tar -xOf -); sleep 1; b=$(${s} cp counter:/tmp/n - | tar -xOf -)
echo "frozen-count: $a $b"
${s} unpause counter >/dev/null
sleep 1; c=$(${s} cp counter:/tmp/n - | tar -xOf -)
[ "$c" -gt "$b" ] && echo "thawed: yes"
${s} update --memory 64m --pids-limit 9 counter >/dev/null
${s} exec counter sh -c 'echo "updated: $(cat /sys/fs/cgroup/memory.max) $(cat /sys/fs/cgroup/pids.max)"'
${s} stats --no-stream --format json counter > /mnt/stats.json
node -e 'const r = require("/mnt/stats.json")[0]; console.log("stats: " + (r.memoryUsage > 0) + " " + r.memoryLimit + " " + (r.pids >= 1) + " " + (r.cpuPercent >= 0))'
${s} inspect counter > /mnt/c.json
node -e 'const i = require("/mnt/c.json")[0]; console.log("inspect-memory: " + i.HostConfig.Memory + " " + i.HostConfig.PidsLimit)'
# a process that left the pid namespace's view is still in the cgroup: rm -f kills it too
${s} exec -d counter sleep 300
${s} rm -f counter >/dev/null
echo "left: $(ps -eo comm | grep -c '^sleep$')"
`)
  const r = await runInVm(script)
  assert.is(r.status, 0, r.output.slice(-4000))
  assert.match(r.output, /paused-ps: 1\n/, r.output.slice(-3000))
  assert.match(r.output, /frozen-count: \d+ \d+\n/, r.output.slice(-3000))
  const [a, b] = /frozen-count: (\d+) (\d+)/.exec(r.output)!.slice(1).map(Number)
  assert.is(a, b, 'nothing ran while paused')
  assert.match(r.output, /thawed: yes\n/)
  assert.match(r.output, /updated: 67108864 9\n/)
  assert.match(r.output, /stats: true 67108864 true true\n/)
  assert.match(r.output, /inspect-memory: 67108864 9\n/)
  assert.match(r.output, /left: 0\n/)
})

vm.run()

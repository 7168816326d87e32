// Limits enforced on a pure cgroup v2 host, in the test VM (test/helpers/vm.ts): memory.max with
// the OOM kill reported, pids.max, cpu.max, a cgroup per container, removed after.
// One VM per test file, for the time limits (runInVm in test/helpers/vm.ts).
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { busyboxArchive, need, probe, skiffBin, tempDir } from './helpers/env.js'
import { runInVm, vmCheck } from './helpers/vm.js'

const vm = suite('vm limits')

vm('limits in the VM: memory.max (OOM kill, reported), pids.max, cpu.max, a cgroup per container, removed after', async () => {
  if (!need('test VM', probe.skiff(), probe.busybox(), vmCheck())) return
  const dir = tempDir('skiff-vm-test-')
  const script = join(dir, 'limits.sh')
  const s = `${skiffBin}`
  writeFileSync(script, `export SKIFF_ROOT=/mnt/store XDG_CACHE_HOME=/mnt/cache
cg=/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup | sed 's#/init.scope$##')
${s} load -q -i ${busyboxArchive('docker')} >/dev/null
# memory: dd writes 100 MB to a tmpfs, charged to the container; 32 MB is the limit
${s} run --name hog --network=none --memory 32m --tmpfs /big:size=256m busybox dd if=/dev/zero of=/big/x bs=1M count=100 2>/dev/null
echo "hog-status: $?"
${s} inspect hog > /mnt/hog.json
node -e 'const i = require("/mnt/hog.json")[0]; console.log("hog-oom: " + i.State.OOMKilled + " " + i.State.ExitCode + " " + i.HostConfig.Memory)'
# pids: the sixth process cannot be made. The forks happen in a subshell whose complaints go to a
# file, counted after it: with a pipe to grep, the subshell could fill the five before the
# shell had made grep, and then the shell itself could not fork it (and hung)
${s} run --rm --network=none --pids-limit 5 busybox sh -c '(for i in 1 2 3 4 5 6 7 8; do sleep 2 & done; wait) 2>/fork-errors; grep -c "can.t fork" /fork-errors; echo "pids-max: $(cat /sys/fs/cgroup/pids.max)"'
# cpu: a busy loop at a tenth of a CPU is throttled
${s} run --rm --network=none --cpus 0.1 busybox sh -c 'timeout 2 sh -c "while :; do :; done"; grep -E "^(nr_throttled|usage_usec)" /sys/fs/cgroup/cpu.stat; cat /sys/fs/cgroup/cpu.max'
# exec joins the container's cgroup
${s} run -d --name idle --network=none --memory 48m busybox sleep 60 >/dev/null
${s} exec idle sh -c 'echo "exec-cgroup: $(cat /proc/self/cgroup) $(cat /sys/fs/cgroup/memory.max)"'
echo "cgroups-while: $(find $cg/skiff -mindepth 1 -maxdepth 1 -type d | wc -l)"
${s} rm -f idle hog >/dev/null
echo "cgroups-after: $(find $cg/skiff -mindepth 1 -maxdepth 1 -type d | wc -l)"
`)
  const r = await runInVm(script)
  assert.is(r.status, 0, r.output.slice(-4000))
  assert.match(r.output, /hog-status: 137\n/, r.output.slice(-3000))
  assert.match(r.output, /hog-oom: true 137 33554432\n/)
  assert.match(r.output, /\n[1-9]\d*\npids-max: 5\n/)
  const throttled = Number(/nr_throttled (\d+)/.exec(r.output)?.[1])
  assert.ok(throttled > 0, `nr_throttled ${throttled}`)
  assert.match(r.output, /\n10000 100000\n/)
  assert.match(r.output, /exec-cgroup: 0::\/ 50331648\n/)
  assert.match(r.output, /cgroups-while: 1\n/)
  assert.match(r.output, /cgroups-after: 0\n/)
})

vm.run()

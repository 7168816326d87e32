// skiff on another kernel and a pure cgroup v2 host: Debian 12's kernel in a test VM (see
// test/helpers/vm.ts), the host's / read-only, a cgroup subtree delegated to the user as systemd
// does. The groundwork of the cgroup tests: what skiff info sees there, and containers in their
// own cgroup namespace.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { busyboxArchive, need, probe, skiffBin, tempDir } from './helpers/env.js'
import { readVmRelease, runInVm, vmCheck } from './helpers/vm.js'

const vm = suite('vm')

vm('Debian 12 kernel, cgroup v2 delegated: load, run, info', async () => {
  if (!need('test VM', probe.skiff(), probe.busybox(), vmCheck())) return
  const dir = tempDir('skiff-vm-test-')
  const script = join(dir, 'in-vm.sh')
  writeFileSync(script, `set -e
export SKIFF_ROOT=/mnt/store XDG_CACHE_HOME=/mnt/cache
echo "vm-uname: $(uname -r)"
echo "vm-cgroup: $(cat /proc/self/cgroup)"
${skiffBin} load -q -i ${busyboxArchive('docker')} >/dev/null
${skiffBin} run --rm --network=none busybox sh -c 'echo "ctr-cgroup: $(cat /proc/self/cgroup)"; echo "ctr-id: $(id -u)"; ls /etc/layer2'
${skiffBin} info --format json > /mnt/info.json
node -e 'const i = require("/mnt/info.json").items; console.log("info-cgroups: " + i.cgroups.status + " " + i.cgroups.value); console.log("info-driver: " + i.storageDriver.value)'
`)
  const r = await runInVm(script)
  assert.is(r.status, 0, r.output.slice(-4000))
  assert.match(r.output, new RegExp(`vm-uname: ${readVmRelease().replace(/[.]/g, '\\.')}`))
  assert.match(r.output, /vm-cgroup: 0::\/user\.slice\/user-\d+\.slice\/user@\d+\.service\/init\.scope/)
  // its own cgroup namespace: the container sees itself at the root
  assert.match(r.output, /ctr-cgroup: 0::\/\n/)
  assert.match(r.output, /ctr-id: 0\n\/etc\/layer2/)
  assert.match(r.output, /info-cgroups: ok /, r.output.slice(-3000))
  assert.match(r.output, /info-driver: overlay/)
})

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
# pids: the sixth process cannot be made
${s} run --rm --network=none --pids-limit 5 busybox sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 2 & done 2>&1 | grep -c "can.t fork"; echo "pids-max: $(cat /sys/fs/cgroup/pids.max)"'
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

vm('pause/unpause, update, stats, and a kill no process escapes, in the VM', async () => {
  if (!need('test VM', probe.skiff(), probe.busybox(), vmCheck())) return
  const dir = tempDir('skiff-vm-test-')
  const script = join(dir, 'ops.sh')
  const s = `${skiffBin}`
  writeFileSync(script, `export SKIFF_ROOT=/mnt/store XDG_CACHE_HOME=/mnt/cache
${s} load -q -i ${busyboxArchive('docker')} >/dev/null
${s} run -d --name counter --network=none busybox sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/n; sleep 0.1; done' >/dev/null
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
  const [a, b] = /frozen-count: (\d+) (\d+)/.exec(r.output)!.slice(1).map(Number)
  assert.is(a, b, 'nothing ran while paused')
  assert.match(r.output, /thawed: yes\n/)
  assert.match(r.output, /updated: 67108864 9\n/)
  assert.match(r.output, /stats: true 67108864 true true\n/)
  assert.match(r.output, /inspect-memory: 67108864 9\n/)
  assert.match(r.output, /left: 0\n/)
})

vm('systemd: from a cgroup the user does not own, each container gets a transient scope from the user manager', async () => {
  if (!need('test VM', probe.skiff(), probe.busybox(), vmCheck())) return
  const dir = tempDir('skiff-vm-test-')
  const script = join(dir, 'systemd.sh')
  const s = `${skiffBin}`
  writeFileSync(script, `export SKIFF_ROOT=/mnt/store XDG_CACHE_HOME=/mnt/cache
echo "vm-cgroup: $(cat /proc/self/cgroup)"
${s} info --format json > /mnt/info.json
node -e 'const i = require("/mnt/info.json").items; console.log("info-cgroups: " + i.cgroups.status + " " + i.cgroups.value)'
${s} load -q -i ${busyboxArchive('docker')} >/dev/null
${s} run --name hog --network=none --memory 32m --tmpfs /big:size=256m busybox dd if=/dev/zero of=/big/x bs=1M count=100 2>/dev/null
echo "hog-status: $?"
${s} inspect hog > /mnt/hog.json
node -e 'const i = require("/mnt/hog.json")[0]; console.log("hog-oom: " + i.State.OOMKilled + " " + i.State.ExitCode)'
${s} run --rm --network=none --pids-limit 5 busybox sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 2 & done 2>&1 | grep -c "can.t fork"; echo "pids-max: $(cat /sys/fs/cgroup/pids.max)"'
id=$(${s} run -d --name idle --network=none --memory 48m busybox sleep 60)
cg=$(cat /mnt/store/containers/$id/cgroup)
echo "scope-cgroup: $cg"
echo "scope-supervisor: $(cat $(dirname $cg)/supervisor/cgroup.procs | wc -l)"
${s} exec idle sh -c 'echo "exec-cgroup: $(cat /proc/self/cgroup) $(cat /sys/fs/cgroup/memory.max)"'
${s} stats --no-stream --format json idle > /mnt/stats.json
node -e 'const r = require("/mnt/stats.json")[0]; console.log("stats: " + (r.memoryUsage > 0) + " " + r.memoryLimit)'
${s} pause idle >/dev/null && echo "paused: $(cat $cg/cgroup.freeze)" && ${s} unpause idle >/dev/null
echo "scopes-while: $(systemctl --user list-units --no-pager --no-legend 'skiff-*' | wc -l)"
${s} rm -f idle hog >/dev/null
sleep 1
echo "scopes-after: $(systemctl --user list-units --no-pager --no-legend 'skiff-*' | wc -l)"
# Debian's user manager delegates cpu memory pids: a cpuset limit is refused, with the fix
${s} run --rm --network=none --cpuset-cpus 0 busybox true 2>&1; echo "cpuset-status: $?"
`)
  const r = await runInVm(script, { systemd: true })
  assert.is(r.status, 0, r.output.slice(-4000))
  assert.match(r.output, /vm-cgroup: 0::\/system\.slice\/skiff-vm-test\.service\n/, r.output.slice(-3000))
  assert.match(r.output, /info-cgroups: warning .*systemd user manager .*a scope per container.*: cpu memory pids; not delegated: cpuset io/)
  assert.match(r.output, /hog-status: 137\n/, r.output.slice(-3000))
  assert.match(r.output, /hog-oom: true 137\n/)
  assert.match(r.output, /\n[1-9]\d*\npids-max: 5\n/)
  assert.match(r.output, /scope-cgroup: \/sys\/fs\/cgroup\/user\.slice\/user-\d+\.slice\/user@\d+\.service\/app\.slice\/skiff-[0-9a-f]{12}-[0-9a-z]+\.scope\/container\n/)
  assert.match(r.output, /scope-supervisor: 1\n/)
  assert.match(r.output, /exec-cgroup: 0::\/ 50331648\n/)
  assert.match(r.output, /stats: true 50331648\n/)
  assert.match(r.output, /paused: 1\n/)
  assert.match(r.output, /scopes-while: 1\n/)
  assert.match(r.output, /scopes-after: 0\n/)
  assert.match(r.output, /cannot enforce cpuset limits here: the delegated cgroup .*user@\d+\.service does not offer cpuset.*\n.*delegate\.conf/)
  assert.match(r.output, /cpuset-status: 125\n/)
})

vm.run()

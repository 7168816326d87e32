// Under a systemd user manager, in the test VM (test/helpers/vm.ts): from a cgroup the user does
// not own, each container gets a transient scope, and limits hold there.
// One VM per test file, for the time limits (runInVm in test/helpers/vm.ts).
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { busyboxArchive, need, probe, skiffBin, tempDir } from './helpers/env.js'
import { runInVm, vmCheck } from './helpers/vm.js'

const vm = suite('vm systemd')

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
# (the forks' complaints go to a file, counted after: with a pipe to grep, the loop could take the
# five before the shell had made grep, which then could not be forked; vm-limits does the same)
${s} run --rm --network=none --pids-limit 5 busybox sh -c '(for i in 1 2 3 4 5 6 7 8; do sleep 2 & done; wait) 2>/fork-errors; grep -c "can.t fork" /fork-errors; echo "pids-max: $(cat /sys/fs/cgroup/pids.max)"'
id=$(${s} run -d --name idle --network=none --memory 48m busybox sleep 60)
cg=$(cat /mnt/store/containers/$id/cgroup)
echo "scope-cgroup: $cg"
echo "scope-supervisor: $(cat $(dirname $cg)/supervisor/cgroup.procs | wc -l)"
${s} exec idle sh -c 'echo "exec-cgroup: $(cat /proc/self/cgroup) $(cat /sys/fs/cgroup/memory.max)"'
${s} stats --no-stream --format json idle > /mnt/stats.json
node -e 'const r = require("/mnt/stats.json")[0]; console.log("stats: " + (r.memoryUsage > 0) + " " + r.memoryLimit)'
${s} pause idle >/dev/null && echo "paused: $(cat $cg/cgroup.freeze)" && ${s} unpause idle >/dev/null
# the scopes of the containers that ended go with them, but the user manager may take a moment
scopes() { systemctl --user list-units --no-pager --no-legend 'skiff-*' | wc -l; }
# (up to 30 s: under software emulation on a busy host, the manager has taken over 10 s)
for i in $(seq 150); do [ "$(scopes)" -le 1 ] && break; sleep 0.2; done
echo "scopes-while: $(scopes)"
${s} rm -f idle hog >/dev/null
for i in $(seq 150); do [ "$(scopes)" -eq 0 ] && break; sleep 0.2; done
echo "scopes-after: $(scopes)"
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

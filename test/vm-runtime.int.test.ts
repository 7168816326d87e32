// The OCI runtime face's cgroups on a pure cgroup v2 host, in the test VM (test/helpers/vm.ts):
// config.json's limits in the container's cgroup, exec joining it, pause and resume (state says
// "paused"), update --resources, and the cgroup removed by delete. One VM per test file.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { need, probe, skiffBin, tempDir } from './helpers/env.js'
import { runInVm, vmCheck } from './helpers/vm.js'

const vm = suite('vm runtime')

vm('skiff-runc in the VM: limits in the cgroup, exec joins it, pause/resume, update, delete removes it', async () => {
  if (!need('test VM', probe.skiff(), probe.busybox(), vmCheck())) return
  const dir = tempDir('skiff-vm-test-')
  const script = join(dir, 'runtime.sh')
  writeFileSync(script, `export XDG_CACHE_HOME=/mnt/cache
set -e
cg=/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup | sed 's#/init.scope$##')
R="${skiffBin} runtime --root /mnt/runc"
mkdir -p /mnt/b/rootfs/bin && cp /bin/busybox /mnt/b/rootfs/bin/ && for a in sh cat sleep; do ln -s busybox /mnt/b/rootfs/bin/$a; done
cd /mnt/b && $R spec --rootless
node -e 'const f = "/mnt/b/config.json"; const c = require(f); c.process.terminal = false; c.process.args = ["sleep", "60"]; c.linux.resources = { memory: { limit: 33554432 }, pids: { limit: 20 } }; require("fs").writeFileSync(f, JSON.stringify(c))'
$R run -d -b /mnt/b c1 </dev/null >/mnt/c1.out 2>&1
state() { $R state c1 | sed -n 's/.*"status": "\\([a-z]*\\)".*/\\1/p'; }
pid=$($R state c1 | sed -n 's/.*"pid": \\([0-9]*\\).*/\\1/p')
ccg=/sys/fs/cgroup$(cut -d: -f3 /proc/$pid/cgroup)
echo "state: $(state)"
echo "limits: $(cat $ccg/memory.max) $(cat $ccg/pids.max)"
echo "exec-cgroup-same: $([ "$($R exec c1 cat /proc/self/cgroup)" = "$(cat /proc/$pid/cgroup)" ] && echo yes || echo no)"
$R pause c1
echo "paused: $(state) $(grep frozen $ccg/cgroup.events)"
$R resume c1
echo "resumed: $(state)"
echo '{"memory": {"limit": 50331648}}' | $R update --resources - c1
echo "updated: $(cat $ccg/memory.max)"
$R delete -f c1
echo "cgroup-after: $([ -d $ccg ] && echo left || echo gone)"
echo "containers-after: $(ls /mnt/runc | wc -l)"
`)
  const r = await runInVm(script)
  assert.is(r.status, 0, r.output.slice(-4000))
  assert.match(r.output, /state: running\n/, r.output.slice(-3000))
  assert.match(r.output, /limits: 33554432 20\n/)
  assert.match(r.output, /exec-cgroup-same: yes\n/)
  assert.match(r.output, /paused: paused frozen 1\n/)
  assert.match(r.output, /resumed: running\n/)
  assert.match(r.output, /updated: 50331648\n/)
  assert.match(r.output, /cgroup-after: gone\n/)
  assert.match(r.output, /containers-after: 0\n/)
})

vm.run()

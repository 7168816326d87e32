// skiff on another kernel and a pure cgroup v2 host: Debian 12's kernel in a test VM (see
// test/helpers/vm.ts), the host's / read-only, a cgroup subtree delegated to the user as systemd
// does. The groundwork of the cgroup tests: what skiff info sees there, and containers in their
// own cgroup namespace.
// One VM per test file, for the time limits (runInVm in test/helpers/vm.ts).
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

vm.run()

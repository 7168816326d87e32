// Limits on this host, whatever it offers: enforced where a cgroup v2 subtree is delegated, and
// otherwise refused with the reason and the fix (never silently dropped); --cgroups=disabled is the
// explicit way to run without them. (Enforcement is tested in the VM: vm-limits, vm-ops.)
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { busyboxArchive, need, probe, useSandbox } from './helpers/env.js'

const cg = suite('cgroup on this host')
const sb = useSandbox(cg)

cg('limits: enforced with a delegated subtree, else a clear refusal; --cgroups=disabled says what it drops', () => {
  if (!need('host limits', probe.skiff(), probe.rootless(), probe.busybox())) return
  assert.is(sb.run(['load', '-q', '-i', busyboxArchive('docker')]).status, 0)
  const info = JSON.parse(sb.run(['info', '--format', 'json']).stdout).items.cgroups
  const r = sb.run(['run', '--rm', '--network=none', '--pids-limit', '7', 'busybox', 'cat', '/sys/fs/cgroup/pids.max'])
  if (info.status === 'ok') {
    assert.is(r.status, 0, r.describe())
    assert.is(r.stdout, '7\n')
  } else {
    assert.is(r.status, 125, r.describe())
    assert.match(r.stderr, /^Error: cannot enforce pids limits here: .+\n  hint: .+; or run with --cgroups=disabled to go on without limits\n$/)
    assert.equal(JSON.parse(sb.run(['ps', '-a', '--format', 'json']).stdout), [], 'refused before anything was made')
  }
  const off = sb.run(['run', '--rm', '--network=none', '--cgroups=disabled', '--memory', '64m', 'busybox', 'echo', 'ran'])
  assert.is(off.status, 0, off.describe())
  assert.is(off.stdout, 'ran\n')
  assert.match(off.stderr, /warning: --cgroups=disabled: the limits asked for \(memory\.max\) are not enforced/)
  assert.match(sb.run(['run', '--rm', '--memory-swap', '1g', 'busybox', 'true']).stderr, /--memory-swap is memory plus swap: it needs --memory/)
  assert.match(sb.run(['run', '--rm', '--cpus', 'lots', 'busybox', 'true']).stderr, /--cpus lots: expected a positive number/)
})

cg.run()

import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isMapped, keepIdMap, planIdMap, swapInside } from '../../core/host/idmap.js'

const base = { uid: 1000, gid: 1000, user: 'ann', newuidmap: '/usr/bin/newuidmap', newgidmap: '/usr/bin/newgidmap' }

test('helpers and ranges: 0 → user, 1.. → subordinate ranges stacked in order', () => {
  const d = planIdMap({ ...base, subuids: [{ start: 100000, count: 65536 }, { start: 300000, count: 10 }], subgids: [{ start: 200000, count: 65536 }] })
  assert.is(d.warning, undefined)
  assert.is(d.plan.mode, 'helpers')
  assert.equal(d.plan.uidMap, [
    { inside: 0, outside: 1000, count: 1 },
    { inside: 1, outside: 100000, count: 65536 },
    { inside: 65537, outside: 300000, count: 10 },
  ])
  assert.equal(d.plan.gidMap, [{ inside: 0, outside: 1000, count: 1 }, { inside: 1, outside: 200000, count: 65536 }])
  assert.ok(isMapped(d.plan.uidMap, 65546))
  assert.not.ok(isMapped(d.plan.uidMap, 65547))
})

test('no subordinate range: single mapping, setgroups denied, warning names the fix', () => {
  const fix = 'sudo usermod --add-subuids 231072-296607 --add-subgids 231072-296607 ann'
  const d = planIdMap({ ...base, subuids: [], subgids: [{ start: 1, count: 5 }], rangesFix: fix })
  assert.is(d.plan.mode, 'self')
  assert.ok(d.plan.denySetgroups)
  assert.equal(d.plan.uidMap, [{ inside: 0, outside: 1000, count: 1 }])
  assert.match(d.warning!, /no subordinate range for ann in \/etc\/subuid/)
  assert.ok(d.warning!.endsWith(`Fix: ${fix}`), d.warning)
  // no range computed (ids from a directory service): no made-up one either
  assert.match(planIdMap({ ...base, subuids: [], subgids: [] }).warning!, /Fix: ask your administrator/)
})

test('helpers missing: single mapping and the package to install', () => {
  const d = planIdMap({ ...base, newuidmap: undefined, subuids: [{ start: 100000, count: 65536 }], subgids: [{ start: 100000, count: 65536 }] })
  assert.is(d.plan.mode, 'self')
  assert.match(d.warning!, /uidmap/)
  const notSetuid = planIdMap({ ...base, helpersProblem: '/usr/bin/newuidmap is not setuid root', subuids: [{ start: 1, count: 1 }], subgids: [{ start: 1, count: 1 }] })
  assert.match(notSetuid.warning!, /not setuid root/)
})

test("helpers that cannot gain privileges: the warning's fix is the problem's, not an install", () => {
  const d = planIdMap({ ...base, helpersProblem: 'this process runs with no_new_privs', helpersFix: 'run skiff outside that service', subuids: [{ start: 1, count: 1 }], subgids: [{ start: 1, count: 1 }] })
  assert.is(d.plan.mode, 'self')
  assert.match(d.warning!, /no_new_privs: using a single id mapping .*Fix: run skiff outside that service$/)
  assert.not.match(d.warning!, /install the uidmap/)
})

test('root maps every id onto itself, no helpers', () => {
  const d = planIdMap({ uid: 0, gid: 0, user: 'root', subuids: [], subgids: [] })
  assert.equal(d.plan, { mode: 'self', uidMap: [{ inside: 0, outside: 0, count: 4294967295 }], gidMap: [{ inside: 0, outside: 0, count: 4294967295 }], denySetgroups: false })
  assert.is(d.warning, undefined)
})


test('keep-id: the user is its own id inside; root takes the subordinate id the user number had', () => {
  const d = planIdMap({ ...base, subuids: [{ start: 100000, count: 65536 }], subgids: [{ start: 200000, count: 65536 }] })
  const k = keepIdMap(d.plan, 1000, 1000)
  assert.equal(k.uidMap, [
    { inside: 0, outside: 100999, count: 1 },
    { inside: 1, outside: 100000, count: 999 },
    { inside: 1000, outside: 1000, count: 1 },
    { inside: 1001, outside: 101000, count: 64536 },
  ])
  assert.equal(k.gidMap[2], { inside: 1000, outside: 1000, count: 1 })
  assert.is(k.uidMap.reduce((n, r) => n + r.count, 0), 65537)
})

test('keep-id without ranges: only the user, under its own number (root has no id)', () => {
  const d = planIdMap({ ...base, subuids: [], subgids: [] })
  const k = keepIdMap(d.plan, 1000, 1001)
  assert.equal(k.uidMap, [{ inside: 1000, outside: 1000, count: 1 }])
  assert.equal(k.gidMap, [{ inside: 1001, outside: 1000, count: 1 }])
  assert.ok(k.denySetgroups)
  assert.not.ok(isMapped(k.uidMap, 0))
})

test('keep-id with a range smaller than the user id: root is left unmapped, the rest unchanged', () => {
  assert.equal(swapInside([{ inside: 0, outside: 1000, count: 1 }, { inside: 1, outside: 100000, count: 500 }], 0, 1000), [
    { inside: 1, outside: 100000, count: 500 },
    { inside: 1000, outside: 1000, count: 1 },
  ])
  assert.equal(swapInside([{ inside: 0, outside: 0, count: 10 }], 0, 0), [{ inside: 0, outside: 0, count: 10 }])
})

test.run()

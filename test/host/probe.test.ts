import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { renderJson, renderText } from '../../cmd/info.js'
import { probeHost, type ProbeItem } from '../../core/host/probe.js'
import { mappedIdLimit } from '../../core/storage/jobs.js'

/** Every item `skiff info` shows, in order: ids are the stable JSON keys. */
const IDS = [
  'kernel', 'userNamespaces',
  'subordinateIds', 'idmapHelpers', 'idMapping',
  'storage', 'runtime', 'cache', 'overlay', 'fuseOverlayfs', 'devFuse',
  'pasta', 'slirp4netns', 'devNetTun', 'ping', 'unprivilegedPorts',
  'cgroups',
]

function checkShape(items: ProbeItem[]): void {
  assert.equal(items.map((i) => i.id), IDS)
  for (const i of items) {
    assert.ok(['ok', 'warning', 'error'].includes(i.status), `${i.id}: status ${i.status}`)
    assert.type(i.name, 'string')
    assert.ok(i.value.length > 0, `${i.id} has a value`)
    assert.not.match(i.value, /\n/, `${i.id}: one line`)
    assert.type(i.details, 'object')
    if (i.status !== 'ok') assert.ok(i.fix, `${i.id} (${i.status}) has a fix`)
    if (i.fix) assert.not.match(i.fix, /\n/, `${i.id}: the fix is one line`)
  }
}

test('the probe runs on this machine, fast, and names every item', async () => {
  const started = performance.now()
  const items = await probeHost()
  const ms = performance.now() - started
  checkShape(items)
  assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`)
  // facts of this machine that hold for any user
  const byId = Object.fromEntries(items.map((i) => [i.id, i]))
  assert.is(byId.userNamespaces!.details.tested, false)
  assert.match(byId.kernel!.value, /^\d+\.\d+/)
})

test('a trial that works, and one that fails, decide the user namespace verdict', async () => {
  const good = await probeHost({ tryUserns: async () => ({ uidMap: `0 ${process.getuid!()} 1\n`, gidMap: `0 ${process.getgid!()} 1\n` }) })
  checkShape(good)
  const userns = good.find((i) => i.id === 'userNamespaces')!
  assert.is(userns.status, 'ok')
  assert.match(userns.value, /tested/)
  const bad = await probeHost({
    tryUserns: async () => {
      throw Object.assign(new Error('cannot create a user namespace: EPERM (operation not permitted)'), { hint: 'h' })
    },
  })
  checkShape(bad)
  const failed = bad.find((i) => i.id === 'userNamespaces')!
  assert.is(failed.status, 'error')
  assert.match(failed.value, /EPERM/)
  assert.is(failed.details.testError, 'cannot create a user namespace: EPERM (operation not permitted)')
  // a callback that throws before it returns a promise is a failure too, not a crash
  const sync = await probeHost({
    tryUserns: () => {
      throw new Error('boom')
    },
  })
  assert.is(sync.find((i) => i.id === 'userNamespaces')!.status, 'error')
})

const sample: ProbeItem[] = [
  { id: 'kernel', name: 'kernel', section: 'host', status: 'ok', value: '6.1.0', details: { release: '6.1.0' } },
  { id: 'userNamespaces', name: 'user namespaces', section: 'host', status: 'error', value: 'disabled (user.max_user_namespaces = 0)', fix: 'sudo sysctl -w user.max_user_namespaces=15000', details: {} },
  { id: 'ping', name: 'ping', section: 'network', status: 'warning', value: 'not allowed', fix: 'sudo sysctl ...', details: {} },
]

test('text: sections, a line per item, problems marked with their fix, a summary', () => {
  assert.is(renderText('1.0', sample), [
    'skiff 1.0',
    'host',
    '  kernel:           6.1.0',
    '✗ user namespaces:  disabled (user.max_user_namespaces = 0)',
    '                    fix: sudo sysctl -w user.max_user_namespaces=15000',
    'network',
    '! ping:             not allowed',
    '                    fix: sudo sysctl ...',
    'rootless containers: not ready: user namespaces',
    '',
  ].join('\n'))
  assert.match(renderText('1.0', [sample[0]!]), /rootless containers: ready\n$/)
  assert.match(renderText('1.0', [sample[0]!, sample[2]!]), /rootless containers: ready \(1 warning: ping\)\n$/)
})

test('json: items keyed by id, every key present', () => {
  const j = JSON.parse(renderJson('1.0', sample))
  assert.equal(Object.keys(j), ['version', 'status', 'items'])
  assert.is(j.status, 'error')
  assert.equal(Object.keys(j.items), ['kernel', 'userNamespaces', 'ping'])
  assert.equal(j.items.kernel, { name: 'kernel', section: 'host', status: 'ok', value: '6.1.0', fix: null, details: { release: '6.1.0' } })
})

// storage-jobs (the lead's): kept here from the first version of this file
test('mapped id limit: contiguous from 0', () => {
  assert.is(mappedIdLimit('0 1000 1\n1 100000 65536\n', '0 1000 1\n1 100000 65536\n'), 65537)
  assert.is(mappedIdLimit('0 1000 1\n', '0 1000 1\n1 5 10\n'), 1)
})

test.run()

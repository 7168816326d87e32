import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { capabilityMask } from '../../core/launch/capabilities.js'
import { planIdMap } from '../../core/host/idmap.js'
import type { MountOp } from '../../core/plan.js'
import { expandEnvFlags, mergeEnv, planLaunch, resolveArgs, type SpecInput } from '../../core/launch/spec.js'

const helpers = planIdMap({ uid: 1000, gid: 1000, user: 'u', subuids: [{ start: 100000, count: 65536 }], subgids: [{ start: 100000, count: 65536 }], newuidmap: '/x', newgidmap: '/y' }).plan
const single = planIdMap({ uid: 1000, gid: 1000, user: 'u', subuids: [], subgids: [] }).plan

function input(over: Partial<SpecInput> = {}, options: Partial<SpecInput['options']> = {}): SpecInput {
  return {
    config: { Env: ['PATH=/bin', 'A=image'], Cmd: ['sh'], WorkingDir: '/srv' },
    options: { args: [], env: [], tty: false, interactive: false, ...options },
    id: 'abcdef0123456789abcdef',
    user: { uid: 0, gid: 0, additionalGids: [], home: '/root' },
    idmap: helpers,
    rootfs: { kind: 'bind', source: '/r', target: '/r', readonly: false },
    etcFiles: { hosts: '/c/hosts', hostname: '/c/hostname' },
    hostEnv: { FROM_HOST: 'h' },
    ...over,
  }
}

test('entrypoint and cmd follow Docker', () => {
  const cfg = { Entrypoint: ['/ep'], Cmd: ['a', 'b'] }
  const o = { args: [], env: [], tty: false, interactive: false }
  assert.equal(resolveArgs(cfg, o), ['/ep', 'a', 'b'])
  assert.equal(resolveArgs(cfg, { ...o, args: ['x'] }), ['/ep', 'x'])
  assert.equal(resolveArgs(cfg, { ...o, entrypoint: '/other' }), ['/other'])
  assert.equal(resolveArgs(cfg, { ...o, entrypoint: '', args: ['ls'] }), ['ls'])
  assert.throws(() => resolveArgs({}, o), /no command specified/)
})

test('env: defaults < image < flags; KEY alone copies the host value or is dropped', () => {
  assert.equal(expandEnvFlags(['FROM_HOST', 'MISSING', 'B=2'], { FROM_HOST: 'h' }), ['FROM_HOST=h', 'B=2'])
  assert.equal(mergeEnv(['A=1', 'B=1'], ['A=2'], ['C=3', 'B=']), ['A=2', 'B=', 'C=3'])
  const plan = planLaunch(input({}, { env: ['A=flag', 'FROM_HOST'], tty: true }))
  assert.equal(plan.process.env, ['PATH=/bin', 'HOSTNAME=abcdef012345', 'container=oci', 'TERM=xterm', 'A=flag', 'FROM_HOST=h', 'HOME=/root'])
})

test('hostname defaults to the id prefix; cwd to the image WorkingDir', () => {
  const plan = planLaunch(input())
  assert.is(plan.hostname, 'abcdef012345')
  assert.is(plan.process.cwd, '/srv')
  assert.is(planLaunch(input({}, { hostname: 'box', workdir: '/tmp' })).hostname, 'box')
  assert.is(planLaunch(input({}, { workdir: '/tmp' })).process.cwd, '/tmp')
})

test('root gets Docker\'s default capabilities; other users none effective', () => {
  const root = planLaunch(input()).process.capabilities
  assert.is(capabilityMask(root.effective), '00000000a80425fb')
  assert.is(capabilityMask(root.bounding), '00000000a80425fb')
  assert.equal(root.inheritable, [])
  const app = planLaunch(input({ user: { uid: 1000, gid: 1000, additionalGids: [2000], home: '/home/app' } })).process
  assert.equal(app.capabilities.effective, [])
  assert.is(capabilityMask(app.capabilities.bounding), '00000000a80425fb')
  assert.equal(app.additionalGids, [2000])
  assert.ok(app.noNewPrivileges)
})

test('mounts: proc, dev, masked and read-only paths; devpts gid=5 only when mapped', () => {
  const plan = planLaunch(input())
  const targets = plan.mounts.map((m) => `${m.kind}:${m.target}`)
  for (const t of ['mount:/proc', 'mount:/dev', 'mount:/dev/pts', 'mount:/dev/shm', 'mount:/sys', 'bind:/dev/null', 'mask:/proc/kcore', 'mask:/sys/firmware', 'readonly:/proc/sys', 'readonly:/proc/sysrq-trigger', 'symlink:/dev/ptmx', 'bind:/etc/hosts']) {
    assert.ok(targets.includes(t), t)
  }
  // /dev before anything under it
  assert.ok(targets.indexOf('mount:/dev') < targets.indexOf('bind:/dev/null'))
  const pts = (p: typeof plan) => p.mounts.find((m): m is Extract<MountOp, { kind: 'mount' }> => m.kind === 'mount' && m.fstype === 'devpts')!
  assert.match(pts(plan).data!, /gid=5/)
  assert.not.match(pts(planLaunch(input({ idmap: single }))).data!, /gid=5/)
})

test('single mapping: supplementary groups dropped, unmapped users refused with the fix', () => {
  const plan = planLaunch(input({ idmap: single, user: { uid: 0, gid: 0, additionalGids: [10], home: '/root' } }))
  assert.equal(plan.process.additionalGids, [])
  assert.throws(() => planLaunch(input({ idmap: single, user: { uid: 1000, gid: 1000, additionalGids: [], home: '/' } })), /uid 1000 has no host id.*0-0/)
  assert.throws(() => planLaunch(input({ user: { uid: 70000, gid: 0, additionalGids: [], home: '/' } })), /0-65536/)
})

test.run()

import { spawnSync } from 'node:child_process'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { apparmorFix, apparmorProfile, compareVersions, judgeUserns, parseKernelVersion, versionAtLeast, type UsernsKnobs, type UsernsTrial } from '../../core/host/kernel.js'

const releases: [string, number[]][] = [
  ['6.18.44-fc-v669', [6, 18, 44]],
  ['4.18.0-553.el8_10.x86_64', [4, 18, 0]],
  ['5.15.0-105-generic', [5, 15, 0]],
  ['5.11', [5, 11]],
  ['6.1.0-rc7+', [6, 1, 0]],
  ['garbage', []],
]
for (const [release, want] of releases) {
  test(`parseKernelVersion ${release}`, () => assert.equal(parseKernelVersion(release), want))
}

const comparisons: [number[], number[], number][] = [
  [[5, 11], [5, 11, 0], 0],
  [[5, 10, 200], [5, 11], -1],
  [[6, 1], [5, 11], 1],
  [[5, 11, 1], [5, 11], 1],
  [[4, 18, 0], [5, 11], -1],
  [[10, 0], [9, 99], 1], // numeric, not lexical
]
for (const [a, b, want] of comparisons) {
  test(`compareVersions ${a.join('.')} vs ${b.join('.')}`, () => assert.is(compareVersions(a, b), want))
}

test('versionAtLeast', () => {
  assert.ok(versionAtLeast('6.18.44-fc-v669', '5.11'))
  assert.ok(versionAtLeast('5.11.0-1', '5.11'))
  assert.not.ok(versionAtLeast('5.10.200', '5.11'))
  assert.not.ok(versionAtLeast('4.18.0-553.el8_10.x86_64', '5.11'))
  assert.not.ok(versionAtLeast('weird', '5.11'))
})

const targets = { executable: '/usr/local/bin/skiff', shim: '/home/ann/.cache/skiff/shim-*' }
const user = { uid: 1000 }
const ok: UsernsTrial = { ok: true }
const failed: UsernsTrial = { ok: false, error: 'cannot create a user namespace: ENOSPC', hint: 'user namespaces are disabled or restricted here; `skiff info` shows which setting' }

const cases: [string, UsernsKnobs, UsernsTrial | undefined, { uid: number }, string, RegExp, RegExp | undefined][] = [
  ['enabled, not tested', { maxUserNamespaces: 15000 }, undefined, user, 'ok', /enabled \(max 15000; not tested\)/, undefined],
  ['enabled and tested', { maxUserNamespaces: 15000 }, ok, user, 'ok', /yes \(tested/, undefined],
  ['max_user_namespaces=0 (RHEL 7)', { maxUserNamespaces: 0 }, undefined, user, 'error', /user\.max_user_namespaces = 0/, /sysctl -w user\.max_user_namespaces=15000/],
  ['max_user_namespaces=0 stops root too', { maxUserNamespaces: 0 }, undefined, { uid: 0 }, 'error', /max_user_namespaces/, /15000/],
  ['unprivileged_userns_clone=0 (old Debian)', { maxUserNamespaces: 15000, unprivilegedUsernsClone: 0 }, undefined, user, 'error', /unprivileged_userns_clone = 0/, /sysctl -w kernel\.unprivileged_userns_clone=1/],
  ['unprivileged_userns_clone=0 does not stop root', { maxUserNamespaces: 15000, unprivilegedUsernsClone: 0 }, undefined, { uid: 0 }, 'ok', /enabled/, undefined],
  ['AppArmor restriction, untested: a warning (a profile may exist)', { apparmorRestrict: 1 }, undefined, user, 'warning', /restricted by AppArmor/, /\/etc\/apparmor\.d\/skiff/],
  ['AppArmor restriction, profile loaded', { apparmorRestrict: 1, apparmorProfileLoaded: true }, undefined, user, 'ok', /enabled/, undefined],
  ['AppArmor restriction, trial passed', { apparmorRestrict: 1 }, ok, user, 'ok', /AppArmor profile allows skiff/, undefined],
  ['AppArmor restriction, trial failed', { apparmorRestrict: 1 }, failed, user, 'error', /restricted by AppArmor.*ENOSPC/, /apparmor_parser -r/],
  ['knob explains the failure', { maxUserNamespaces: 0 }, failed, user, 'error', /max_user_namespaces = 0\): cannot create/, /15000/],
  ['failure nothing explains (a container, a chroot)', { maxUserNamespaces: 15000 }, failed, user, 'error', /cannot create one: cannot create a user namespace/, /container, chroot or sandbox/],
  ['failure with a hint of its own', {}, { ok: false, error: 'x', hint: 'do y' }, user, 'error', /cannot create one: x/, /^do y$/],
]
for (const [name, knobs, trial, ctx, status, value, fix] of cases) {
  test(`judgeUserns: ${name}`, () => {
    const item = judgeUserns(knobs, trial, targets, ctx)
    assert.is(item.id, 'userNamespaces')
    assert.is(item.status, status)
    assert.match(item.value, value)
    if (fix) assert.match(item.fix!, fix)
    else assert.is(item.fix, undefined)
  })
}

test('apparmorProfile names the executable and the shim, quoting odd paths', () => {
  assert.is(apparmorProfile(targets), [
    'abi <abi/4.0>,',
    'include <tunables/global>',
    'profile skiff /usr/local/bin/skiff flags=(unconfined) { userns, }',
    'profile skiff-shim /home/ann/.cache/skiff/shim-* flags=(unconfined) { userns, }',
  ].join('\n'))
  assert.match(apparmorProfile({ executable: '/opt/my tools/skiff', shim: '/x' }), /profile skiff "\/opt\/my tools\/skiff" flags/)
})

test('apparmorFix: the command writes exactly the profile (run with tee and the parser swapped out)', () => {
  const t = { executable: "/opt/it's here/skiff", shim: '/home/ann/.cache/skiff/shim-*' }
  const cmd = apparmorFix(t)
  assert.match(cmd, /\| sudo tee \/etc\/apparmor\.d\/skiff >\/dev\/null && sudo apparmor_parser -r \/etc\/apparmor\.d\/skiff$/)
  const printOnly = cmd.slice(0, cmd.indexOf(' | sudo tee'))
  const r = spawnSync('sh', ['-c', printOnly], { encoding: 'utf8' })
  assert.is(r.status, 0)
  assert.is(r.stdout, apparmorProfile(t) + '\n')
})

test.run()

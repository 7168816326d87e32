// --cap-add, --cap-drop and --security-opt as data: Docker's set arithmetic, the spellings, and an
// error for every option skiff cannot honour.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { capabilityMask, capabilityNames, capabilityNumbers, capabilitySet, DEFAULT_CAPABILITIES } from '../../core/launch/capabilities.js'
import { securityOptions } from '../../core/launch/security-opts.js'

const t = suite('security-opts')
const defaults = capabilityNumbers(DEFAULT_CAPABILITIES)
const sec = (opts: string[]) => securityOptions([], [], opts, (path) => `text of ${path}`)

t('capability sets: Docker\'s default, add, drop, ALL either way', () => {
  assert.is(capabilityMask(capabilitySet([], [])), '00000000a80425fb')
  assert.equal(capabilitySet(['net_admin'], ['MKNOD']), [...defaults.filter((n) => n !== 27), 12].sort((a, b) => a - b))
  assert.equal(capabilitySet(['CAP_SYS_PTRACE'], ['ALL']), [19])
  assert.equal(capabilitySet(['ALL'], ['NET_RAW']), capabilityNumbers(['ALL']).filter((n) => n !== 13))
  assert.equal(capabilitySet(['chown'], ['chown']), defaults.filter((n) => n !== 0))
  assert.throws(() => capabilitySet(['NOPE'], []), /unknown capability "NOPE"/)
  assert.equal(capabilityNames([0, 12]), ['CAP_CHOWN', 'CAP_NET_ADMIN'])
})

t('security options: spellings, defaults, and refusals', () => {
  assert.equal(sec([]), { capabilities: defaults, noNewPrivileges: true, mask: [], unmask: [], seccomp: 'default' })
  assert.is(sec(['no-new-privileges=false']).noNewPrivileges, false)
  assert.is(sec(['no-new-privileges:true']).noNewPrivileges, true)
  assert.is(sec(['no-new-privileges']).noNewPrivileges, true)
  assert.equal(sec(['mask=/proc/a:/proc/b', 'unmask=ALL']).mask, ['/proc/a', '/proc/b'])
  assert.equal(sec(['unmask=ALL']).unmask, ['ALL'])
  for (const ok of ['seccomp=unconfined', 'label=disable', 'label:disable', 'apparmor=unconfined']) sec([ok])
  assert.is(sec(['seccomp=unconfined']).seccomp, 'unconfined')
  assert.equal(sec(['seccomp=/p.json']).seccomp, { path: '/p.json', text: 'text of /p.json' })
  assert.throws(() => sec(['label=type:svirt_t']), /no SELinux labels/)
  assert.throws(() => sec(['mask=relative']), /not an absolute path/)
  assert.throws(() => sec(['no-new-privileges=maybe']), /expected true or false/)
  assert.throws(() => sec(['systempaths=unconfined']), /unknown option/)
})

t.run()

// --sysctl as data: the namespaced sysctls Docker allows, net.* only with a network of the container's own.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { parseSysctls, sysctlPath } from '../../core/launch/sysctl.js'

const t = suite('sysctl')

t('namespaced ones pass; others, and net.* without a network of its own, are refused', () => {
  assert.equal(parseSysctls(['net.ipv4.ip_forward=1', 'kernel.shmmax=4096', 'fs.mqueue.msg_max=20', 'net/core/somaxconn=512'], true),
    { 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '4096', 'fs.mqueue.msg_max': '20', 'net.core.somaxconn': '512' })
  assert.throws(() => parseSysctls(['net.ipv4.ip_forward=1'], false), /shares another network namespace/)
  assert.throws(() => parseSysctls(['kernel.hostname=x'], true), /not a sysctl a container can have/)
  assert.throws(() => parseSysctls(['vm.swappiness=1'], true), /not a sysctl a container can have/)
  assert.throws(() => parseSysctls(['net.ipv4.ip_forward'], true), /expected KEY=VALUE/)
  assert.is(sysctlPath('net.ipv4.conf.all.forwarding'), '/proc/sys/net/ipv4/conf/all/forwarding')
})

t.run()

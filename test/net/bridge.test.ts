// Bridge networks as data: subnets, the next free address, MACs, interface names, id maps in the
// keeper's ids, network names.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { checkNetworkName, hostIfName, inSubnet4, intToIp4, ip4ToInt, ip6Host, macFor, nextFree, overlaps4, parseSubnet4, parseSubnet6, ula64 } from '../../core/net/bridge.js'
import { inKeeperIds } from '../../core/net/networks.js'

const t = suite('bridge')

t('IPv4 subnets: parsed, checked, compared', () => {
  assert.equal(parseSubnet4('10.89.3.0/24'), { base: ip4ToInt('10.89.3.0'), prefix: 24, size: 256 })
  assert.throws(() => parseSubnet4('10.89.3.1/24'), /bits set beyond the prefix/)
  assert.throws(() => parseSubnet4('10.89.3.0/31'), /not an IPv4 subnet/)
  assert.throws(() => parseSubnet4('300.1.1.0/24'), /not an IPv4 subnet/)
  assert.ok(inSubnet4('10.89.3.200', parseSubnet4('10.89.3.0/24')))
  assert.not.ok(inSubnet4('10.89.4.1', parseSubnet4('10.89.3.0/24')))
  assert.ok(overlaps4(parseSubnet4('10.88.0.0/16'), parseSubnet4('10.88.5.0/24')))
  assert.not.ok(overlaps4(parseSubnet4('10.89.0.0/24'), parseSubnet4('10.89.1.0/24')))
  assert.is(intToIp4(ip4ToInt('192.168.1.254')!), '192.168.1.254')
})

t('the next free address skips the network, gateway, broadcast, taken ones; honours a range', () => {
  assert.is(nextFree('10.89.0.0/24', '10.89.0.1', new Set()), '10.89.0.2')
  assert.is(nextFree('10.89.0.0/24', '10.89.0.1', new Set(['10.89.0.2', '10.89.0.3'])), '10.89.0.4')
  assert.is(nextFree('10.89.0.0/30', '10.89.0.1', new Set(['10.89.0.2'])), undefined)
  assert.is(nextFree('10.89.0.0/24', '10.89.0.1', new Set(), '10.89.0.128/25'), '10.89.0.128')
  assert.is(nextFree('10.89.0.0/24', '10.89.0.254', new Set()), '10.89.0.1')
})

t('IPv6: ULA /64s and their hosts', () => {
  const s = ula64('net-10.89.0.0/24')
  assert.match(s, /^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::\/64$/)
  assert.is(ula64('a'), ula64('a'))
  assert.is(ip6Host('fd00:1:2:3::/64', 10), 'fd00:1:2:3::a')
  assert.throws(() => parseSubnet6('fd00::/48'), /IPv6 subnets of \/64/)
})

t('MACs as Docker makes them; veth names within the kernel\'s 15 bytes', () => {
  assert.is(macFor('10.89.0.2'), '02:42:0a:59:00:02')
  const n = hostIfName('skbr17', 'abcdef0123456789')
  assert.is(n, 'sv11abcdef01234')
  assert.ok(n.length <= 15)
  assert.is(hostIfName('skin3', 'ff'.repeat(32)).slice(0, 4), 'sv03')
})

t('network names: Docker\'s characters; no mode names', () => {
  assert.is(checkNetworkName('my-net.1_x'), 'my-net.1_x')
  assert.throws(() => checkNetworkName('-x'), /invalid network name/)
  assert.throws(() => checkNetworkName('host'), /a network mode's name/)
  assert.throws(() => checkNetworkName('none'), /a network mode's name/)
})

t('a container\'s id ranges in the keeper\'s ids, split across its ranges', () => {
  const keeper = [{ inside: 0, outside: 1001, count: 1 }, { inside: 1, outside: 100000, count: 65536 }]
  assert.equal(inKeeperIds([{ inside: 0, outside: 1001, count: 1 }, { inside: 1, outside: 100000, count: 65536 }], keeper),
    [{ inside: 0, outside: 0, count: 1 }, { inside: 1, outside: 1, count: 65536 }])
  assert.equal(inKeeperIds([{ inside: 0, outside: 100005, count: 10 }], keeper), [{ inside: 0, outside: 6, count: 10 }])
  const split = [{ inside: 0, outside: 10, count: 5 }, { inside: 5, outside: 20, count: 5 }]
  assert.equal(inKeeperIds([{ inside: 0, outside: 12, count: 3 }], [{ inside: 0, outside: 10, count: 3 }, { inside: 3, outside: 13, count: 5 }]),
    [{ inside: 0, outside: 2, count: 1 }, { inside: 1, outside: 3, count: 2 }])
  assert.throws(() => inKeeperIds([{ inside: 0, outside: 5, count: 1 }], split), /not mapped in the network keeper/)
})

t.run()

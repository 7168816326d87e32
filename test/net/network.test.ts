// Network settings as data: modes, -p specs, pasta's port specs, resolv.conf and /etc/hosts.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import {
  defaultRoute, describePorts, exposedPorts, hostsFile, parseAddHost, parseNetwork, parseNetworkMode, parsePublish, pastaArgs, pastaPortSpec, resolvConf, slirpArgs,
} from '../../core/net/network.js'

const t = suite('network')
const both = { pasta: true, slirp4netns: true }

t('modes: slirp picks pasta, then slirp4netns; a missing helper is an error naming the packages', () => {
  assert.is(parseNetworkMode(undefined, both), 'pasta')
  assert.is(parseNetworkMode('slirp', { pasta: false, slirp4netns: true }), 'slirp4netns')
  assert.is(parseNetworkMode('host', { pasta: false, slirp4netns: false }), 'host')
  assert.is(parseNetworkMode('none', both), 'none')
  assert.equal(parseNetworkMode('container:web', both), { container: 'web' })
  assert.throws(() => parseNetworkMode(undefined, { pasta: false, slirp4netns: false }), (e: Error & { hint: string }) =>
    /no user-mode network helper/.test(e.message) && /apt install passt/.test(e.hint) && /--network=host/.test(e.hint))
  assert.throws(() => parseNetworkMode('pasta', { pasta: false, slirp4netns: true }), /pasta is not installed/)
  assert.is(parseNetworkMode('my-net', both), 'bridge')
  assert.is(parseNetworkMode('bridge', both), 'bridge')
  assert.throws(() => parseNetworkMode('bad/name', both), /unknown mode/)
  assert.throws(() => parseNetworkMode('container:', both), /needs a container/)
})

t('the host\'s loopback: closed unless asked for, in podman\'s spellings; other helper options are refused', () => {
  assert.equal(parseNetwork(undefined, both), { mode: 'pasta', hostLoopback: false })
  assert.equal(parseNetwork('pasta:--map-gw', both), { mode: 'pasta', hostLoopback: true })
  assert.equal(parseNetwork('pasta:--no-map-gw', both), { mode: 'pasta', hostLoopback: false })
  assert.equal(parseNetwork('slirp4netns', both), { mode: 'slirp4netns', hostLoopback: false })
  assert.equal(parseNetwork('slirp4netns:allow_host_loopback=true', both), { mode: 'slirp4netns', hostLoopback: true })
  assert.equal(parseNetwork('slirp4netns:allow_host_loopback=false', both), { mode: 'slirp4netns', hostLoopback: false })
  assert.equal(parseNetwork('container:web', both), { mode: { container: 'web' }, hostLoopback: false })
  assert.throws(() => parseNetwork('slirp4netns:cidr=10.1.0.0/24', both), /does not support the slirp4netns option "cidr=10.1.0.0\/24"/)
  assert.throws(() => parseNetwork('pasta:-t,80', both), /does not support the pasta option "-t"/)
  assert.throws(() => parseNetwork('host:x', both), /the host mode takes no options/)
  assert.throws(() => parseNetwork('pasta:--map-gw', { pasta: false, slirp4netns: true }), /pasta is not installed/)
  // what the helpers are told
  assert.ok(pastaArgs([]).includes('--no-map-gw'))
  assert.not.ok(pastaArgs([], true).includes('--no-map-gw'))
  assert.equal(slirpArgs(undefined), ['--configure', '--mtu=65520', '--disable-host-loopback'])
  assert.equal(slirpArgs('/r/s.sock', true), ['--configure', '--mtu=65520', '--api-socket', '/r/s.sock'])
  // host-gateway is an address only where the host is reachable
  assert.equal(parseAddHost('h:host-gateway', '10.0.2.2'), { name: 'h', ip: '10.0.2.2' })
  assert.throws(() => parseAddHost('h:host-gateway'), (e: Error & { hint: string }) => /does not reach the host/.test(e.message) && /pasta:--map-gw/.test(e.hint))
  assert.throws(() => parseAddHost('h:not-an-ip'), /not-an-ip is not an IP address/)
})

t('-p: Docker forms, ranges, protocols, IPv6; errors say what is wrong', () => {
  assert.equal(parsePublish('8080:80'), [{ hostIp: '', hostPort: 8080, containerPort: 80, proto: 'tcp' }])
  assert.equal(parsePublish('127.0.0.1:8080:80/udp'), [{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, proto: 'udp' }])
  assert.equal(parsePublish('80'), [{ hostIp: '', hostPort: 0, containerPort: 80, proto: 'tcp' }])
  assert.equal(parsePublish('127.0.0.1::80'), [{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 80, proto: 'tcp' }])
  assert.equal(parsePublish('[::1]:8080:80'), [{ hostIp: '::1', hostPort: 8080, containerPort: 80, proto: 'tcp' }])
  assert.equal(parsePublish('8000-8001:80-81').map((p) => [p.hostPort, p.containerPort]), [[8000, 80], [8001, 81]])
  assert.throws(() => parsePublish('8000-8002:80-81'), /differ in length/)
  assert.throws(() => parsePublish('70000:80'), /host port "70000" is not a port/)
  assert.throws(() => parsePublish('8080:80/sctp'), /protocol sctp/)
  assert.throws(() => parsePublish('a:b:c:d'), /too many parts/)
  assert.throws(() => parsePublish('9-1:80'), /ends before it starts/)
  assert.equal(exposedPorts({ '80/tcp': {}, '53/udp': {} }).map((p) => `${p.containerPort}/${p.proto}`), ['80/tcp', '53/udp'])
  assert.is(describePorts(parsePublish('127.0.0.1:8080:80')), '127.0.0.1:8080->80/tcp')
})

t('pasta: its port specs, and no port forwarding it was not asked for', () => {
  const ports = [...parsePublish('127.0.0.1:8080:80'), ...parsePublish('9000:90'), ...parsePublish('5353:53/udp')]
  assert.is(pastaPortSpec(ports, 'tcp'), '127.0.0.1/8080:80,9000:90')
  assert.is(pastaPortSpec(ports, 'udp'), '5353:53')
  const args = pastaArgs([])
  assert.equal(args.slice(args.indexOf('-t')), ['-t', 'none', '-u', 'none', '-T', 'none', '-U', 'none'])
  assert.ok(args.includes('--config-net') && args.includes('-f'))
})

t('resolv.conf: --dns wins, then the helper\'s forwarder; host mode keeps the host\'s', () => {
  const host = 'search corp.example\nnameserver 127.0.0.53\noptions edns0\n'
  const none = { servers: [], search: [], options: [] }
  assert.is(resolvConf('pasta', host, none), 'search corp.example\nnameserver 169.254.1.1\noptions edns0\n')
  assert.is(resolvConf('slirp4netns', host, none), 'search corp.example\nnameserver 10.0.2.3\noptions edns0\n')
  assert.is(resolvConf('host', host, none), host)
  assert.is(resolvConf('pasta', host, { servers: ['1.1.1.1'], search: ['a.b'], options: ['ndots:2'] }), 'search a.b\nnameserver 1.1.1.1\noptions ndots:2\n')
})

t('/etc/hosts: names, host.containers.internal, --add-host; the default route', () => {
  const text = hostsFile({ hostname: 'abc', name: 'web', ip: '10.0.2.100', gateway: '10.0.2.2', addHosts: [parseAddHost('db:10.1.2.3'), parseAddHost('v6=[::1]')] })
  assert.is(text, '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.0.2.100\tabc web\n10.0.2.2\thost.containers.internal host.docker.internal\n10.1.2.3\tdb\n::1\tv6\n')
  assert.throws(() => parseAddHost('nocolon'), /expected NAME:IP/)
  const route = 'Iface\tDestination\tGateway\tFlags\nwlan0\t0000A8C0\t00000000\t0001\neth0\t00000000\t010200C0\t0003\n'
  assert.equal(defaultRoute(route), { iface: 'eth0', gateway: '192.0.2.1' })
  assert.is(defaultRoute('Iface\tDestination\n'), undefined)
})

t.run()

// Container networking as data: --network modes, -p/--publish specs, the helper's arguments, and
// the /etc/hosts and /etc/resolv.conf a container gets. Pure, except where marked "Does I/O".
//
// Modes: slirp (default: pasta when installed, else slirp4netns), pasta, slirp4netns, host, none,
// container:NAME. pasta gives the container the host's address and gateway; slirp4netns uses
// 10.0.2.0/24: the container is 10.0.2.100, its DNS 10.0.2.3. The host's loopback is reachable
// (as host.containers.internal: pasta's gateway, slirp4netns's 10.0.2.2) only when asked for.
import { SkiffError } from '../errors.js'

/** 'bridge': on bridge networks (named in the options: `bridge` is the default network) */
export type NetworkMode = 'pasta' | 'slirp4netns' | 'host' | 'none' | 'bridge' | { container: string }

export interface PortMapping {
  hostIp: string
  hostPort: number
  containerPort: number
  proto: 'tcp' | 'udp'
}

/** A --network value as decided: the mode, and whether the host's loopback is reachable from it. */
export interface NetworkChoice {
  mode: NetworkMode
  /** pasta maps its gateway to the host's loopback, slirp4netns answers on 10.0.2.2: off by default */
  hostLoopback: boolean
}

const LOOPBACK_HINT = 'to reach services on the host\'s loopback from the container, ask for it: --network pasta:--map-gw or --network slirp4netns:allow_host_loopback=true'

/**
 * --network value → mode and options, in podman's spellings; "slirp" (or nothing) asks for the
 * best helper installed. The host's loopback is closed unless asked for (podman's
 * allow_host_loopback=false; pasta --no-map-gw): loopback-only services on a shared machine
 * (databases, notebooks, other users' tools) are not for every image a user runs.
 *   parseNetwork('slirp4netns:allow_host_loopback=true', have) → { mode: 'slirp4netns', hostLoopback: true }
 *   parseNetwork('pasta:--map-gw', have)                        → { mode: 'pasta', hostLoopback: true }
 */
export function parseNetwork(text: string | undefined, have: { pasta: boolean; slirp4netns: boolean }): NetworkChoice {
  const v = text ?? 'slirp'
  if (v.startsWith('container:')) {
    const ref = v.slice('container:'.length)
    if (!ref) throw new SkiffError('E_USAGE', '--network=container: needs a container name or id', { hint: 'e.g. --network=container:web' })
    return { mode: { container: ref }, hostLoopback: false }
  }
  const colon = v.indexOf(':')
  const name = colon < 0 ? v : v.slice(0, colon)
  if (colon < 0 && isNetworkName(v)) return { mode: 'bridge', hostLoopback: false }
  const opts = colon < 0 ? [] : v.slice(colon + 1).split(',')
  let hostLoopback = false
  if (opts.length && name !== 'pasta' && name !== 'slirp4netns') {
    throw new SkiffError('E_USAGE', `--network=${v}: the ${name} mode takes no options`, { hint: 'options go with pasta (--network pasta:--map-gw) or slirp4netns (--network slirp4netns:allow_host_loopback=true)' })
  }
  for (const o of opts) {
    if (name === 'pasta' && (o === '--map-gw' || o === '--no-map-gw')) hostLoopback = o === '--map-gw'
    else if (name === 'slirp4netns' && /^allow_host_loopback=(true|false)$/.test(o)) hostLoopback = o.endsWith('=true')
    else {
      throw new SkiffError('E_USAGE', `--network=${v}: skiff does not support the ${name} option ${JSON.stringify(o)}`, {
        hint: name === 'pasta' ? 'skiff takes --map-gw and --no-map-gw (the default) for pasta' : 'skiff takes allow_host_loopback=true|false (false is the default) for slirp4netns',
      })
    }
  }
  return { mode: parseNetworkMode(name, have), hostLoopback }
}

/** --network value (without options) → mode; "slirp" (or nothing) asks for the best helper installed. */
export function parseNetworkMode(text: string | undefined, have: { pasta: boolean; slirp4netns: boolean }): NetworkMode {
  const v = text ?? 'slirp'
  if (v.startsWith('container:')) return parseNetwork(v, have).mode
  if (v === 'host' || v === 'none') return v
  if (v === 'pasta' || v === 'slirp4netns') {
    if (!have[v]) throw missingHelper(`--network=${v}: ${v} is not installed`)
    return v
  }
  if (isNetworkName(v)) return 'bridge'
  if (v === 'slirp' || v === 'default' || v === 'private') {
    if (have.pasta) return 'pasta'
    if (have.slirp4netns) return 'slirp4netns'
    throw missingHelper('no user-mode network helper is installed (pasta or slirp4netns)')
  }
  throw new SkiffError('E_USAGE', `--network=${v}: unknown mode`, { hint: 'use slirp (the default), pasta, slirp4netns, host, none, container:NAME, or a network\'s name (bridge, or one from skiff network create)' })
}

const MODES = new Set(['slirp', 'pasta', 'slirp4netns', 'host', 'none', 'default', 'private'])

/** A --network value that names a bridge network (`bridge`, or a user-defined one), not a mode. */
export function isNetworkName(v: string): boolean {
  return !MODES.has(v) && /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(v)
}

function missingHelper(message: string): SkiffError {
  return new SkiffError('E_NO_NET_HELPER', message, {
    hint: 'install passt (pasta) or slirp4netns (Debian/Ubuntu: sudo apt install passt; Fedora: sudo dnf install passt), or run with --network=host or --network=none',
  })
}

function port(text: string, what: string, spec: string): number {
  const n = Number(text)
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) {
    throw new SkiffError('E_USAGE', `-p ${spec}: ${what} ${JSON.stringify(text)} is not a port (1-65535)`, { hint: 'e.g. -p 8080:80, -p 127.0.0.1:8080:80/tcp, -p 5353:53/udp, -p 80' })
  }
  return n
}

function range(text: string, what: string, spec: string): number[] {
  const m = /^(\d+)-(\d+)$/.exec(text)
  if (!m) return [port(text, what, spec)]
  const [a, b] = [port(m[1]!, what, spec), port(m[2]!, what, spec)]
  if (b < a) throw new SkiffError('E_USAGE', `-p ${spec}: the range ${text} ends before it starts`, { hint: 'write the lower port first, e.g. 8000-8010' })
  return Array.from({ length: b - a + 1 }, (_, i) => a + i)
}

/**
 * Docker's -p: [ip:][hostPort[-end]:]containerPort[-end][/tcp|/udp]. A host port of 0 (or none
 * given) is chosen when the container is created. IPv6 addresses go in brackets.
 *   parsePublish('127.0.0.1:8080:80') → [{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, proto: 'tcp' }]
 *   parsePublish('53/udp')            → [{ hostIp: '', hostPort: 0, containerPort: 53, proto: 'udp' }]
 */
export function parsePublish(spec: string): PortMapping[] {
  let rest = spec
  let proto: 'tcp' | 'udp' = 'tcp'
  const slash = rest.lastIndexOf('/')
  if (slash >= 0) {
    const p = rest.slice(slash + 1).toLowerCase()
    if (p !== 'tcp' && p !== 'udp') throw new SkiffError('E_USAGE', `-p ${spec}: protocol ${p} is not tcp or udp`, { hint: 'e.g. -p 5353:53/udp' })
    proto = p
    rest = rest.slice(0, slash)
  }
  let hostIp = ''
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(.*)$/.exec(rest)
  if (v6) {
    hostIp = v6[1]!
    rest = v6[2]!
  }
  const parts = rest.split(':')
  if (parts.length > 3 || (v6 && parts.length > 2)) throw new SkiffError('E_USAGE', `-p ${spec}: too many parts`, { hint: 'the form is [IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]' })
  if (parts.length === 3) hostIp = parts.shift()!
  if (hostIp && !/^[\d.]+$|^[0-9a-fA-F:]+$/.test(hostIp)) throw new SkiffError('E_USAGE', `-p ${spec}: ${hostIp} is not an IP address`, { hint: 'use an address such as 127.0.0.1, or leave it out for all addresses' })
  const containerPorts = range(parts[parts.length - 1]!, 'container port', spec)
  const hostText = parts.length === 2 ? parts[0]! : ''
  const hostPorts = hostText ? range(hostText, 'host port', spec) : containerPorts.map(() => 0)
  if (hostPorts.length !== containerPorts.length) {
    if (hostPorts.length === 1 && hostText) throw new SkiffError('E_USAGE', `-p ${spec}: one host port for ${containerPorts.length} container ports`, { hint: 'give a host range as long as the container range' })
    throw new SkiffError('E_USAGE', `-p ${spec}: the host range and the container range differ in length`, { hint: 'e.g. -p 8000-8002:80-82' })
  }
  return containerPorts.map((c, i) => ({ hostIp, hostPort: hostPorts[i]!, containerPort: c, proto }))
}

/** The image's ExposedPorts ("80/tcp": {}) as -P publishes them: every one on a chosen host port. */
export function exposedPorts(exposed: Record<string, object> | undefined): PortMapping[] {
  return Object.keys(exposed ?? {}).flatMap((k) => parsePublish(k))
}

/** "0.0.0.0:8080->80/tcp, 127.0.0.1:5353->53/udp", as ps shows PORTS. */
export function describePorts(ports: PortMapping[]): string {
  return ports.map((p) => `${p.hostIp || '0.0.0.0'}:${p.hostPort}->${p.containerPort}/${p.proto}`).join(', ')
}

/** pasta's -t/-u spec for one protocol: "127.0.0.1/8080:80,5000:5000", or "none". */
export function pastaPortSpec(ports: PortMapping[], proto: 'tcp' | 'udp'): string {
  const mine = ports.filter((p) => p.proto === proto)
  if (!mine.length) return 'none'
  return mine.map((p) => `${p.hostIp ? `${p.hostIp}/` : ''}${p.hostPort}:${p.containerPort}`).join(',')
}

/** Where pasta answers DNS for the container, forwarding to the host's resolver (as podman does). */
export const PASTA_DNS = '169.254.1.1'
export const SLIRP = { ip: '10.0.2.100', gateway: '10.0.2.2', dns: '10.0.2.3', prefix: 24 } as const

export function pastaArgs(ports: PortMapping[], hostLoopback = false): string[] {
  return ['-f', '-q', '--config-net', '--dns-forward', PASTA_DNS, ...(hostLoopback ? [] : ['--no-map-gw']),
    '-t', pastaPortSpec(ports, 'tcp'), '-u', pastaPortSpec(ports, 'udp'), '-T', 'none', '-U', 'none']
}

export function slirpArgs(apiSocket: string | undefined, hostLoopback = false): string[] {
  return ['--configure', '--mtu=65520', ...(hostLoopback ? [] : ['--disable-host-loopback']), ...(apiSocket ? ['--api-socket', apiSocket] : [])]
}

export interface DnsOptions {
  servers: string[]
  search: string[]
  options: string[]
}

/** Search domains of a resolv.conf text (its search lines; glibc takes the last, musl all: all here). */
export function searchDomains(text: string): string[] {
  return text.split('\n').map((l) => /^\s*search\s+(.*)$/.exec(l)?.[1]).filter(Boolean).join(' ').split(/\s+/).filter(Boolean)
}

/** Nameservers of a resolv.conf text. */
export function resolvConfServers(text: string): string[] {
  return text.split('\n').map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1]).filter((s): s is string => !!s)
}

/**
 * The container's /etc/resolv.conf. --dns wins; else the helper's forwarder (it reaches whatever
 * the host uses, even a resolver on the host's loopback); host and none modes keep the host's.
 */
export function resolvConf(mode: 'pasta' | 'slirp4netns' | 'host' | 'none' | 'container', hostText: string, dns: DnsOptions): string {
  const hostSearch = searchDomains(hostText)
  const hostOptions = hostText.split('\n').map((l) => /^\s*options\s+(.*)$/.exec(l)?.[1]).filter(Boolean).join(' ').split(/\s+/).filter(Boolean)
  const servers = dns.servers.length
    ? dns.servers
    : mode === 'pasta'
      ? [PASTA_DNS]
      : mode === 'slirp4netns'
        ? [SLIRP.dns]
        : resolvConfServers(hostText)
  const search = dns.search.length ? dns.search.filter((s) => s !== '.') : hostSearch
  const options = dns.options.length ? dns.options : hostOptions
  return [
    ...(search.length ? [`search ${search.join(' ')}`] : []),
    ...servers.map((s) => `nameserver ${s}`),
    ...(options.length ? [`options ${options.join(' ')}`] : []),
  ].join('\n') + '\n'
}

/**
 * --add-host NAME:IP (Docker also accepts NAME=IP). IP `host-gateway` is the address that leads
 * to the host: `hostGateway`, which is there only where the host's loopback was asked for.
 */
export function parseAddHost(text: string, hostGateway?: string): { name: string; ip: string } {
  const m = /^([^:=\s]+)[:=](.+)$/.exec(text)
  if (!m) throw new SkiffError('E_USAGE', `--add-host ${text}: expected NAME:IP`, { hint: 'e.g. --add-host db:10.0.0.5' })
  const ip = m[2]!.replace(/^\[(.*)\]$/, '$1')
  if (ip === 'host-gateway') {
    if (!hostGateway) throw new SkiffError('E_USAGE', `--add-host ${text}: this container's network does not reach the host`, { hint: LOOPBACK_HINT })
    return { name: m[1]!, ip: hostGateway }
  }
  if (!/^[\d.]+$|^[0-9a-fA-F:]+$/.test(ip)) throw new SkiffError('E_USAGE', `--add-host ${text}: ${ip} is not an IP address`, { hint: 'e.g. --add-host db:10.0.0.5, or NAME:host-gateway' })
  return { name: m[1]!, ip }
}

/** The container's /etc/hosts. */
export function hostsFile(opts: { hostname: string; name: string; ip?: string; gateway?: string; addHosts: { name: string; ip: string }[]; hostHosts?: string }): string {
  const lines = opts.hostHosts !== undefined
    ? [opts.hostHosts.trimEnd()]
    : ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback']
  lines.push(`${opts.ip ?? '127.0.1.1'}\t${opts.hostname} ${opts.name}`)
  if (opts.gateway) lines.push(`${opts.gateway}\thost.containers.internal host.docker.internal`)
  for (const h of opts.addHosts) lines.push(`${h.ip}\t${h.name}`)
  return lines.join('\n') + '\n'
}

/** The host's default route and the address of its interface, from /proc/net/route text and the interfaces. */
export function defaultRoute(routeText: string): { iface: string; gateway: string } | undefined {
  for (const line of routeText.split('\n').slice(1)) {
    const [iface, dest, gw] = line.trim().split(/\s+/)
    if (dest === '00000000' && iface && gw) {
      const n = parseInt(gw, 16)
      return { iface, gateway: [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255].join('.') }
    }
  }
  return undefined
}

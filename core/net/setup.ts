// A container's network, decided at create and checked at start: mode, host ports, /etc/hosts,
// /etc/resolv.conf. Does I/O (host files, sockets to test ports).
import { existsSync, readFileSync } from 'node:fs'
import { networkInterfaces } from 'node:os'
import { SkiffError } from '../errors.js'
import { findExecutable } from '../host/tools.js'
import {
  defaultRoute, exposedPorts, hostsFile, parseAddHost, parseNetwork, parsePublish, pastaArgs, resolvConf, SLIRP,
  type DnsOptions, type NetworkMode, type PortMapping,
} from './network.js'
import type { NetworkHelper } from '../plan.js'

/** Which helpers are installed, looked for only when a mode needs one: not for none, host or container: */
const installed = {
  get pasta() {
    return !!pastaPath()
  },
  get slirp4netns() {
    return !!findExecutable('slirp4netns')
  },
}

// net and dgram (~2 ms to load) only when ports are published: not on the path of a plain `run`
const net = () => require('node:net') as typeof import('node:net')
const dgram = () => require('node:dgram') as typeof import('node:dgram')

export interface NetworkOptions {
  /** the mode, or the first bridge network */
  network?: string
  /** more bridge networks (--network given again) */
  moreNetworks?: string[]
  /** on the first bridge network: --ip, --ip6, --network-alias, --mac-address */
  ip?: string
  aliases?: string[]
  mac?: string
  publish: string[]
  publishAll: boolean
  dns: DnsOptions
  addHosts: string[]
}

/** `network` (default: the user-mode one) with nothing published, the host's DNS, no extra hosts. */
export function plainNetwork(network?: string): NetworkOptions {
  return { network, publish: [], publishAll: false, dns: { servers: [], search: [], options: [] }, addHosts: [] }
}

/** What a container record keeps about its network. */
export interface NetworkSettings {
  /** as given: slirp4netns, pasta, host, none, container:<id> */
  mode: string
  ports: PortMapping[]
  ip?: string
  gateway?: string
  /** the host's loopback was asked for (pasta:--map-gw, slirp4netns:allow_host_loopback=true) */
  hostLoopback?: boolean
  /** mode bridge: the networks, in order (the first one has the default route) */
  networks?: Endpoint[]
  /** mode bridge: what /etc/hosts and /etc/resolv.conf are made of at each start (the addresses come then) */
  addHosts?: { name: string; ip: string }[]
  dns?: DnsOptions
}

/** A container's place on a bridge network, as asked for: the addresses come at start. */
export interface Endpoint {
  /** the network's id (a name may be given again to a new network after rm) */
  id: string
  name: string
  aliases: string[]
  ip?: string
  mac?: string
}

/** The host's /etc/resolv.conf ('' when there is none). */
export function hostResolvConf(): string {
  return readOr('/etc/resolv.conf')
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return ''
  }
}

/** A host port nobody uses now, from the kernel (bind port 0). */
function freePort(proto: 'tcp' | 'udp', ip: string): Promise<number> {
  return new Promise((resolve, reject) => {
    if (proto === 'udp') {
      const s = dgram().createSocket(ip.includes(':') ? 'udp6' : 'udp4')
      s.on('error', reject)
      s.bind(0, ip || undefined, () => {
        const p = s.address().port
        s.close(() => resolve(p))
      })
      return
    }
    const srv = net().createServer()
    srv.on('error', reject)
    srv.listen(0, ip || undefined, () => {
      const p = (srv.address() as { port: number }).port
      srv.close(() => resolve(p))
    })
  })
}

/** Binding the host port now: fails as pasta or slirp4netns would, with a clearer message. */
function tryBind(p: PortMapping): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    if (p.proto === 'udp') {
      const s = dgram().createSocket(p.hostIp.includes(':') ? 'udp6' : 'udp4')
      s.on('error', (err) => resolve(err))
      s.bind(p.hostPort, p.hostIp || undefined, () => s.close(() => resolve(undefined)))
      return
    }
    const srv = net().createServer()
    srv.on('error', (err) => resolve(err))
    srv.listen({ port: p.hostPort, host: p.hostIp || undefined, exclusive: true }, () => srv.close(() => resolve(undefined)))
  })
}

export function unprivilegedPortStart(): number {
  const n = Number(readOr('/proc/sys/net/ipv4/ip_unprivileged_port_start').trim())
  return Number.isFinite(n) && readOr('/proc/sys/net/ipv4/ip_unprivileged_port_start') ? n : 1024
}

/** Every host port can be bound by this user now; else an error that says why and what to do. */
export async function checkHostPorts(ports: PortMapping[]): Promise<void> {
  const start = process.getuid?.() === 0 ? 0 : unprivilegedPortStart()
  for (const p of ports) {
    const where = `${p.hostIp || '0.0.0.0'}:${p.hostPort}/${p.proto}`
    if (p.hostPort < start) {
      throw new SkiffError('E_PORT_PRIVILEGED', `cannot publish ${where}: ports below ${start} are privileged (net.ipv4.ip_unprivileged_port_start = ${start})`, {
        hint: `use a host port of ${start} or more (e.g. -p ${p.hostPort + 8000}:${p.containerPort}), or let users bind lower ports: sudo sysctl net.ipv4.ip_unprivileged_port_start=${p.hostPort}`,
      })
    }
    const err = await tryBind(p)
    if (!err) continue
    if (err.code === 'EADDRINUSE') {
      throw new SkiffError('E_PORT_IN_USE', `cannot publish ${where}: the port is already in use on the host`, {
        hint: `choose another host port, or find what holds it: ss -ltnup 'sport = :${p.hostPort}'`,
      })
    }
    if (err.code === 'EADDRNOTAVAIL') {
      throw new SkiffError('E_PORT_ADDRESS', `cannot publish ${where}: ${p.hostIp} is not an address of this host`, { hint: 'use one of the host\'s addresses (ip -br addr), or leave the address out' })
    }
    throw new SkiffError('E_PORT', `cannot publish ${where}: ${err.message}`, { hint: 'choose another host port' })
  }
}

export interface PlannedNetwork {
  mode: NetworkMode
  /** what the user asked for that was dropped, and why */
  warnings: string[]
  settings: NetworkSettings
  hosts: string
  resolv: string
}

/**
 * The network of a new container: its mode, the host ports (chosen now where none was given),
 * and the text of its /etc/hosts and /etc/resolv.conf.
 */
export async function planNetwork(opts: NetworkOptions, ctx: { hostname: string; name: string; exposed?: Record<string, object>; root: string }): Promise<PlannedNetwork> {
  const { mode, hostLoopback } = parseNetwork(opts.network, installed)
  if (mode !== 'bridge' && (opts.moreNetworks?.length || opts.ip || opts.aliases?.length || opts.mac)) {
    const what = opts.moreNetworks?.length ? `--network ${opts.moreNetworks[0]}` : opts.ip ? '--ip' : opts.aliases?.length ? '--network-alias' : '--mac-address'
    throw new SkiffError('E_USAGE', `${what} needs a bridge network, not --network=${opts.network ?? 'slirp'}`, { hint: 'e.g. --network bridge, or a network from skiff network create' })
  }
  let ports = [...opts.publish.flatMap(parsePublish), ...(opts.publishAll ? exposedPorts(ctx.exposed) : [])]
  const warnings: string[] = []
  if (ports.length && mode === 'host') {
    // Docker and podman say so and go on: the container uses the host's ports directly
    warnings.push('published ports are discarded with --network=host: the container uses the host\'s ports directly')
    ports = []
  }
  if (ports.length && (mode === 'none' || typeof mode === 'object')) {
    throw new SkiffError('E_USAGE', `-p/-P cannot be used with --network=${typeof mode === 'object' ? `container:${mode.container}` : mode}`, {
      hint: 'publish ports on a container with its own network (the default)',
    })
  }
  ports = await Promise.all(ports.map(async (p) => (p.hostPort ? p : { ...p, hostPort: await freePort(p.proto, p.hostIp) })))
  const seen = new Set<string>()
  for (const p of ports) {
    const key = `${p.hostIp}:${p.hostPort}/${p.proto}`
    if (seen.has(key)) throw new SkiffError('E_USAGE', `host port ${key} is published twice`, { hint: 'give each -p its own host port' })
    seen.add(key)
  }
  const modeName = typeof mode === 'object' ? 'container' : mode
  let ip: string | undefined
  let gateway: string | undefined
  if (mode === 'slirp4netns') {
    ip = SLIRP.ip
    gateway = SLIRP.gateway
  } else if (mode === 'pasta') {
    // pasta copies the host's address and default gateway; the gateway leads to the host's loopback
    const route = defaultRoute(readOr('/proc/net/route'))
    gateway = route?.gateway
    ip = route && networkInterfaces()[route.iface]?.find((a) => a.family === 'IPv4')?.address
  }
  if (mode === 'bridge') {
    const { findNetwork } = await import('./networks.js')
    const names = [opts.network!, ...(opts.moreNetworks ?? [])]
    const networks: Endpoint[] = []
    for (const [i, n] of names.entries()) {
      const net = findNetwork(ctx.root, n)
      if (networks.some((e) => e.id === net.Id)) throw new SkiffError('E_USAGE', `--network ${n} is given twice`, { hint: 'give each network once' })
      networks.push({ id: net.Id, name: net.Name, aliases: i === 0 ? (opts.aliases ?? []) : [], ...(i === 0 && opts.ip ? { ip: opts.ip } : {}), ...(i === 0 && opts.mac ? { mac: opts.mac } : {}) })
    }
    const addHosts = opts.addHosts.map((h) => parseAddHost(h, undefined))
    return {
      mode,
      warnings,
      settings: { mode: 'bridge', ports, networks, addHosts, dns: opts.dns },
      // made at each start, with the addresses the container then holds
      hosts: hostsFile({ hostname: ctx.hostname, name: ctx.name, addHosts }),
      resolv: resolvConf('none', hostResolvConf(), opts.dns),
    }
  }
  const hostHosts = mode === 'host' ? readOr('/etc/hosts') : undefined
  // the address that leads to the host's loopback, where there is one
  const toHost = mode === 'host' ? '127.0.0.1' : hostLoopback ? gateway : undefined
  const addHosts = opts.addHosts.map((h) => parseAddHost(h, toHost))
  return {
    mode,
    warnings,
    settings: { mode: typeof mode === 'object' ? `container:${mode.container}` : mode, ports, ip, gateway, ...(hostLoopback ? { hostLoopback } : {}) },
    hosts: hostsFile({ hostname: ctx.hostname, name: ctx.name, ip: mode === 'host' ? undefined : ip, gateway: hostLoopback ? gateway : undefined, addHosts, hostHosts }),
    resolv: resolvConf(modeName as Exclude<typeof modeName, 'bridge'>, hostResolvConf(), opts.dns),
  }
}

let pasta: { path?: string } | undefined

/**
 * pasta's path, looked up once per process (`run` asks for the prelude, the mode and the plan).
 * pasta re-executes itself as pasta.avx2 where the CPU has AVX2 (Debian, Fedora): starting that
 * one directly saves an exec on every container start.
 */
function pastaPath(): string | undefined {
  if (pasta) return pasta.path
  let path = findExecutable('pasta')
  try {
    if (path && existsSync(`${path}.avx2`) && /\bavx2\b/.test(readFileSync('/proc/cpuinfo', 'utf8'))) path = `${path}.avx2`
  } catch {}
  return (pasta = { path }).path
}

/** pasta for a container with these published ports (pasta mode, so pasta is installed). */
export function pastaHelper(ports: PortMapping[], hostLoopback = false): NetworkHelper {
  return { kind: 'pasta', path: pastaPath()!, args: pastaArgs(ports, hostLoopback) }
}

/**
 * What `run` can have the shim make with the prelude, before the container exists: the network
 * namespace, for every mode that gives the container its own (~1 ms off the start), and pasta on
 * it where no port is published (published ports are checked, or chosen, first), so that pasta
 * configures the network (~30 ms here) while skiff makes the container. The plan must then ask for
 * the same (launch() compares them).
 */
export function earlyNetwork(opts: Pick<NetworkOptions, 'network' | 'publish' | 'publishAll'> | undefined): { netns: boolean; helper?: NetworkHelper } {
  let mode, hostLoopback
  try {
    ;({ mode, hostLoopback } = parseNetwork(opts?.network, installed))
  } catch {
    return { netns: false } // a bad mode or no helper installed: create says so
  }
  if (mode !== 'none' && mode !== 'pasta' && mode !== 'slirp4netns') return { netns: false }
  const published = !!opts && (opts.publish.length > 0 || opts.publishAll)
  return { netns: true, ...(mode === 'pasta' && !published ? { helper: pastaHelper([], hostLoopback) } : {}) }
}

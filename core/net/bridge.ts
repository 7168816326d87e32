// Bridge networks as data: IPv4/IPv6 subnets and addresses, the next free address, the names of
// bridges and veths, a container's MAC address, and the JSON Docker shows for a network. Pure.
import { SkiffError } from '../errors.js'
import { isNetworkName } from './network.js'

/** A network as the store keeps it (networks/<bridge>/config.json). */
export interface NetworkConfig {
  Name: string
  Id: string
  Created: string
  /** skbrN, or skinN for an internal network: the bridge's name in the keeper's namespace */
  Bridge: string
  Subnet: string
  Gateway: string
  IPRange?: string
  Subnet6?: string
  Gateway6?: string
  Internal: boolean
  Labels: Record<string, string>
  Options: Record<string, string>
  /** the default network (bridge), which exists without being created */
  Default?: boolean
}

/** The default network's name, as Docker's. */
export const DEFAULT_NETWORK = 'bridge'
export const DEFAULT_SUBNET = '10.88.0.0/16'
/** Subnets of user-defined networks are 10.89.N.0/24, as podman's, skipping those in use. */
export const USER_SUBNETS = (n: number) => `10.89.${n}.0/24`
/** A link MTU like pasta's own: bulk traffic in big frames (--opt mtu=N changes it) */
export const DEFAULT_MTU = 65520


export function ip4ToInt(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip)
  if (!m) return undefined
  const parts = m.slice(1).map(Number)
  if (parts.some((p) => p > 255)) return undefined
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0
}

export function intToIp4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
}

export interface Subnet4 {
  base: number
  prefix: number
  size: number
}

/**
 * "10.89.3.0/24" → its base, prefix and size; an error that says why for anything else.
 *   parseSubnet4('10.89.3.0/24') → { base: 173605632, prefix: 24, size: 256 }
 */
export function parseSubnet4(cidr: string, what = '--subnet'): Subnet4 {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr)
  const base = m ? ip4ToInt(m[1]!) : undefined
  const prefix = m ? Number(m[2]) : NaN
  if (base === undefined || !(prefix >= 8 && prefix <= 30)) {
    throw new SkiffError('E_USAGE', `${what} ${cidr}: not an IPv4 subnet of /8 to /30`, { hint: 'e.g. --subnet 10.90.0.0/24' })
  }
  const size = 2 ** (32 - prefix)
  if (base % size !== 0) {
    throw new SkiffError('E_USAGE', `${what} ${cidr}: the address has bits set beyond the prefix`, { hint: `the subnet is ${intToIp4(base - (base % size))}/${prefix}` })
  }
  return { base, prefix, size }
}

export function inSubnet4(ip: string, s: Subnet4): boolean {
  const n = ip4ToInt(ip)
  return n !== undefined && n >= s.base && n < s.base + s.size
}

export function overlaps4(a: Subnet4, b: Subnet4): boolean {
  return a.base < b.base + b.size && b.base < a.base + a.size
}

/** The IPv6 /64 of an IPv4 subnet's network, for --ipv6 without --subnet: fd + 40 bits from the name. */
export function ula64(seed: string): string {
  let h = 2166136261
  for (const c of seed) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0
  const g = (h >>> 0).toString(16).padStart(8, '0')
  return `fd${g.slice(0, 2)}:${g.slice(2, 6)}:${g.slice(6, 8)}00::/64`
}

/** "fd12:3456:7800::/64" → its first 64 bits as 4 groups; only /64 subnets are taken. */
export function parseSubnet6(cidr: string): string[] {
  const m = /^([0-9a-fA-F:]+)\/64$/.exec(cidr)
  if (!m) throw new SkiffError('E_USAGE', `--subnet ${cidr}: skiff takes IPv6 subnets of /64`, { hint: 'e.g. --subnet fd00:1:2:3::/64' })
  const [head, tail = ''] = m[1]!.split('::')
  const h = head ? head.split(':') : []
  const t = tail ? tail.split(':') : []
  const groups = [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t]
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g)) || groups.slice(4).some((g) => parseInt(g, 16) !== 0)) {
    throw new SkiffError('E_USAGE', `--subnet ${cidr}: not an IPv6 /64 subnet`, { hint: 'e.g. --subnet fd00:1:2:3::/64' })
  }
  return groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16))
}

/** The host number `n` in an IPv6 /64. */
export function ip6Host(subnet6: string, n: number): string {
  return `${parseSubnet6(subnet6).join(':')}::${n.toString(16)}`
}

/**
 * The lowest address of the subnet (or of `range` in it) that is neither the network's, its
 * broadcast, its gateway, nor `taken`: undefined when the subnet is full.
 *   nextFree('10.89.0.0/24', '10.89.0.1', new Set(['10.89.0.2'])) → '10.89.0.3'
 */
export function nextFree(subnet: string, gateway: string, taken: Set<string>, range?: string): string | undefined {
  const s = parseSubnet4(subnet)
  const r = range ? parseSubnet4(range, '--ip-range') : s
  for (let n = Math.max(r.base, s.base + 1); n < Math.min(r.base + r.size, s.base + s.size - 1); n++) {
    const ip = intToIp4(n)
    if (ip !== gateway && !taken.has(ip)) return ip
  }
  return undefined
}

/** Docker's MAC for an address: 02:42 and the four bytes of the IPv4 address. */
export function macFor(ip: string): string {
  const n = ip4ToInt(ip) ?? 0
  return ['02', '42', ...[n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].map((b) => b.toString(16).padStart(2, '0'))].join(':')
}

/** The veth's end on the bridge for a container on a network: sv + 2 hex of the bridge's number + 11 of the id (15, the kernel's limit). */
export function hostIfName(bridge: string, containerId: string): string {
  const n = Number(bridge.slice(4))
  return `sv${n.toString(16).padStart(2, '0')}${containerId.slice(0, 11)}`
}

/** A network's name: Docker's rule (letters, digits, _ . -, starting with a letter or digit). */
export function checkNetworkName(name: string): string {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name) || name.length > 128) {
    throw new SkiffError('E_USAGE', `invalid network name ${JSON.stringify(name)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`, { hint: 'e.g. skiff network create my-net' })
  }
  if (!isNetworkName(name)) {
    throw new SkiffError('E_USAGE', `network name ${name} is a network mode's name`, { hint: 'choose another name' })
  }
  return name
}

export interface Lease {
  /** the container that holds it */
  container: string
  /** the names it answers to on this network: its name, short id, hostname, aliases */
  names: string[]
  ip: string
  ip6?: string
  mac: string
  hostIf: string
  /** the container's end of the link: eth0, eth1, ... */
  ifName: string
  /** the process it lives with (skiff starting it, then its supervisor) and that one's start time */
  pid: number
  start: string
}

/** Docker's EndpointID of a container on a network (skiff keeps no endpoint objects: derived from both ids). */
export function endpointId(containerId: string, networkId: string): string {
  return `${containerId.slice(0, 32)}${networkId.slice(0, 32)}`
}

/** Docker's `network inspect` of one network (with its containers: id → lease). */
export function inspectNetwork(n: NetworkConfig, containers: { id: string; name: string; lease: Lease }[]): Record<string, unknown> {
  const config: Record<string, string>[] = [{ Subnet: n.Subnet, Gateway: n.Gateway, ...(n.IPRange ? { IPRange: n.IPRange } : {}) }]
  if (n.Subnet6) config.push({ Subnet: n.Subnet6, Gateway: n.Gateway6 ?? '' })
  const prefix = n.Subnet.split('/')[1]
  return {
    Name: n.Name,
    Id: n.Id,
    Created: n.Created,
    Scope: 'local',
    Driver: 'bridge',
    EnableIPv6: !!n.Subnet6,
    IPAM: { Driver: 'default', Options: {}, Config: config },
    Internal: n.Internal,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: Object.fromEntries(containers.map((c) => [c.id, {
      Name: c.name,
      EndpointID: endpointId(c.id, n.Id),
      MacAddress: c.lease.mac,
      IPv4Address: `${c.lease.ip}/${prefix}`,
      IPv6Address: c.lease.ip6 ? `${c.lease.ip6}/64` : '',
    }])),
    Options: { 'com.docker.network.bridge.name': n.Bridge, ...n.Options },
    Labels: n.Labels,
  }
}

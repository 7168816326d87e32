// The user's bridge networks in the store: their configs, the addresses containers hold on them
// (leases), and the network keeper that holds their bridges. Does I/O.
//
// networks/                      (0700)
//   lock                         flock: leases are handed out, networks made, the keeper started under it
//   keeper.json                  {pid, start, idmap}: the keeper that runs now (it removes this when it goes)
//   skbrN/ or skinN/config.json  a network (skin: internal); skbr0 is the default network, `bridge`
//   skbrN/ips/<ip>               a lease: the container holding the address, its names, and the
//                                process it lives with; a lease whose process is gone is free
//
// An address is handed out only under the lock, to a process that is alive: first skiff (which
// then starts the shim), then the shim, which is the container's supervisor for its whole life.
// A kill -9 of either at any instant leaves a lease whose process is gone, which the next
// allocation takes back: no address is ever held twice.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { SkiffError } from '../errors.js'
import { acquireLock, processStartTime, writeFileAtomic } from '../lock.js'
import { randomHex } from '../random.js'
import { isoTime } from '../clock.js'
import type { IdMapPlan, IdRange } from '../plan.js'
import {
  DEFAULT_NETWORK, DEFAULT_SUBNET, USER_SUBNETS, checkNetworkName, inSubnet4, intToIp4, ip4ToInt, ip6Host, macFor, nextFree, overlaps4,
  parseSubnet4, parseSubnet6, ula64, type Lease, type NetworkConfig,
} from './bridge.js'

export function networksDir(root: string): string {
  return join(root, 'networks')
}

function lockNetworks(root: string): () => void {
  mkdirSync(networksDir(root), { recursive: true, mode: 0o700 })
  return acquireLock(join(networksDir(root), 'lock'), 60_000, (pid) =>
    new SkiffError('E_NETWORK_BUSY', `the networks are being changed by another skiff command (process ${pid})`, { hint: 'wait for it, then try again' }))
}

function readConfig(dir: string): NetworkConfig | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as NetworkConfig
  } catch {
    return undefined
  }
}

/** The default network's id: the same for every user, as it is made the same way everywhere. */
const DEFAULT_NETWORK_ID = '5b1ff0000000000000000000000000000000000000000000000000000000b1d6'

/** The default network, as it is before it was first used (it is written then). */
function defaultNetwork(): NetworkConfig {
  return {
    Name: DEFAULT_NETWORK,
    Id: DEFAULT_NETWORK_ID,
    Created: '0001-01-01T00:00:00Z',
    Bridge: 'skbr0',
    Subnet: DEFAULT_SUBNET,
    Gateway: '10.88.0.1',
    Internal: false,
    Labels: {},
    Options: {},
    Default: true,
  }
}

/** Every network, the default one first. */
export function listNetworks(root: string): NetworkConfig[] {
  let names: string[] = []
  try {
    names = readdirSync(networksDir(root)).filter((n) => /^sk(br|in)\d+$/.test(n))
  } catch {}
  const all = names.map((n) => readConfig(join(networksDir(root), n))).filter((n): n is NetworkConfig => !!n)
  const def = all.find((n) => n.Default) ?? defaultNetwork()
  return [def, ...all.filter((n) => !n.Default).sort((a, b) => Number(a.Bridge.slice(4)) - Number(b.Bridge.slice(4)))]
}

/** The network named `ref`, or whose id is or starts with `ref`. */
export function findNetwork(root: string, ref: string): NetworkConfig {
  const all = listNetworks(root)
  const found = all.find((n) => n.Name === ref) ?? all.find((n) => n.Id === ref) ?? (ref.length >= 3 ? all.filter((n) => n.Id.startsWith(ref)) : [])
  const one = Array.isArray(found) ? (found.length === 1 ? found[0] : undefined) : found
  if (Array.isArray(found) && found.length > 1) throw new SkiffError('E_USAGE', `network id prefix ${ref} is ambiguous`, { hint: 'give more of the id, or the name' })
  if (!one) throw new SkiffError('E_NO_NETWORK', `No such network: ${ref}`, { hint: '`skiff network ls` lists networks; `skiff network create NAME` makes one' })
  return one
}

export interface CreateNetworkOptions {
  name: string
  subnet?: string
  gateway?: string
  ipRange?: string
  internal: boolean
  ipv6: boolean
  labels: Record<string, string>
  options: Record<string, string>
}

/** Subnets of the host's own routes (a network there would hide part of the host's network). */
function hostSubnets(): { text: string; base: number; prefix: number; size: number }[] {
  let text = ''
  try {
    text = readFileSync('/proc/net/route', 'utf8')
  } catch {}
  const out = []
  for (const line of text.split('\n').slice(1)) {
    const [iface, dest, , , , , , mask] = line.trim().split(/\s+/)
    if (!iface || !dest || !mask || dest === '00000000') continue
    const le = (h: string) => {
      const n = parseInt(h, 16)
      return (((n & 255) << 24) | (((n >>> 8) & 255) << 16) | (((n >>> 16) & 255) << 8) | ((n >>> 24) & 255)) >>> 0
    }
    const m = le(mask)
    const prefix = 32 - Math.log2(((~m) >>> 0) + 1)
    if (!Number.isInteger(prefix)) continue
    out.push({ text: `${intToIp4(le(dest))}/${prefix} (${iface})`, base: le(dest), prefix, size: 2 ** (32 - prefix) })
  }
  return out
}

const KNOWN_OPTIONS = new Set(['mtu', 'com.docker.network.driver.mtu', 'com.docker.network.bridge.name'])

/** `network create`: a new network, its subnet checked against the others and the host's routes. */
export function createNetwork(root: string, o: CreateNetworkOptions): NetworkConfig {
  checkNetworkName(o.name)
  if (o.name === DEFAULT_NETWORK) throw new SkiffError('E_NETWORK_EXISTS', `network with name ${o.name} already exists`, { hint: 'it is the default network; choose another name' })
  for (const [k, v] of Object.entries(o.options)) {
    if (!KNOWN_OPTIONS.has(k)) throw new SkiffError('E_USAGE', `--opt ${k}: skiff does not support this bridge option`, { hint: 'skiff takes --opt mtu=N (com.docker.network.driver.mtu)' })
    if (k !== 'com.docker.network.bridge.name' && !(Number(v) >= 576 && Number(v) <= 65535)) throw new SkiffError('E_USAGE', `--opt ${k}=${v}: not an MTU (576-65535)`, { hint: 'e.g. --opt mtu=1500' })
    if (k === 'com.docker.network.bridge.name') throw new SkiffError('E_USAGE', `--opt ${k}: skiff names its bridges itself (they are inside its own network namespace)`, { hint: 'leave this option out' })
  }
  const release = lockNetworks(root)
  try {
    const all = listNetworks(root)
    if (all.some((n) => n.Name === o.name)) {
      throw new SkiffError('E_NETWORK_EXISTS', `network with name ${o.name} already exists`, { hint: `use it, or remove it first: skiff network rm ${o.name}` })
    }
    const used = new Set(all.map((n) => Number(n.Bridge.slice(4))))
    let number = 1
    while (used.has(number)) number++
    if (number > 255) throw new SkiffError('E_NETWORK_FULL', 'skiff keeps at most 255 networks', { hint: 'remove some: skiff network prune' })
    const host = hostSubnets()
    const taken = all.map((n) => ({ name: n.Name, ...parseSubnet4(n.Subnet) }))
    let subnet = o.subnet
    if (subnet) {
      const s = parseSubnet4(subnet)
      const clash = taken.find((t) => overlaps4(s, t))
      if (clash) throw new SkiffError('E_USAGE', `--subnet ${subnet} overlaps network ${clash.name}'s ${intToIp4(clash.base)}/${clash.prefix}`, { hint: 'choose another subnet, or leave --subnet out' })
    } else {
      for (let k = 0; k < 256 && !subnet; k++) {
        const s = parseSubnet4(USER_SUBNETS(k))
        if (!taken.some((t) => overlaps4(s, t)) && !host.some((h) => overlaps4(s, h))) subnet = USER_SUBNETS(k)
      }
      if (!subnet) throw new SkiffError('E_NETWORK_FULL', 'no free subnet in 10.89.0.0/16', { hint: 'give one: --subnet 10.90.0.0/24' })
    }
    const s = parseSubnet4(subnet)
    if (o.ipRange) {
      const r = parseSubnet4(o.ipRange, '--ip-range')
      if (r.base < s.base || r.base + r.size > s.base + s.size) throw new SkiffError('E_USAGE', `--ip-range ${o.ipRange} is not inside --subnet ${subnet}`, { hint: 'give a range inside the subnet' })
    }
    const gateway = o.gateway ?? intToIp4(s.base + 1)
    if (!inSubnet4(gateway, s) || ip4ToInt(gateway) === s.base || ip4ToInt(gateway) === s.base + s.size - 1) {
      throw new SkiffError('E_USAGE', `--gateway ${gateway} is not a host address of ${subnet}`, { hint: `e.g. --gateway ${intToIp4(s.base + 1)}` })
    }
    const subnet6 = o.ipv6 ? ula64(`${o.name}-${subnet}`) : undefined
    if (subnet6) parseSubnet6(subnet6)
    const bridge = `${o.internal ? 'skin' : 'skbr'}${number}`
    const config: NetworkConfig = {
      Name: o.name,
      Id: randomHex(32),
      Created: isoTime(),
      Bridge: bridge,
      Subnet: subnet,
      Gateway: gateway,
      ...(o.ipRange ? { IPRange: o.ipRange } : {}),
      ...(subnet6 ? { Subnet6: subnet6, Gateway6: ip6Host(subnet6, 1) } : {}),
      Internal: o.internal,
      Labels: o.labels,
      Options: o.options,
    }
    const dir = join(networksDir(root), bridge)
    rmSync(dir, { recursive: true, force: true }) // a leftover of an interrupted removal
    mkdirSync(join(dir, 'ips'), { recursive: true, mode: 0o700 })
    writeFileAtomic(join(dir, 'config.json'), JSON.stringify(config, null, 2), 0o600)
    return config
  } finally {
    release()
  }
}

/** The network's files removed (the caller checked that no container uses it). */
export function deleteNetwork(root: string, n: NetworkConfig): void {
  if (n.Default) throw new SkiffError('E_USAGE', `${n.Name} is the default network and cannot be removed`, { hint: 'remove networks you created' })
  const release = lockNetworks(root)
  try {
    if (liveLeases(root, n).length) throw new SkiffError('E_NETWORK_IN_USE', `network ${n.Name} has running containers`, { hint: `stop them or disconnect them first: skiff network disconnect ${n.Name} CONTAINER` })
    rmSync(join(networksDir(root), n.Bridge), { recursive: true, force: true })
  } finally {
    release()
  }
}

function leaseAlive(l: Lease): boolean {
  return processStartTime(l.pid) === l.start
}

function readLease(path: string): Lease | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Lease
  } catch {
    return undefined
  }
}

/** The lease files of network `n` (held or not). */
function leaseFiles(root: string, n: NetworkConfig): string[] {
  const dir = join(networksDir(root), n.Bridge, 'ips')
  try {
    return readdirSync(dir).map((f) => join(dir, f))
  } catch {
    return []
  }
}

/** The leases held now on network `n` (their processes alive). */
export function liveLeases(root: string, n: NetworkConfig): Lease[] {
  return leaseFiles(root, n).map(readLease).filter((l): l is Lease => !!l && leaseAlive(l))
}

/** The container's live leases, by network name. */
export function leasesOfContainer(root: string, id: string): Map<string, Lease> {
  const out = new Map<string, Lease>()
  for (const n of listNetworks(root)) for (const l of liveLeases(root, n)) if (l.container === id) out.set(n.Name, l)
  return out
}

export interface LeaseRequest {
  network: NetworkConfig
  /** the names it answers to there */
  names: string[]
  /** --ip */
  ip?: string
  /** --mac-address */
  mac?: string
  /** the container's end of the link: eth0, eth1, ... */
  ifName: string
}

export interface HeldLease {
  network: NetworkConfig
  lease: Lease
  path: string
}

/** The default network's config written the first time a container uses it. */
function materialize(root: string, n: NetworkConfig): void {
  const dir = join(networksDir(root), n.Bridge)
  if (existsSync(join(dir, 'config.json'))) return
  mkdirSync(join(dir, 'ips'), { recursive: true, mode: 0o700 })
  writeFileAtomic(join(dir, 'config.json'), JSON.stringify({ ...n, Created: isoTime() }, null, 2), 0o600)
}

/**
 * Addresses for container `id` on each requested network, held by this process (skiff) until
 * `handOver` gives them to the shim. Under the networks' lock, which the caller holds.
 */
function allocate(root: string, id: string, hostIfs: (n: NetworkConfig) => string, requests: LeaseRequest[]): HeldLease[] {
  const start = processStartTime(process.pid)!
  const held: HeldLease[] = []
  for (const r of requests) {
    const n = r.network
    if (!existsSync(join(networksDir(root), n.Bridge, 'config.json'))) {
      if (!n.Default) throw new SkiffError('E_NO_NETWORK', `No such network: ${n.Name}`, { hint: 'it was removed; `skiff network ls` lists networks' })
      materialize(root, n)
    }
    const dir = join(networksDir(root), n.Bridge, 'ips')
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const taken = new Set<string>()
    for (const f of leaseFiles(root, n)) {
      const l = readLease(f)
      // a lease of a process that is gone (a container that ended, a skiff killed) is free again
      if (!l || !leaseAlive(l) || l.container === id) {
        rmSync(f, { force: true })
        continue
      }
      taken.add(basename(f))
    }
    let ip = r.ip
    if (ip) {
      if (!inSubnet4(ip, parseSubnet4(n.Subnet)) || ip === n.Gateway) {
        throw new SkiffError('E_USAGE', `--ip ${ip} is not a free host address of network ${n.Name} (${n.Subnet}, gateway ${n.Gateway})`, { hint: 'choose an address in the subnet, or leave --ip out' })
      }
      if (taken.has(ip)) throw new SkiffError('E_ADDRESS_IN_USE', `address ${ip} on network ${n.Name} is held by another container`, { hint: 'choose another address, or leave --ip out' })
    } else {
      ip = nextFree(n.Subnet, n.Gateway, taken, n.IPRange)
      if (!ip) throw new SkiffError('E_NETWORK_FULL', `network ${n.Name} has no free address left in ${n.IPRange ?? n.Subnet}`, { hint: 'stop containers on it, or make a network with a larger subnet' })
    }
    const host = Number(ip.split('.')[3]) + Number(ip.split('.')[2]) * 256
    const lease: Lease = {
      container: id,
      names: [...new Set(r.names.filter(Boolean))],
      ip,
      ...(n.Subnet6 ? { ip6: ip6Host(n.Subnet6, host) } : {}),
      mac: r.mac ?? macFor(ip),
      hostIf: hostIfs(n),
      ifName: r.ifName,
      pid: process.pid,
      start,
    }
    const path = join(dir, ip)
    writeFileSync(path, JSON.stringify(lease), { flag: 'wx', mode: 0o600 })
    held.push({ network: n, lease, path })
  }
  return held
}

/** The leases given to the shim (the container's supervisor), which lives as long as the container. */
export function handOver(held: HeldLease[], pid: number): void {
  const start = processStartTime(pid)
  if (!start) throw new SkiffError('E_SHIM', 'the shim ended before it got the container\'s addresses', { hint: 'try again' })
  for (const h of held) {
    h.lease = { ...h.lease, pid, start }
    writeFileAtomic(h.path, JSON.stringify(h.lease), 0o600, false)
  }
}

/** The container's leases given up (network disconnect, or on all networks: stop). */
export function releaseLeases(root: string, id: string, only?: NetworkConfig): void {
  for (const n of only ? [only] : listNetworks(root)) {
    for (const f of leaseFiles(root, n)) if (readLease(f)?.container === id) rmSync(f, { force: true })
  }
}

/** The names a lease answers to, changed (rename). */
export function renameInLeases(root: string, id: string, from: string, to: string): void {
  for (const n of listNetworks(root)) {
    for (const f of leaseFiles(root, n)) {
      const l = readLease(f)
      if (l?.container !== id) continue
      l.names = [...new Set(l.names.map((x) => (x === from ? to : x)))]
      writeFileAtomic(f, JSON.stringify(l), 0o600, false)
    }
  }
}

export interface Keeper {
  pid: number
  start: string
  idmap: Pick<IdMapPlan, 'uidMap' | 'gidMap' | 'denySetgroups'>
}

/** The keeper that runs now, if one does. */
export function runningKeeper(root: string): Keeper | undefined {
  const k = readKeeper(root)
  return k && processStartTime(k.pid) === k.start ? k : undefined
}

export interface KeeperStarter {
  /**
   * Starts a keeper (the shim's `keeper` mode) and resolves to its pid and the id maps of its user
   * namespace. `stale`: the one that ran before, gone without leaving (killed): containers it
   * connected may still run, in its user namespace, and are to be connected again.
   */
  start(networks: string, stale?: Keeper): Promise<{ pid: number; idmap: Keeper['idmap'] }>
}

function readKeeper(root: string): Keeper | undefined {
  try {
    return JSON.parse(readFileSync(join(networksDir(root), 'keeper.json'), 'utf8')) as Keeper
  } catch {
    return undefined
  }
}

/**
 * Leases for container `id` on the requested networks, and the keeper that holds their bridges
 * (started when none runs): under the networks' lock, so that the keeper, which leaves only under
 * it when no lease is held, is there until the container is on its bridges.
 */
export async function attachNetworks(root: string, id: string, requests: LeaseRequest[], hostIfs: (n: NetworkConfig) => string, starter: KeeperStarter): Promise<{ keeper: Keeper; held: HeldLease[] }> {
  const release = lockNetworks(root)
  try {
    let keeper = runningKeeper(root)
    if (!keeper) {
      const started = await starter.start(networksDir(root), readKeeper(root))
      keeper = { pid: started.pid, start: processStartTime(started.pid) ?? '', idmap: started.idmap }
      if (!keeper.start) throw new SkiffError('E_NETWORK_KEEPER', 'the network keeper ended as soon as it started', { hint: 'run with SKIFF_TRACE=1 to see why' })
      writeFileAtomic(join(networksDir(root), 'keeper.json'), JSON.stringify(keeper), 0o600)
    }
    return { keeper, held: allocate(root, id, hostIfs, requests) }
  } finally {
    release()
  }
}

/**
 * A container's id ranges (in the host's ids) in the keeper's ids: the container's user namespace
 * is made inside the keeper's. Every id must be one the keeper has.
 */
export function inKeeperIds(ranges: IdRange[], keeper: IdRange[]): IdRange[] {
  const out: IdRange[] = []
  for (const r of ranges) {
    let inside = r.inside
    let outside = r.outside
    let left = r.count
    while (left > 0) {
      const k = keeper.find((k) => outside >= k.outside && outside < k.outside + k.count)
      if (!k) {
        throw new SkiffError('E_IDMAP', `host id ${outside} of the container's id map is not mapped in the network keeper's user namespace`, {
          hint: 'the subordinate ids changed since the keeper started: stop the containers on bridge networks, then start again',
        })
      }
      const n = Math.min(left, k.outside + k.count - outside)
      out.push({ inside, outside: k.inside + (outside - k.outside), count: n })
      inside += n
      outside += n
      left -= n
    }
  }
  return out
}

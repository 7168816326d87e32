// Containers on bridge networks: their addresses taken and handed to the shim at start, connect
// and disconnect of a running one, what inspect shows, and the network verbs that need to know
// the containers (rm, prune). Does I/O.
import { writeFileSync } from 'node:fs'
import { SkiffError } from '../errors.js'
import { endpointId, hostIfName, inspectNetwork, type Lease, type NetworkConfig } from '../net/bridge.js'
import { shimTask } from '../launch/shim-task.js'
import { keeperStarter as makeStarter, type Repair } from '../net/keeper.js'
import { hostsFile, resolvConf } from '../net/network.js'
import {
  attachNetworks, deleteNetwork, findNetwork, handOver, inKeeperIds, leasesOfContainer, listNetworks, liveLeases, releaseLeases, runningKeeper,
  type HeldLease,
} from '../net/networks.js'
import { hostResolvConf, type Endpoint } from '../net/setup.js'
import type { BridgeLink, LaunchPlan } from '../plan.js'
import type { Store } from '../storage/store.js'
import { containerFile, listContainers, readState, stripState, writeRecord, type ContainerRecord } from './records.js'

function networkOf(root: string, e: Endpoint): NetworkConfig {
  try {
    return findNetwork(root, e.id)
  } catch {
    throw new SkiffError('E_NO_NETWORK', `network ${e.name} was removed`, { hint: 'disconnect the container from it (skiff network disconnect), or make it again' })
  }
}

/** What a container answers to on its networks: its name, short id, hostname, and the aliases. */
function namesOf(rec: ContainerRecord, e: Endpoint): string[] {
  return [rec.name, rec.id.slice(0, 12), rec.config.Hostname, ...e.aliases]
}

function linkOf(h: Pick<HeldLease, 'network' | 'lease'>, withRoute: boolean): BridgeLink {
  const n = h.network
  const prefix = Number(n.Subnet.split('/')[1])
  const mtu = Number(n.Options.mtu ?? n.Options['com.docker.network.driver.mtu'] ?? 0) || undefined
  return {
    bridge: n.Bridge,
    gateway: n.Gateway,
    prefix,
    ...(n.Gateway6 ? { gateway6: n.Gateway6, prefix6: 64 } : {}),
    hostIf: h.lease.hostIf,
    ifName: h.lease.ifName,
    mac: h.lease.mac,
    addresses: [`${h.lease.ip}/${prefix}`, ...(h.lease.ip6 ? [`${h.lease.ip6}/64`] : [])],
    routes: withRoute && !n.Internal ? [n.Gateway, ...(n.Gateway6 ? [n.Gateway6] : [])] : [],
    ...(mtu ? { mtu } : { mtu: 65520 }),
  }
}

/** The links of a container's leases: the default route through the first network with a way out. */
function linksOf(held: Pick<HeldLease, 'network' | 'lease'>[]): BridgeLink[] {
  const routed = held.findIndex((h) => !h.network.Internal)
  return held.map((h, i) => linkOf(h, i === routed))
}

/** /etc/hosts and /etc/resolv.conf of a container on bridge networks, with the addresses it holds now. */
function writeEtcFiles(store: Store, rec: ContainerRecord, held: HeldLease[]): void {
  const s = rec.network
  const first = held[0]!
  writeFileSync(containerFile(store, rec.id, 'hosts'), hostsFile({ hostname: rec.config.Hostname, name: rec.name, ip: first.lease.ip, addHosts: s.addHosts ?? [] }))
  const dns = s.dns ?? { servers: [], search: [], options: [] }
  // the keeper's name server, on the first network's gateway
  writeFileSync(containerFile(store, rec.id, 'resolv.conf'), resolvConf('none', hostResolvConf(), { ...dns, servers: dns.servers.length ? dns.servers : [first.network.Gateway] }))
}

/**
 * At start: the container's addresses on its networks (and the keeper, started if none runs),
 * its plan completed (made in the keeper's user namespace, its links), its /etc files. The leases
 * are this skiff's until the function returned gives them to the shim (launch's onSpawn).
 */
export async function prepareBridge(store: Store, rec: ContainerRecord, plan: LaunchPlan): Promise<(shimPid: number) => void> {
  const endpoints = rec.network.networks ?? []
  const requests = endpoints.map((e, i) => ({ network: networkOf(store.root, e), names: namesOf(rec, e), ip: e.ip, mac: e.mac, ifName: `eth${i}` }))
  const { keeper, held } = await attachNetworks(store.root, rec.id, requests, (n) => hostIfName(n.Bridge, rec.id), keeperStarter(store))
  try {
    plan.idmap = {
      mode: 'self',
      uidMap: inKeeperIds(plan.idmap.uidMap, keeper.idmap.uidMap),
      gidMap: inKeeperIds(plan.idmap.gidMap, keeper.idmap.gidMap),
      denySetgroups: plan.idmap.denySetgroups,
    }
    plan.network = {
      ...plan.network,
      bridge: { keeperPid: keeper.pid, links: linksOf(held) },
      forward: rec.network.ports.map((p) => ({ proto: p.proto, hostAddr: p.hostIp || '0.0.0.0', hostPort: p.hostPort, containerPort: p.containerPort })),
      forwardTo: held[0]!.lease.ip,
    }
    writeEtcFiles(store, rec, held)
    return (shimPid) => handOver(held, shimPid)
  } catch (err) {
    releaseLeases(store.root, rec.id)
    throw err
  }
}

/**
 * What a keeper started after its predecessor was killed connects again: every running container
 * that holds leases (its supervisor lives), with the links it had, in the order it had them.
 */
function repairPlan(store: Store): Repair | undefined {
  const reattach: Repair['reattach'] = []
  for (const c of listContainers(store)) {
    if (c.network?.mode !== 'bridge' || c.state.status !== 'running' || !c.state.pid) continue
    const held = containerNetworks(store, c).filter((x) => x.lease && x.network).map((x) => ({ network: x.network!, lease: x.lease! }))
    if (held.length) reattach.push({ target: c.state.pid, links: linksOf(held) })
  }
  return reattach.length ? { join: reattach[0]!.target, reattach } : undefined
}

function keeperStarter(store: Store) {
  return makeStarter(() => repairPlan(store))
}

/** A container's place on each of its networks, with its lease where it runs: for inspect. */
export function containerNetworks(store: Store, rec: ContainerRecord): { endpoint: Endpoint; network?: NetworkConfig; lease?: Lease }[] {
  const endpoints = rec.network?.networks ?? []
  if (!endpoints.length) return []
  const leases = leasesOfContainer(store.root, rec.id)
  const all = listNetworks(store.root)
  return endpoints.map((e) => {
    const network = all.find((n) => n.Id === e.id)
    return { endpoint: e, network, lease: network ? leases.get(network.Name) : undefined }
  })
}

/** Docker's NetworkSettings.Networks of a container. */
export function inspectEndpoints(store: Store, rec: ContainerRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const { endpoint: e, network: n, lease: l } of containerNetworks(store, rec)) {
    const prefix = n ? Number(n.Subnet.split('/')[1]) : 0
    out[e.name] = {
      IPAMConfig: e.ip ? { IPv4Address: e.ip } : null,
      Links: null,
      Aliases: [...e.aliases, rec.id.slice(0, 12)],
      NetworkID: e.id,
      EndpointID: l ? endpointId(rec.id, e.id) : '',
      Gateway: l && n ? n.Gateway : '',
      IPAddress: l?.ip ?? '',
      IPPrefixLen: l ? prefix : 0,
      IPv6Gateway: l && n?.Gateway6 ? n.Gateway6 : '',
      GlobalIPv6Address: l?.ip6 ?? '',
      GlobalIPv6PrefixLen: l?.ip6 ? 64 : 0,
      MacAddress: l?.mac ?? '',
      DriverOpts: null,
    }
  }
  return out
}

/** `network inspect`: the network with the containers that hold an address on it. */
export function inspectNetworkWithContainers(store: Store, n: NetworkConfig): Record<string, unknown> {
  const names = new Map(listContainers(store).map((c) => [c.id, c.name]))
  const containers = liveLeases(store.root, n).map((lease) => ({ id: lease.container, name: names.get(lease.container) ?? lease.names[0] ?? '', lease }))
  return inspectNetwork(n, containers)
}

/** The containers whose configuration names network `n` (running or not). */
export function containersOn(store: Store, n: NetworkConfig): ContainerRecord[] {
  return listContainers(store).filter((c) => (c.network?.networks ?? []).some((e) => e.id === n.Id))
}

/** `network rm`: refused while a container is on it (Docker's rule: disconnect or remove them first). */
export function removeNetwork(store: Store, n: NetworkConfig): void {
  const users = containersOn(store, n)
  if (users.length) {
    throw new SkiffError('E_NETWORK_IN_USE', `network ${n.Name} is used by container${users.length > 1 ? 's' : ''} ${users.map((c) => c.name).join(', ')}`, {
      hint: `remove ${users.length > 1 ? 'them' : 'it'} (skiff rm -f ${users.map((c) => c.name).join(' ')}) or disconnect (skiff network disconnect ${n.Name} ${users[0]!.name}) first`,
    })
  }
  deleteNetwork(store.root, n)
}

/** `network prune`: every user-defined network that no container names; their names. */
export function pruneNetworks(store: Store, keep: (n: NetworkConfig) => boolean = () => false): string[] {
  const removed: string[] = []
  for (const n of listNetworks(store.root)) {
    if (n.Default || keep(n) || containersOn(store, n).length) continue
    deleteNetwork(store.root, n)
    removed.push(n.Name)
  }
  return removed
}

/**
 * `network connect`: the container is on `n` from now on; running, it gets its address and
 * link there at once (a new interface, ethN).
 */
export async function connectContainer(store: Store, rec: ContainerRecord, n: NetworkConfig, o: { aliases: string[]; ip?: string }): Promise<void> {
  const mode = rec.network?.mode
  if (mode !== 'bridge') {
    throw new SkiffError('E_USAGE', `container ${rec.name} is on --network=${mode ?? 'none'}: only containers on bridge networks can be connected to more`, { hint: 'start it with --network bridge (or a network of yours)' })
  }
  const endpoints = rec.network.networks ?? []
  if (endpoints.some((e) => e.id === n.Id)) throw new SkiffError('E_USAGE', `container ${rec.name} is already connected to network ${n.Name}`, { hint: 'disconnect it first to change its address or aliases' })
  const endpoint: Endpoint = { id: n.Id, name: n.Name, aliases: o.aliases, ...(o.ip ? { ip: o.ip } : {}) }
  const state = readState(store, rec)
  if (state.status === 'running' && state.pid) {
    // the first ethN the container has not: after a disconnect, the numbers have gaps
    const used = new Set([...leasesOfContainer(store.root, rec.id).values()].map((l) => l.ifName))
    let k = 0
    while (used.has(`eth${k}`)) k++
    const { keeper, held } = await attachNetworks(store.root, rec.id, [{ network: n, names: namesOf(rec, endpoint), ip: o.ip, ifName: `eth${k}` }], (x) => hostIfName(x.Bridge, rec.id), keeperStarter(store))
    try {
      // the lease lives with the container's supervisor, as those it got at start
      if (!state.supervisorPid) throw new SkiffError('E_NOT_RUNNING', `container ${rec.name} is not running`, { hint: `start it: skiff start ${rec.name}` })
      handOver(held, state.supervisorPid)
      const hasRoute = containerNetworks(store, rec).some((x) => x.lease && x.network && !x.network.Internal)
      await shimTask('netattach', { keeperPid: keeper.pid, target: state.pid, links: [linkOf(held[0]!, !hasRoute)] })
    } catch (err) {
      releaseLeases(store.root, rec.id, n)
      throw err
    }
  }
  rec.network.networks = [...endpoints, endpoint]
  writeRecord(store, stripState(rec))
}

/** `network disconnect`: off network `n`; running, its link there removed at once. */
export async function disconnectContainer(store: Store, rec: ContainerRecord, n: NetworkConfig, force: boolean): Promise<void> {
  const endpoints = rec.network?.networks ?? []
  if (!endpoints.some((e) => e.id === n.Id)) {
    if (force) return
    throw new SkiffError('E_USAGE', `container ${rec.name} is not connected to network ${n.Name}`, { hint: '`skiff inspect -f "{{json .NetworkSettings.Networks}}" ' + rec.name + '` shows its networks' })
  }
  // a container on bridge networks has at least one (--network none is another container)
  if (endpoints.length === 1) {
    throw new SkiffError('E_USAGE', `network ${n.Name} is container ${rec.name}'s only network`, { hint: 'connect it to another one first, or remove the container' })
  }
  const lease = leasesOfContainer(store.root, rec.id).get(n.Name)
  const keeper = runningKeeper(store.root)
  if (lease && keeper) await shimTask('netdetach', { keeperPid: keeper.pid, hostIf: lease.hostIf })
  releaseLeases(store.root, rec.id, n)
  rec.network.networks = endpoints.filter((e) => e.id !== n.Id)
  writeRecord(store, stripState(rec))
}

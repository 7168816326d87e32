// The network keeper started: the shim's `keeper` mode, in a session of its own, with the user's
// id maps and pasta (or slirp4netns) as its uplink; it answers with its pid once its namespace is
// connected and its name server listens. Does I/O (a process).
import { join } from 'node:path'
import { SkiffError } from '../errors.js'
import { findExecutable } from '../host/tools.js'
import { hostIdMap } from '../launch/identity.js'
import { shimTask } from '../launch/shim-task.js'
import type { BridgeLink, NetworkHelper } from '../plan.js'
import { PASTA_DNS, SLIRP, searchDomains, slirpArgs } from './network.js'
import { hostResolvConf, pastaHelper } from './setup.js'
import type { Keeper, KeeperStarter } from './networks.js'

/** A keeper started again after its predecessor was killed: the containers still running on its bridges. */
export interface Repair {
  /** a process of one of them (its user namespace's parent is theirs, the old keeper's) */
  join: number
  reattach: { target: number; links: BridgeLink[] }[]
}

/** The uplink: pasta where installed (it forwards DNS to the host's resolvers), else slirp4netns. */
function uplink(): { helper: NetworkHelper; dns: string } {
  const pasta = findExecutable('pasta')
  if (pasta) return { helper: pastaHelper([], false), dns: PASTA_DNS }
  const slirp = findExecutable('slirp4netns')
  if (slirp) return { helper: { kind: 'slirp4netns', path: slirp, args: slirpArgs(undefined, false) }, dns: SLIRP.dns }
  throw new SkiffError('E_NO_NET_HELPER', 'bridge networks need pasta or slirp4netns to reach the host, and neither is installed', {
    hint: 'install passt (pasta) or slirp4netns (Debian/Ubuntu: sudo apt install passt), or run with --network=pasta/none/host',
  })
}

/** The keeper starter; `repair` says which running containers a new keeper connects again. */
export function keeperStarter(repair: (stale: Keeper) => Repair | undefined): KeeperStarter {
  return { start: (networks, stale) => startKeeper(networks, stale ? repair(stale) : undefined, stale) }
}

/** The host's resolv.conf search domains (the containers' too): "db.DOMAIN" is then "db". */
function hostSearchDomains(): string[] {
  return searchDomains(hostResolvConf())
}

async function startKeeper(networks: string, repair: Repair | undefined, stale: Keeper | undefined): Promise<{ pid: number; idmap: Keeper['idmap'] }> {
  const fresh = hostIdMap().plan
  // a repair keeps the user namespace, and so its id maps
  const idmap = repair && stale ? { ...fresh, ...stale.idmap } : fresh
  const { helper, dns } = uplink()
  const plan = { idmap, helper, dns, search: hostSearchDomains(), networks, lock: join(networks, 'lock'), record: join(networks, 'keeper.json'), idleSeconds: 2, ...repair }
  const messages = await shimTask('keeper', plan, (m) => m.type === 'ready')
  const ready = messages.find((m): m is { type: 'ready'; pid: number } => m.type === 'ready')!
  return { pid: ready.pid, idmap: { uidMap: idmap.uidMap, gidMap: idmap.gidMap, denySetgroups: idmap.denySetgroups } }
}

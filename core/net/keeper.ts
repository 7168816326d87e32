// The network keeper started: the shim's `keeper` mode, in a session of its own, with the user's
// id maps and pasta (or slirp4netns) as its uplink; it answers with its pid once its namespace is
// connected and its name server listens. Does I/O (a process).
import { join } from 'node:path'
import { SkiffError } from '../errors.js'
import { findExecutable } from '../host/tools.js'
import { hostIdMap } from '../launch/identity.js'
import { shimErrorToSkiffError } from '../launch/shim-errors.js'
import { spawnShimProcess } from '../launch/shim-process.js'
import type { LaunchPlan, NetworkHelper, ShimMessage } from '../plan.js'
import { shimPath } from '../shim-binary.js'
import { PASTA_DNS, SLIRP, slirpArgs } from './network.js'
import { pastaHelper } from './setup.js'
import type { Keeper, KeeperStarter } from './networks.js'
import type { BridgeLink } from '../plan.js'

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

function startKeeper(networks: string, repair: Repair | undefined, stale: Keeper | undefined): Promise<{ pid: number; idmap: Keeper['idmap'] }> {
  {
    const fresh = hostIdMap().plan
    // a repair keeps the user namespace, and so its id maps
    const idmap = repair && stale ? { ...fresh, ...stale.idmap } : fresh
    const { helper, dns } = uplink()
    const child = spawnShimProcess(shimPath(), ['keeper'], ['ignore', 'ignore', 'ignore'])
    if (child.error) {
      return Promise.reject(new SkiffError('E_SHIM_EXEC', `cannot start the shim ${shimPath()}: ${child.error.message}`, {
        hint: 'check that the cache directory is not mounted noexec, or set XDG_CACHE_HOME to one that is not',
      }))
    }
    child.send(JSON.stringify({ idmap, helper, dns, networks, lock: join(networks, 'lock'), record: join(networks, 'keeper.json'), idleSeconds: 2, ...repair }) + '\n')
    return new Promise((resolve, reject) => {
      let done = false
      child.onLine((line) => {
        if (done) return
        const msg = JSON.parse(line) as ShimMessage | { type: 'ready'; pid: number }
        if (msg.type === 'ready' && 'pid' in msg) {
          done = true
          child.release()
          resolve({ pid: msg.pid, idmap: { uidMap: idmap.uidMap, gidMap: idmap.gidMap, denySetgroups: idmap.denySetgroups } })
        } else if (msg.type === 'error') {
          done = true
          child.release()
          reject(shimErrorToSkiffError(msg, {} as LaunchPlan))
        }
      })
      child.onClose((code) => {
        if (done) return
        done = true
        reject(new SkiffError('E_NETWORK_KEEPER', `the bridge networks' keeper ended before it was ready (status ${code})`, { hint: 'run with SKIFF_TRACE=1 to see its steps' }))
      })
    })
  }
}

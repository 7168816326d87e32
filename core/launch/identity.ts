// The invoking user's ids, subordinate ranges and id-map helpers → the id map plan. Does I/O
// (reads /etc/subuid, /etc/subgid, stats the helpers); cached for the life of the process.
import { userInfo } from 'node:os'
import { keepIdMap, planIdMap, type IdMapDecision } from '../host/idmap.js'
import { findIdmapHelpers, readSubids } from '../host/subid.js'

let decision: IdMapDecision | undefined

/** --userns: host (you are root inside, podman's rootless default) or keep-id (you are yourself). */
export type UsernsMode = 'host' | 'keep-id'

/** The id maps for a container in `userns` mode. */
export function hostIdMap(userns: UsernsMode = 'host'): IdMapDecision {
  const d = baseIdMap()
  // keep-id needs no subordinate ids: their absence is no cause for a warning there
  return userns === 'keep-id' ? { plan: keepIdMap(d.plan, process.getuid!(), process.getgid!()) } : d
}

function baseIdMap(): IdMapDecision {
  if (decision) return decision
  const uid = process.getuid!()
  const gid = process.getgid!()
  let user = String(uid)
  try {
    user = userInfo().username
  } catch {
    // no passwd entry (a uid from a batch system): subordinate ranges can still be listed by uid
  }
  if (uid === 0) return (decision = planIdMap({ uid, gid, user, subuids: [], subgids: [] }))
  // SKIFF_IDMAP=single: map only the user's own id even where helpers and ranges exist (e.g. a
  // service with NoNewPrivileges=yes, where the setuid helpers cannot work).
  if (process.env.SKIFF_IDMAP === 'single') {
    return (decision = planIdMap({ uid, gid, user, subuids: [], subgids: [], forcedSingle: 'SKIFF_IDMAP=single is set' }))
  }
  const helpers = findIdmapHelpers()
  const subids = readSubids({ name: user, uid })
  decision = planIdMap({
    uid,
    gid,
    user,
    subuids: subids.uid,
    subgids: subids.gid,
    newuidmap: helpers.newuidmap,
    newgidmap: helpers.newgidmap,
    helpersProblem: helpers.usable ? undefined : helpers.reason,
    helpersFix: helpers.usable ? undefined : helpers.fix,
    rangesFix: subids.fix,
  })
  return decision
}

/**
 * After newuidmap/newgidmap failed (not setuid, NoNewPrivileges, a range the helper refuses):
 * the single mapping, which needs no helper, with the helper's own words in the warning.
 */
export function fallbackIdMap(helperError: string, userns: UsernsMode = 'host'): IdMapDecision {
  const uid = process.getuid!()
  decision = planIdMap({ uid, gid: process.getgid!(), user: String(uid), subuids: [], subgids: [], forcedSingle: `${helperError}; fix the helper (see \`skiff info\`) to get more ids` })
  return hostIdMap(userns)
}

let warned = false

/** Print the single-mapping warning once per process. */
export function warnIdMapOnce(d: IdMapDecision): void {
  if (d.warning && !warned && !process.env.SKIFF_QUIET_IDMAP) {
    warned = true
    process.stderr.write(`skiff: warning: ${d.warning}\n`)
  }
}

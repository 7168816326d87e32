// Who the container's ids are on the host: the user's own id plus its subordinate ranges. Pure.
//
//   container 0      → the user (uid, gid)
//   container 1..N   → /etc/subuid, /etc/subgid ranges, written by newuidmap/newgidmap
// Without the helpers or ranges: one mapping, 0 → the user, with a warning that says what to fix.
// Real root maps every id onto itself: the user namespace then only confines capabilities.
import type { IdMapPlan, IdRange } from '../plan.js'

export interface SubidRange {
  start: number
  count: number
}

export interface IdentityFacts {
  uid: number
  gid: number
  user: string
  subuids: SubidRange[]
  subgids: SubidRange[]
  newuidmap?: string
  newgidmap?: string
  /** why the helpers cannot be used (missing, not setuid), when they cannot */
  helpersProblem?: string
  /** what to do about that (default: install them) */
  helpersFix?: string
  /** the command that gives the user a free subordinate range (core/host/subid.ts addRangesFix) */
  rangesFix?: string
  /** the user asked for a single mapping (SKIFF_IDMAP=single), or the helpers failed: why */
  forcedSingle?: string
}

export interface IdMapDecision {
  plan: IdMapPlan
  /** set when skiff falls back to a single mapping */
  warning?: string
}

/** Container ids 1.. laid over the subordinate ranges, in order. */
function stack(own: number, ranges: SubidRange[]): IdRange[] {
  const map: IdRange[] = [{ inside: 0, outside: own, count: 1 }]
  let next = 1
  for (const r of ranges) {
    if (r.count <= 0) continue
    map.push({ inside: next, outside: r.start, count: r.count })
    next += r.count
  }
  return map
}

/** What to do when newuidmap/newgidmap are missing (the default fix of the single mapping's warning). */
export const INSTALL_HELPERS_FIX = 'install the uidmap package (Debian/Ubuntu; shadow-utils on Fedora/RHEL)'

export function planIdMap(f: IdentityFacts): IdMapDecision {
  if (f.uid === 0) {
    const all = [{ inside: 0, outside: 0, count: 4294967295 }]
    return { plan: { mode: 'self', uidMap: all, gidMap: all, denySetgroups: false } }
  }
  const single: IdMapPlan = {
    mode: 'self',
    uidMap: [{ inside: 0, outside: f.uid, count: 1 }],
    gidMap: [{ inside: 0, outside: f.gid, count: 1 }],
    denySetgroups: true,
  }
  const effect = 'only root exists in the container; files of other owners in images become root\'s, and --user with another id fails'
  if (f.forcedSingle) return { plan: single, warning: `${f.forcedSingle}: using a single id mapping (${effect})` }
  if (f.helpersProblem || !f.newuidmap || !f.newgidmap) {
    return {
      plan: single,
      warning: `${f.helpersProblem ?? 'newuidmap/newgidmap not found'}: using a single id mapping (${effect}). ` +
        `Fix: ${f.helpersFix ?? INSTALL_HELPERS_FIX}`,
    }
  }
  if (f.subuids.length === 0 || f.subgids.length === 0) {
    const missing = [f.subuids.length === 0 && '/etc/subuid', f.subgids.length === 0 && '/etc/subgid'].filter(Boolean).join(' and ')
    return {
      plan: single,
      warning: `no subordinate range for ${f.user} in ${missing}: using a single id mapping (${effect}). ` +
        `Fix: ${f.rangesFix ?? 'ask your administrator for a subordinate id range (skiff info says more)'}`,
    }
  }
  return {
    plan: {
      mode: 'helpers',
      uidMap: stack(f.uid, f.subuids),
      gidMap: stack(f.gid, f.subgids),
      newuidmap: f.newuidmap,
      newgidmap: f.newgidmap,
      denySetgroups: false,
    },
  }
}

/** Whether container id `id` has a host id under `map`. */
export function isMapped(map: IdRange[], id: number): boolean {
  return map.some((r) => id >= r.inside && id < r.inside + r.count)
}

/**
 * `map` with the container ids `a` and `b` trading their host ids (either may be unmapped). With
 * a = 0 and b = the user's id, this is --userns=keep-id: the user is the same id inside as on the
 * host, and what was container root takes the subordinate id the user's number had.
 */
export function swapInside(map: IdRange[], a: number, b: number): IdRange[] {
  if (a === b) return map
  const points = [a, b]
  const pieces: IdRange[] = []
  for (const r of map) {
    // cut the range around a and b so that each becomes a piece of its own
    let start = r.inside
    const end = r.inside + r.count
    for (const p of [...points].sort((x, y) => x - y)) {
      if (p < start || p >= end) continue
      if (p > start) pieces.push({ inside: start, outside: r.outside + (start - r.inside), count: p - start })
      pieces.push({ inside: p, outside: r.outside + (p - r.inside), count: 1 })
      start = p + 1
    }
    if (start < end) pieces.push({ inside: start, outside: r.outside + (start - r.inside), count: end - start })
  }
  const swapped = pieces.map((r) => (r.count === 1 && (r.inside === a || r.inside === b) ? { ...r, inside: r.inside === a ? b : a } : r))
  return swapped.sort((x, y) => x.inside - y.inside)
}

/** --userns=keep-id: container uid/gid = the user's, with the user's host ids (swapInside). */
export function keepIdMap(plan: IdMapPlan, uid: number, gid: number): IdMapPlan {
  return { ...plan, uidMap: swapInside(plan.uidMap, 0, uid), gidMap: swapInside(plan.gidMap, 0, gid) }
}

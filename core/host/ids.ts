// Ids: the user's subordinate ranges, the newuidmap/newgidmap helpers (setuid root or file
// capabilities), and the id mapping skiff will use. gatherIdFacts does I/O (reads, maybe getcap);
// parsers and judge… functions are pure.
import { planIdMap } from './idmap.js'
import type { IdRange } from '../plan.js'
import type { HostContext, ProbeItem } from './types.js'
import { findExecutable, runBriefly } from './tools.js'
import { NOSUID_FIX, findIdmapHelpers, readSubids, type IdmapHelpers, type SubidRange, type Subids } from './subid.js'
import type { UsernsTrial } from './kernel.js'

export const INSTALL_UIDMAP = 'Debian/Ubuntu: sudo apt install uidmap; Fedora/RHEL: sudo dnf install shadow-utils'
const ASK_ADMIN = 'ask your administrator for a subordinate id range (/etc/subuid and /etc/subgid)'
/** Fewer ids than this and common images (nobody = 65534) have files no container id can own. */
const FULL_RANGE = 65536

/**
 * Whether getcap's line for `path` grants `cap` effective and permitted. getcap prints
 * "/usr/bin/newuidmap cap_setuid=ep" (libcap ≥ 2.30) or "/usr/bin/newuidmap = cap_setuid+ep".
 *   parseGetcap('/usr/bin/newuidmap cap_setuid=ep\n', '/usr/bin/newuidmap', 'cap_setuid') → true
 */
export function parseGetcap(text: string, path: string, cap: string): boolean {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${path} `)) continue
    for (const token of line.slice(path.length).trim().split(/\s+/)) {
      const m = /^([a-z_,]+)[=+]([eip]+)$/.exec(token)
      if (m && m[1]!.split(',').includes(cap) && m[2]!.includes('e') && m[2]!.includes('p')) return true
    }
  }
  return false
}

export interface IdFacts {
  subids: Subids
  helpers: IdmapHelpers
  /**
   * For helpers that are not setuid root: whether getcap shows the capability each needs
   * (cap_setuid, cap_setgid); 'unchecked' when getcap is not installed.
   */
  fileCaps?: { newuidmap: boolean; newgidmap: boolean } | 'unchecked'
}

export async function gatherIdFacts(ctx: HostContext): Promise<IdFacts> {
  const subids = readSubids({ name: ctx.user, uid: ctx.uid })
  const helpers = findIdmapHelpers(ctx.env)
  const facts: IdFacts = { subids, helpers }
  if (helpers.newuidmap && helpers.newgidmap && !helpers.setuidRoot) {
    const getcap = findExecutable('getcap', ctx.env)
    if (!getcap) facts.fileCaps = 'unchecked'
    else {
      const { output } = await runBriefly(getcap, [helpers.newuidmap, helpers.newgidmap])
      facts.fileCaps = { newuidmap: parseGetcap(output, helpers.newuidmap, 'cap_setuid'), newgidmap: parseGetcap(output, helpers.newgidmap, 'cap_setgid') }
    }
  }
  return facts
}

const total = (r: SubidRange[]) => r.reduce((n, x) => n + x.count, 0)

/** [{start: 100000, count: 65536}] → "100000-165535"; several joined with ", ". */
export function formatRanges(r: SubidRange[]): string {
  return r.map((x) => (x.count === 1 ? `${x.start}` : `${x.start}-${x.start + x.count - 1}`)).join(', ')
}

export function judgeSubids(s: Subids, ctx: Pick<HostContext, 'uid' | 'user'>): ProbeItem {
  const details = { user: ctx.user, source: s.source, uidRanges: s.uid, gidRanges: s.gid, uidCount: total(s.uid), gidCount: total(s.gid), note: s.note ?? null }
  const item = (status: ProbeItem['status'], value: string, fix?: string): ProbeItem => ({ id: 'subordinateIds', name: 'subordinate ids', section: 'ids', status, value, fix, details })
  if (ctx.uid === 0) return item('ok', 'not needed (root maps every id)')
  const files = s.source === 'files' ? '/etc/subuid, /etc/subgid' : s.source
  if (s.uid.length === 0 || s.gid.length === 0) {
    const missing = [s.uid.length === 0 && 'uids', s.gid.length === 0 && 'gids'].filter(Boolean).join(' or ')
    return item('warning', `none for ${ctx.user} (no ${missing} in ${files})${s.note ? `; ${s.note}` : ''}: only your own id is mapped`, s.fix ?? ASK_ADMIN)
  }
  const value = `${details.uidCount} uids (${formatRanges(s.uid)}), ${details.gidCount} gids (${formatRanges(s.gid)}) from ${files}`
  const small = Math.min(details.uidCount, details.gidCount)
  if (small < FULL_RANGE - 1) {
    return item('warning', `${value}: fewer than ${FULL_RANGE}, so images with files owned by ids above ${small} fail`, `ask for ${FULL_RANGE} ids: ${s.fix ?? ASK_ADMIN}`)
  }
  return item('ok', value)
}

export function judgeHelpers(f: Pick<IdFacts, 'helpers' | 'fileCaps'>, ctx: Pick<HostContext, 'uid'>, trial?: UsernsTrial, trialUsedHelpers?: boolean): ProbeItem {
  const h = f.helpers
  const caps = f.fileCaps
  const details = {
    newuidmap: h.newuidmap ?? null,
    newgidmap: h.newgidmap ?? null,
    setuidRoot: h.setuidRoot ?? false,
    fileCapabilities: caps === undefined ? null : caps,
    usable: h.usable,
    reason: h.reason ?? null,
    tested: !!(trial?.ok && trialUsedHelpers),
  }
  const item = (status: ProbeItem['status'], value: string, fix?: string): ProbeItem => ({ id: 'idmapHelpers', name: 'newuidmap/newgidmap', section: 'ids', status, value, fix, details })
  const paths = `${h.newuidmap}, ${h.newgidmap}`
  if (ctx.uid === 0) return item('ok', h.newuidmap && h.newgidmap ? `${paths} (not needed: root)` : 'not needed (root)')
  if (!h.newuidmap || !h.newgidmap) return item('warning', h.reason ?? 'not installed', INSTALL_UIDMAP)
  // findIdmapHelpers gives the fix with the reason
  if (!h.usable) return item('warning', h.reason ?? 'unusable', h.fix ?? NOSUID_FIX)
  if (trial?.ok && trialUsedHelpers && !trial.fallback) return item('ok', `${paths} (${h.setuidRoot ? 'setuid root' : 'file capabilities'}; tested)`)
  if (trial?.ok && trial.fallback) {
    return item('warning', `${paths} failed: ${trial.fallback}`, `check they are setuid root (sudo chmod u+s ${paths.replace(', ', ' ')}) and that the ranges in /etc/subuid, /etc/subgid are yours; ${INSTALL_UIDMAP}`)
  }
  if (h.setuidRoot) return item('ok', `${paths} (setuid root)`)
  if (caps === 'unchecked') {
    return item('warning', `${paths}: present, not setuid (file capabilities not checked: getcap is not installed)`, `if newuidmap fails, make them setuid root: sudo chmod u+s ${h.newuidmap} ${h.newgidmap} (getcap comes with libcap2-bin on Debian/Ubuntu, libcap on Fedora)`)
  }
  if (caps && caps.newuidmap && caps.newgidmap) return item('ok', `${paths} (file capabilities cap_setuid, cap_setgid)`)
  return item('warning', `${paths}: neither setuid root nor given cap_setuid/cap_setgid`, `sudo chmod u+s ${h.newuidmap} ${h.newgidmap} (or reinstall: ${INSTALL_UIDMAP})`)
}

/** "0 1000 1\n1 100000 65536\n" (a /proc/PID/uid_map) → ranges. */
export function parseIdMapText(text: string): IdRange[] {
  const out: IdRange[] = []
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(line)
    if (m) out.push({ inside: Number(m[1]), outside: Number(m[2]), count: Number(m[3]) })
  }
  return out
}

/** [{0,1000,1},{1,100000,65536}] → "0 → 1000, 1-65536 → 100000-165535" */
export function formatIdMap(map: IdRange[]): string {
  return map
    .map((r) => (r.count === 1 ? `${r.inside} → ${r.outside}` : `${r.inside}-${r.inside + r.count - 1} → ${r.outside}-${r.outside + r.count - 1}`))
    .join(', ')
}

/**
 * The mapping containers get: the one the trial's namespace really had, else the one skiff's id
 * map planner (core/host/idmap.ts) chooses from these facts.
 */
export function judgeIdMapping(f: Pick<IdFacts, 'subids' | 'helpers'>, ctx: Pick<HostContext, 'uid' | 'gid' | 'user' | 'env'>, trial?: UsernsTrial): ProbeItem {
  const forced = ctx.env.SKIFF_IDMAP === 'single' ? 'SKIFF_IDMAP=single is set' : trial?.ok && trial.fallback ? trial.fallback : undefined
  const decision = planIdMap({
    uid: ctx.uid,
    gid: ctx.gid,
    user: ctx.user,
    subuids: ctx.uid === 0 ? [] : f.subids.uid,
    subgids: ctx.uid === 0 ? [] : f.subids.gid,
    newuidmap: f.helpers.newuidmap,
    newgidmap: f.helpers.newgidmap,
    helpersProblem: f.helpers.usable ? undefined : f.helpers.reason,
    helpersFix: f.helpers.usable ? undefined : f.helpers.fix,
    forcedSingle: forced,
  })
  const seenUid = trial?.ok && trial.uidMap ? parseIdMapText(trial.uidMap) : []
  const seenGid = trial?.ok && trial.gidMap ? parseIdMapText(trial.gidMap) : []
  const tested = seenUid.length > 0 && seenGid.length > 0
  const uidMap = tested ? seenUid : decision.plan.uidMap
  const gidMap = tested ? seenGid : decision.plan.gidMap
  const mode = ctx.uid === 0 ? 'root' : decision.plan.mode === 'helpers' ? 'subordinate' : 'single'
  const details = { mode, uidMap, gidMap, tested, forcedSingle: forced ?? null }
  const item = (status: ProbeItem['status'], value: string, fix?: string): ProbeItem => ({ id: 'idMapping', name: 'id mapping', section: 'ids', status, value, fix, details })
  if (mode === 'root') return item('ok', 'every id onto itself (root)')
  const u = formatIdMap(uidMap)
  const g = formatIdMap(gidMap)
  const maps = `${u === g ? `uids and gids ${u}` : `uids ${u}; gids ${g}`}${tested ? ' (tested)' : ''}`
  if (mode === 'subordinate') return item('ok', maps)
  const value = `single, ${maps}: only root exists in containers, files of other owners in images become root's`
  if (ctx.env.SKIFF_IDMAP === 'single') return item('ok', `${value} (SKIFF_IDMAP=single)`)
  // the items above carry the commands; name them rather than repeat them
  const fix = !f.helpers.usable || (trial?.ok && trial.fallback) ? 'fix newuidmap/newgidmap (above)'
    : f.subids.uid.length === 0 || f.subids.gid.length === 0 ? 'get subordinate ids (above)'
    : undefined
  return item('warning', value, fix)
}

// cgroups: which hierarchy this host runs (v1, v2, hybrid), where this process sits in the v2
// tree, and which controllers are delegated to the user, directly or through the systemd user
// manager. parseProcCgroup, cgroupLayout and judgeCgroups are pure; gatherCgroups does I/O.
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { MountEntry } from './mounts.js'
import { findExecutable } from './tools.js'
import type { HostContext, ProbeItem } from './types.js'

export interface ProcCgroup {
  /** the v2 path, from the "0::/path" line */
  v2Path?: string
  /** the v1 hierarchies: "4:memory:/user.slice" → { id: 4, controllers: ['memory'], path: '/user.slice' } */
  v1: { id: number; controllers: string[]; path: string }[]
}

/**
 * /proc/self/cgroup (cgroups(7)): `hierarchy-ID:controller-list:cgroup-path` per line; the path
 * may itself contain colons.
 *   parseProcCgroup('4:memory:/a\n1:name=systemd:/\n0::/user.slice/x.scope\n')
 *   → { v2Path: '/user.slice/x.scope', v1: [{ id: 4, controllers: ['memory'], path: '/a' },
 *                                         { id: 1, controllers: ['name=systemd'], path: '/' }] }
 */
export function parseProcCgroup(text: string): ProcCgroup {
  const out: ProcCgroup = { v1: [] }
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line)
    if (!m) continue
    const id = Number(m[1])
    if (id === 0 && m[2] === '') out.v2Path = m[3]!
    else out.v1.push({ id, controllers: m[2]!.split(',').filter(Boolean), path: m[3]! })
  }
  return out
}

export type CgroupVersion = 'v2' | 'hybrid' | 'v1' | 'none'

export interface CgroupLayout {
  /** v2: one unified tree; hybrid: controllers on v1 beside a cgroup2 tree; v1: no cgroup2 */
  version: CgroupVersion
  /** where cgroup2 is mounted */
  unifiedMount?: string
  /** this process's cgroup directory in that tree, when it is visible there */
  dir?: string
  /** this process's v2 path (relative to its cgroup namespace) */
  path?: string
  /** controllers bound to v1 hierarchies (not names like name=systemd) */
  v1Controllers: string[]
}

/** The v1 controllers this process is in (named hierarchies such as name=systemd are none). */
export function v1ControllersOf(proc: ProcCgroup): string[] {
  return proc.v1.flatMap((h) => h.controllers.filter((c) => !c.startsWith('name='))).sort()
}

/**
 * The hierarchy from the mounts and /proc/self/cgroup. With controllers on v1 hierarchies and a
 * cgroup2 mount beside them, the host is hybrid: a controller lives in one hierarchy only, so
 * the cgroup2 tree has none of those.
 */
export function cgroupLayout(mounts: MountEntry[], proc: ProcCgroup): CgroupLayout {
  const v1Controllers = v1ControllersOf(proc)
  const unified = mounts.filter((m) => m.fstype === 'cgroup2')
  const v1Mounted = mounts.some((m) => m.fstype === 'cgroup' && m.superOptions.some((o) => v1Controllers.includes(o)))
  const mount = unified.find((m) => m.mountPoint === '/sys/fs/cgroup') ?? unified.find((m) => m.mountPoint === '/sys/fs/cgroup/unified') ?? unified[0]
  const version: CgroupVersion = mount ? (v1Mounted || v1Controllers.length > 0 ? 'hybrid' : 'v2') : v1Controllers.length > 0 || mounts.some((m) => m.fstype === 'cgroup') ? 'v1' : 'none'
  const layout: CgroupLayout = { version, v1Controllers, unifiedMount: mount?.mountPoint, path: proc.v2Path }
  if (mount && proc.v2Path !== undefined) {
    // The mount shows the tree from its root (mountinfo field 4); in a cgroup namespace both it
    // and our path are relative to the namespace's root. "/.." roots are outside: not visible.
    const root = mount.root
    const p = proc.v2Path
    if (root === '/') layout.dir = p === '/' ? mount.mountPoint : join(mount.mountPoint, p)
    else if (p === root || p.startsWith(`${root}/`)) layout.dir = join(mount.mountPoint, p.slice(root.length) || '/')
  }
  return layout
}

export interface CgroupDirFacts {
  dir: string
  owner?: number
  /** the user may create child cgroups and move processes here (dir and cgroup.procs writable) */
  writable: boolean
  /** cgroup.controllers: what this cgroup can hand to its children */
  controllers: string[]
  /** cgroup.subtree_control: what it hands them now */
  subtreeControl: string[]
}

export interface CgroupFacts {
  layout: CgroupLayout
  current?: CgroupDirFacts
  /** the highest cgroup above (or at) the current one still owned by the user: the delegation root */
  delegated?: CgroupDirFacts
  /** the systemd user manager's cgroup (user@UID.service), when it exists */
  userManager?: CgroupDirFacts
  /** the manager answers: its private socket ($XDG_RUNTIME_DIR/systemd/private) is there */
  userManagerSocket?: string
  /** systemd-run, which asks it for a scope */
  systemdRun?: string
  systemd: boolean
}

function words(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').trim().split(/\s+/).filter(Boolean)
  } catch {
    return []
  }
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK)
    return true
  } catch {
    return false
  }
}

function dirFacts(dir: string): CgroupDirFacts | undefined {
  let owner: number
  try {
    owner = statSync(dir).uid
  } catch {
    return undefined
  }
  return {
    dir,
    owner,
    writable: writable(dir) && writable(join(dir, 'cgroup.procs')),
    controllers: words(join(dir, 'cgroup.controllers')),
    subtreeControl: words(join(dir, 'cgroup.subtree_control')),
  }
}

export function gatherCgroups(ctx: Pick<HostContext, 'mounts' | 'uid' | 'systemd'>, procCgroupText?: string): CgroupFacts {
  let text = procCgroupText
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/cgroup', 'utf8')
    } catch {
      text = ''
    }
  }
  const layout = cgroupLayout(ctx.mounts, parseProcCgroup(text))
  const facts: CgroupFacts = { layout, systemd: ctx.systemd }
  if (!layout.dir || !layout.unifiedMount) return facts
  facts.current = dirFacts(layout.dir)
  // Walk up while the user owns the cgroup: systemd chowns the delegated subtree's root to them.
  let top: CgroupDirFacts | undefined
  for (let dir = layout.dir; ; dir = dirname(dir)) {
    const f = dir === layout.dir ? facts.current : dirFacts(dir)
    if (!f || f.owner !== ctx.uid || !f.writable) break
    top = f
    if (dir === layout.unifiedMount || dir === '/') break
  }
  facts.delegated = top
  if (ctx.systemd && ctx.uid !== 0) {
    facts.userManager = dirFacts(join(layout.unifiedMount, 'user.slice', `user-${ctx.uid}.slice`, `user@${ctx.uid}.service`))
    const socket = join(process.env.XDG_RUNTIME_DIR || `/run/user/${ctx.uid}`, 'systemd', 'private')
    if (existsSync(socket)) facts.userManagerSocket = socket
    facts.systemdRun = findExecutable('systemd-run')
  }
  return facts
}

/** What `--cpus`, `--memory`, `--pids-limit`, `--cpuset-cpus` and `--blkio-weight` need. */
export const LIMIT_CONTROLLERS = ['cpu', 'cpuset', 'io', 'memory', 'pids']

export const DELEGATE_FIX =
  "sudo mkdir -p /etc/systemd/system/user@.service.d && printf '[Service]\\nDelegate=cpu cpuset io memory pids\\n' | sudo tee /etc/systemd/system/user@.service.d/delegate.conf && sudo systemctl daemon-reload; then log out and in again"
const UNIFIED_FIX = 'boot with cgroup v2 only: add systemd.unified_cgroup_hierarchy=1 to the kernel command line (GRUB_CMDLINE_LINUX), update-grub, reboot'
const ADMIN_FIX = "ask an admin to delegate a cgroup v2 subtree: a directory whose parent's cgroup.subtree_control enables the controllers, chowned to you with its cgroup.procs, cgroup.subtree_control and cgroup.threads, your shell started in a leaf of it"

export function judgeCgroups(f: CgroupFacts, ctx: Pick<HostContext, 'uid'>): ProbeItem {
  const L = f.layout
  // Where containers' cgroups can go: a subtree the user owns, else the systemd user manager's
  // (through a transient scope with Delegate=yes), else nowhere.
  const direct = f.delegated && f.delegated.controllers.length > 0 ? f.delegated : undefined
  const viaSystemd = !direct && f.userManager && f.userManager.owner === ctx.uid && f.userManagerSocket && f.systemdRun ? f.userManager : undefined
  const source = direct ?? viaSystemd
  const available = source?.controllers ?? []
  const usable = LIMIT_CONTROLLERS.filter((c) => available.includes(c))
  const missing = LIMIT_CONTROLLERS.filter((c) => !available.includes(c))
  const mode = L.version === 'v2' || L.version === 'hybrid' ? (direct && usable.length ? 'direct' : viaSystemd && usable.length ? 'systemd' : 'none') : 'none'
  const details = {
    version: L.version,
    unifiedMount: L.unifiedMount ?? null,
    path: L.path ?? null,
    dir: L.dir ?? null,
    currentWritable: f.current?.writable ?? false,
    currentControllers: f.current?.controllers ?? [],
    currentSubtreeControl: f.current?.subtreeControl ?? [],
    delegatedDir: source?.dir ?? null,
    delegatedControllers: available,
    v1Controllers: L.v1Controllers,
    mode,
  }
  const item = (status: ProbeItem['status'], value: string, fix?: string): ProbeItem => ({ id: 'cgroups', name: 'cgroups', section: 'cgroups', status, value, fix, details })
  const list = (xs: string[]) => (xs.length ? xs.join(' ') : 'none')
  const delegationFix = f.systemd ? DELEGATE_FIX : ADMIN_FIX
  if (L.version === 'none') return item('warning', 'no cgroup filesystem mounted: limits unavailable', 'mount cgroup2 on /sys/fs/cgroup (or boot a systemd distribution, which does)')
  if (L.version === 'v1') return item('warning', `limits unavailable (v1 only: ${list(L.v1Controllers)}; skiff uses cgroup v2)`, UNIFIED_FIX)
  const where = L.version === 'hybrid' ? `hybrid: v1 holds ${list(L.v1Controllers)}; cgroup2 at ${L.unifiedMount}` : `v2 at ${L.unifiedMount}`
  if (mode === 'none' && !direct && f.userManager?.owner === ctx.uid && (!f.userManagerSocket || !f.systemdRun)) {
    const why = !f.systemdRun ? 'systemd-run is not installed' : `its socket ${process.env.XDG_RUNTIME_DIR || `/run/user/${ctx.uid}`}/systemd/private is missing`
    return item('warning', `limits unavailable (${where}; your systemd user manager cannot be asked for a scope: ${why})`,
      !f.systemdRun ? 'install systemd (it provides systemd-run)' : 'run skiff in a login session (XDG_RUNTIME_DIR=/run/user/$UID), or enable lingering: loginctl enable-linger $USER')
  }
  if (mode === 'none') {
    const offered = f.current?.controllers ?? []
    const why = L.version === 'hybrid'
      ? `offers ${list(offered)}`
      : f.current?.writable ? `your cgroup ${L.path} offers ${list(offered)}` : `your cgroup ${L.path ?? '(unknown)'} is not yours to write`
    const fix = L.version === 'v2' ? delegationFix : ctx.uid === 0 ? UNIFIED_FIX : `${UNIFIED_FIX}; then ${f.systemd ? DELEGATE_FIX : ADMIN_FIX}`
    return item('warning', `limits unavailable (${where}; ${why})`, fix)
  }
  const how = mode === 'direct' ? `delegated at ${source!.dir}` : `delegated to your systemd user manager (${source!.dir}; a scope per container through systemd-run --user --scope)`
  const value = `${where}; ${how}: ${list(usable)}`
  if (missing.length) return item('warning', `${value}; not delegated: ${missing.join(' ')} (those limits are refused)`, delegationFix)
  return item('ok', value)
}

// Kernel release and user namespaces: the sysctl knobs that disable or restrict them, the AppArmor
// profile that lifts Ubuntu's restriction, and a real trial through the shim when one is given.
// Parsers and judge… functions are pure; readUsernsKnobs and apparmorTargets do I/O.
import { realpathSync } from 'node:fs'
import type { HostContext, ProbeItem } from './types.js'
import { readNumber, readText, shellQuote } from './tools.js'

/**
 * The numeric part of a kernel release.
 *   parseKernelVersion('6.18.44-fc-v669') → [6, 18, 44]
 *   parseKernelVersion('4.18.0-553.el8_10.x86_64') → [4, 18, 0]
 *   parseKernelVersion('5.15') → [5, 15]
 */
export function parseKernelVersion(release: string): number[] {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release.trim())
  if (!m) return []
  return m[3] === undefined ? [Number(m[1]), Number(m[2])] : [Number(m[1]), Number(m[2]), Number(m[3])]
}

/** Compare dotted versions part by part, missing parts as 0: -1, 0 or 1. */
export function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0)
    if (d !== 0) return d < 0 ? -1 : 1
  }
  return 0
}

/** versionAtLeast('6.18.44-fc', '5.11') → true; an unparsable release → false. */
export function versionAtLeast(release: string, min: string): boolean {
  const v = parseKernelVersion(release)
  return v.length > 0 && compareVersions(v, parseKernelVersion(min)) >= 0
}

export function judgeKernel(release: string): ProbeItem {
  const version = parseKernelVersion(release)
  return { id: 'kernel', name: 'kernel', section: 'host', status: 'ok', value: release, details: { release, version: version.join('.') } }
}

/** The knobs that switch unprivileged user namespaces off; undefined where the kernel has none. */
export interface UsernsKnobs {
  /** user.max_user_namespaces: 0 disables them (RHEL 7's default) */
  maxUserNamespaces?: number
  /** kernel.unprivileged_userns_clone: Debian/Ubuntu patch of older kernels, 0 disables */
  unprivilegedUsernsClone?: number
  /** kernel.apparmor_restrict_unprivileged_userns: Ubuntu 23.10+, 1 restricts to profiled programs */
  apparmorRestrict?: number
  /** a profile named skiff is loaded (known only where the AppArmor policy list is readable) */
  apparmorProfileLoaded?: boolean
}

export function readUsernsKnobs(): UsernsKnobs {
  return {
    maxUserNamespaces: readNumber('/proc/sys/user/max_user_namespaces'),
    unprivilegedUsernsClone: readNumber('/proc/sys/kernel/unprivileged_userns_clone'),
    apparmorRestrict: readNumber('/proc/sys/kernel/apparmor_restrict_unprivileged_userns'),
    apparmorProfileLoaded: apparmorProfileLoaded(),
  }
}

/** Whether a profile called skiff is loaded; undefined when the list cannot be read (not root). */
function apparmorProfileLoaded(): boolean | undefined {
  const text = readText('/sys/kernel/security/apparmor/profiles')
  return text === undefined ? undefined : /^skiff(-shim)? /m.test(text)
}

/** What a real attempt (the shim creating a user namespace with skiff's id maps) showed. */
export interface UsernsTrialResult {
  /** /proc/PID/uid_map and gid_map of the process inside, when they could be read */
  uidMap?: string
  gidMap?: string
  /** newuidmap/newgidmap failed and the single mapping was used instead: their error */
  fallback?: string
}

/** Creates a user namespace for real and resolves with what it saw; rejects with the error. */
export type TryUserns = () => Promise<UsernsTrialResult>

export type UsernsTrial = ({ ok: true } & UsernsTrialResult) | { ok: false; error: string; hint?: string }

/** The programs an AppArmor profile must name: skiff itself and the shim, which calls unshare. */
export interface AppArmorTargets {
  executable: string
  /** the shim's path or a glob of its cached copies (the name carries its hash) */
  shim: string
}

/**
 * Ubuntu's restriction applies to the program that calls unshare(CLONE_NEWUSER): here the shim,
 * which skiff runs from its cache. An exec from an unconfined-mode profile does not pass that
 * profile on, so both programs get one. Paths are the real ones (AppArmor attaches by the path
 * after symlinks are resolved).
 */
export function apparmorProfile(t: AppArmorTargets): string {
  const q = (p: string) => (/[\s"]/.test(p) ? `"${p.replace(/"/g, '\\"')}"` : p)
  return [
    'abi <abi/4.0>,',
    'include <tunables/global>',
    `profile skiff ${q(t.executable)} flags=(unconfined) { userns, }`,
    `profile skiff-shim ${q(t.shim)} flags=(unconfined) { userns, }`,
  ].join('\n')
}

/** One command that installs the profile and loads it. */
export function apparmorFix(t: AppArmorTargets): string {
  const lines = apparmorProfile(t).split('\n').map(shellQuote).join(' ')
  return `printf '%s\\n' ${lines} | sudo tee /etc/apparmor.d/skiff >/dev/null && sudo apparmor_parser -r /etc/apparmor.d/skiff`
}

function realOr(path: string): string {
  try {
    return realpathSync(path)
  } catch {
    return path
  }
}

/** The real paths for the profile: the running executable, and `shim` (a path or glob) as given. */
export function apparmorTargets(shim: string): AppArmorTargets {
  return { executable: realOr(process.execPath), shim }
}

const KNOB_FIXES = {
  max: 'sudo sysctl -w user.max_user_namespaces=15000 && echo user.max_user_namespaces=15000 | sudo tee /etc/sysctl.d/90-userns.conf',
  clone: 'sudo sysctl -w kernel.unprivileged_userns_clone=1 && echo kernel.unprivileged_userns_clone=1 | sudo tee /etc/sysctl.d/90-userns.conf',
}

/**
 * The verdict on user namespaces from the knobs and, when it ran, the trial. The trial is the
 * truth; the knobs explain a failure and give its fix. Without a trial the knobs decide.
 */
export function judgeUserns(knobs: UsernsKnobs, trial: UsernsTrial | undefined, apparmor: AppArmorTargets, ctx: Pick<HostContext, 'uid'>): ProbeItem {
  const details = {
    maxUserNamespaces: knobs.maxUserNamespaces ?? null,
    unprivilegedUsernsClone: knobs.unprivilegedUsernsClone ?? null,
    apparmorRestrictUnprivilegedUserns: knobs.apparmorRestrict ?? null,
    apparmorProfileLoaded: knobs.apparmorProfileLoaded ?? null,
    tested: trial !== undefined,
    testError: trial && !trial.ok ? trial.error : null,
    apparmorProfile: knobs.apparmorRestrict === 1 ? apparmorProfile(apparmor) : null,
  }
  const item = (status: ProbeItem['status'], value: string, fix?: string): ProbeItem => ({ id: 'userNamespaces', name: 'user namespaces', section: 'host', status, value, fix, details })
  // Root is stopped only by max_user_namespaces; the other knobs concern unprivileged users.
  const unprivileged = ctx.uid !== 0
  let knob: { value: string; fix: string; certain: boolean } | undefined
  if (knobs.maxUserNamespaces === 0) {
    knob = { value: 'disabled (user.max_user_namespaces = 0)', fix: KNOB_FIXES.max, certain: true }
  } else if (unprivileged && knobs.unprivilegedUsernsClone === 0) {
    knob = { value: 'disabled (kernel.unprivileged_userns_clone = 0)', fix: KNOB_FIXES.clone, certain: true }
  } else if (unprivileged && knobs.apparmorRestrict === 1 && !knobs.apparmorProfileLoaded) {
    // Whether a profile for skiff is loaded is hidden from non-root users: only a trial tells.
    knob = { value: 'restricted by AppArmor (kernel.apparmor_restrict_unprivileged_userns = 1) unless a profile allows skiff', fix: apparmorFix(apparmor), certain: false }
  }
  if (trial?.ok) return item('ok', unprivileged && knobs.apparmorRestrict === 1 ? 'yes (tested; an AppArmor profile allows skiff)' : 'yes (tested: created one)')
  if (trial && !trial.ok) {
    if (knob) return item('error', `${knob.value}: ${trial.error}`, knob.fix)
    // the shim's own hint sends people here; say something new instead
    const hint = trial.hint && !trial.hint.includes('skiff info') ? trial.hint : 'inside a container, chroot or sandbox that forbids them? run skiff on the host, or allow nested user namespaces there'
    return item('error', `cannot create one: ${trial.error}`, hint)
  }
  if (knob) return item(knob.certain ? 'error' : 'warning', knob.value, knob.fix)
  return item('ok', `enabled (max ${knobs.maxUserNamespaces ?? 'unknown'}; not tested)`)
}

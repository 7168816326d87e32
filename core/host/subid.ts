// Subordinate id ranges (/etc/subuid, /etc/subgid, or the nss source named in nsswitch.conf) and
// the setuid helpers that map them. The parse… functions are pure; readSubids and
// findIdmapHelpers read the filesystem (and run getsubids only where nsswitch.conf says so).
import { readFileSync, realpathSync, statSync } from 'node:fs'
import { INSTALL_HELPERS_FIX, type SubidRange } from './idmap.js'
import { mountFor, readMountinfo } from './mounts.js'
import { findExecutable, shellQuote } from './tools.js'
import { ST_NOSUID, nativeAddon } from '../native.js'

export type { SubidRange }

/** Ids are 32-bit and (uid_t)-1 is never valid, so a range ends at 4294967294 at most. */
const ID_LIMIT = 4294967295

function range(start: string | undefined, count: string | undefined): SubidRange | undefined {
  if (!/^\d+$/.test(start ?? '') || !/^\d+$/.test(count ?? '')) return undefined
  const r = { start: Number(start), count: Number(count) }
  return r.count > 0 && r.start + r.count <= ID_LIMIT ? r : undefined
}

/**
 * A user's ranges in /etc/subuid or /etc/subgid text: lines `owner:start:count` whose owner is the
 * user's name or numeric uid (shadow's newuidmap accepts both), in file order. Comments, blank
 * lines and malformed or empty ranges are skipped.
 *   parseSubidFile('ann:100000:65536\n1000:300000:10\n', 'ann', 1000)
 *   → [{ start: 100000, count: 65536 }, { start: 300000, count: 10 }]
 */
export function parseSubidFile(text: string, userName: string, uid: number): SubidRange[] {
  const out: SubidRange[] = []
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const parts = line.split(':')
    if (parts.length !== 3) continue
    const [owner, start, count] = parts
    if (owner !== userName && owner !== String(uid)) continue
    const r = range(start, count)
    if (r) out.push(r)
  }
  return out
}

/**
 * The sources on the `subid:` line of nsswitch.conf ([] when there is none: the files are used).
 *   parseNsswitchSubid('passwd: files sss\nsubid: sss # FreeIPA\n') → ['sss']
 */
export function parseNsswitchSubid(text: string): string[] {
  for (const raw of text.split('\n')) {
    const m = /^\s*subid\s*:(.*)$/.exec(raw.replace(/#.*/, ''))
    if (m) return m[1]!.trim().split(/\s+/).filter(Boolean)
  }
  return []
}

/**
 * `getsubids USER` (shadow-utils ≥ 4.11, through libsubid and nsswitch) output.
 *   parseGetsubidsOutput('0: ann 100000 65536\n1: ann 300000 10\n')
 *   → [{ start: 100000, count: 65536 }, { start: 300000, count: 10 }]
 */
export function parseGetsubidsOutput(text: string): SubidRange[] {
  const out: SubidRange[] = []
  for (const line of text.split('\n')) {
    const m = /^\s*\d+:\s+\S+\s+(\d+)\s+(\d+)\s*$/.exec(line)
    const r = m ? range(m[1], m[2]) : undefined
    if (r) out.push(r)
  }
  return out
}

export interface Subids {
  uid: SubidRange[]
  gid: SubidRange[]
  /** where they came from: "files" (/etc/subuid, /etc/subgid) or "nss:sss" (through getsubids) */
  source: string
  /** set when the answer may be incomplete, with why */
  note?: string
  /** where the user has no range or a small one: the command that gives one (addRangesFix) */
  fix?: string
}

export interface SubidFiles {
  subuid: string
  subgid: string
  nsswitch: string
}

const SYSTEM_FILES: SubidFiles = { subuid: '/etc/subuid', subgid: '/etc/subgid', nsswitch: '/etc/nsswitch.conf' }

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return ''
  }
}

/**
 * The user's subordinate ranges as newuidmap/newgidmap will see them. When nsswitch.conf names a
 * module (`subid: sss`, LDAP/FreeIPA), libsubid asks it instead of the files: then `getsubids` gives
 * the answer (a few ms, only on such hosts).
 */
export function readSubids(user: { name: string; uid: number }, files: SubidFiles = SYSTEM_FILES): Subids {
  const s = readSubidSources(user, files)
  const small = (r: SubidRange[]) => r.reduce((n, x) => n + x.count, 0) < SUB_COUNT - 1
  return small(s.uid) || small(s.gid) ? { ...s, fix: addRangesFix(user.name, files) } : s
}

function readSubidSources(user: { name: string; uid: number }, files: SubidFiles): Subids {
  const sources = parseNsswitchSubid(readOr(files.nsswitch))
  const module = sources.find((s) => s !== 'files')
  if (module) {
    const getsubids = findExecutable('getsubids')
    if (getsubids) {
      // loaded here, not at the top: child_process costs `run` ~1.5 ms, and only such hosts need it
      const { spawnSync } = require('node:child_process') as typeof import('node:child_process')
      const ask = (args: string[]) => {
        const r = spawnSync(getsubids, [...args, user.name], { encoding: 'utf8', timeout: 5000 })
        return r.status === 0 ? parseGetsubidsOutput(r.stdout) : []
      }
      return { uid: ask([]), gid: ask(['-g']), source: `nss:${module}` }
    }
    const fromFiles = readFromFiles(user, files)
    return { ...fromFiles, note: `nsswitch.conf takes subordinate ids from ${module}, and getsubids (shadow-utils 4.11+) is not installed to ask it; the files were read instead` }
  }
  return readFromFiles(user, files)
}

function readFromFiles(user: { name: string; uid: number }, files: SubidFiles): Subids {
  return {
    uid: parseSubidFile(readOr(files.subuid), user.name, user.uid),
    gid: parseSubidFile(readOr(files.subgid), user.name, user.uid),
    source: 'files',
  }
}

/** useradd's defaults (login.defs SUB_UID_MIN, SUB_UID_MAX, SUB_UID_COUNT). */
const SUB_MIN = 100000
const SUB_MAX = 600100000
const SUB_COUNT = 65536

/**
 * The lowest block of `count` ids at or above 100000 that no range of any user in either file
 * overlaps, as useradd picks one; undefined when none is left below 600100000.
 *   freeSubidStart('ann:100000:65536\n', 'bob:165536:65536\n') → 231072
 */
export function freeSubidStart(subuidText: string, subgidText: string, count = SUB_COUNT): number | undefined {
  const taken: SubidRange[] = []
  for (const raw of `${subuidText}\n${subgidText}`.split('\n')) {
    const parts = raw.trim().split(':')
    const r = parts.length === 3 && !raw.trim().startsWith('#') ? range(parts[1], parts[2]) : undefined
    if (r) taken.push(r)
  }
  taken.sort((a, b) => a.start - b.start)
  let start = SUB_MIN
  for (const r of taken) {
    if (r.start >= start + count) break
    if (r.start + r.count > start) start = r.start + r.count
  }
  return start + count - 1 <= SUB_MAX ? start : undefined
}

/**
 * The command that gives `user` subordinate ids: a block no one in /etc/subuid or /etc/subgid has
 * (a fixed one could be another user's, and two users with the same ids reach each other's
 * container files), or, where ids come from a directory service, whom to ask.
 */
export function addRangesFix(user: string, files: SubidFiles = SYSTEM_FILES): string {
  const module = parseNsswitchSubid(readOr(files.nsswitch)).find((s) => s !== 'files')
  if (module) return `ask your administrator for a subordinate id range for ${user} (this host takes them from ${module}, per /etc/nsswitch.conf)`
  const start = freeSubidStart(readOr(files.subuid), readOr(files.subgid))
  if (start === undefined) return `ask your administrator for a subordinate id range for ${user} (no free block of ${SUB_COUNT} ids is left in /etc/subuid and /etc/subgid)`
  const r = `${start}-${start + SUB_COUNT - 1}`
  return `sudo usermod --add-subuids ${r} --add-subgids ${r} ${shellQuote(user)} (a block no user has in /etc/subuid and /etc/subgid now; or ask your administrator)`
}

/** NoNewPrivs from /proc/self/status text: set, setuid and file capabilities grant nothing. */
export function parseNoNewPrivs(statusText: string): boolean {
  return /^NoNewPrivs:\s*1\s*$/m.test(statusText)
}

export interface IdmapHelpers {
  newuidmap?: string
  newgidmap?: string
  /**
   * false when they cannot work for sure: missing, this process has no_new_privs, or they sit on a
   * nosuid mount. A helper that is not setuid root may still have file capabilities (Node cannot
   * read the security.capability xattr), so it stays usable and its failure is reported when run.
   */
  usable: boolean
  /** why they cannot be used */
  reason?: string
  /** what to do about it, when they cannot be used */
  fix?: string
  /** both are setuid root (mode 04000, owner 0) */
  setuidRoot?: boolean
}

export const NO_NEW_PRIVS_FIX = 'run skiff outside that service or sandbox (or set NoNewPrivileges=no in its unit); SKIFF_IDMAP=single maps only your id without warning'
export const NOSUID_FIX = 'install newuidmap/newgidmap on a filesystem mounted without nosuid'

function setuidRoot(path: string): boolean {
  try {
    const st = statSync(path)
    return (st.mode & 0o4000) !== 0 && st.uid === 0
  } catch {
    return false
  }
}

/** statvfs's flags through the addon (~0 ms); else the mount's options in mountinfo (read and parsed, ~0.4 ms here). */
function onNosuidMount(path: string): boolean {
  const flags = nativeAddon()?.mountFlags(path) ?? -1
  if (flags >= 0) return (flags & ST_NOSUID) !== 0
  try {
    return mountFor(realpathSync.native(path), readMountinfo())?.options.includes('nosuid') ?? false
  } catch {
    return false
  }
}

/** prctl through the addon; else /proc/self/status (~0.2 ms here). */
function hasNoNewPrivs(): boolean {
  const r = nativeAddon()?.noNewPrivs() ?? -1
  return r >= 0 ? r === 1 : parseNoNewPrivs(readOr('/proc/self/status'))
}

export function findIdmapHelpers(env: NodeJS.ProcessEnv = process.env): IdmapHelpers {
  const newuidmap = findExecutable('newuidmap', env)
  const newgidmap = findExecutable('newgidmap', env)
  if (!newuidmap || !newgidmap) {
    const missing = [!newuidmap && 'newuidmap', !newgidmap && 'newgidmap'].filter(Boolean).join(' and ')
    return {
      newuidmap,
      newgidmap,
      usable: false,
      reason: `${missing} ${newuidmap || newgidmap ? 'is' : 'are'} not installed (Debian/Ubuntu: apt install uidmap; Fedora/RHEL: dnf install shadow-utils)`,
      fix: INSTALL_HELPERS_FIX,
    }
  }
  const found = { newuidmap, newgidmap, setuidRoot: setuidRoot(newuidmap) && setuidRoot(newgidmap) }
  if (hasNoNewPrivs()) {
    return { ...found, usable: false, reason: 'this process runs with no_new_privs (a service with NoNewPrivileges=yes, or a sandbox), so newuidmap/newgidmap cannot gain their privileges', fix: NO_NEW_PRIVS_FIX }
  }
  const nosuid = [newuidmap, newgidmap].find(onNosuidMount)
  if (nosuid) {
    return { ...found, usable: false, reason: `${nosuid} is on a nosuid mount, so it cannot gain its privileges`, fix: NOSUID_FIX }
  }
  return { ...found, usable: true }
}

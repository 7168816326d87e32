// --user resolution against the image's /etc/passwd and /etc/group, as Docker does it. Pure.
//
//   ""            → root (0:0)
//   "app"         → app's uid and primary gid, plus every group listing app
//   "1000"        → uid 1000; gid from passwd when 1000 is there, else 0
//   "app:extra"   → app's uid, gid of group "extra" (no supplementary groups from /etc/group)
//   "1000:2000"   → exactly that
import { SkiffError } from '../errors.js'

export interface PasswdEntry {
  name: string
  uid: number
  gid: number
  home: string
  shell: string
}

export interface GroupEntry {
  name: string
  gid: number
  members: string[]
}

export interface ResolvedUser {
  uid: number
  gid: number
  additionalGids: number[]
  /** from passwd; "/" when the user has no entry (as runc) */
  home: string
}

const isNumeric = (s: string) => /^[0-9]+$/.test(s)

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = []
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const f = line.split(':')
    if (f.length < 7 || !isNumeric(f[2]!) || !isNumeric(f[3]!)) continue
    out.push({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]!, shell: f[6]! })
  }
  return out
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = []
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const f = line.split(':')
    if (f.length < 4 || !isNumeric(f[2]!)) continue
    out.push({ name: f[0]!, gid: Number(f[2]), members: f[3]!.split(',').map((m) => m.trim()).filter(Boolean) })
  }
  return out
}

/** Resolve a --user / image User spec. `passwd`/`group` are the image's files (absent: empty). */
export function resolveUser(spec: string, passwdText = '', groupText = ''): ResolvedUser {
  const passwd = parsePasswd(passwdText)
  const groups = parseGroup(groupText)
  const [userPart = '', groupPart] = spec.split(':', 2) as [string, string | undefined]
  let entry: PasswdEntry | undefined
  let uid: number
  if (userPart === '') {
    uid = 0
    entry = passwd.find((p) => p.uid === 0)
  } else if (isNumeric(userPart)) {
    uid = Number(userPart)
    entry = passwd.find((p) => p.uid === uid)
  } else {
    entry = passwd.find((p) => p.name === userPart)
    if (!entry) {
      throw new SkiffError('E_NO_USER', `unable to find user ${userPart}: no matching entries in the image's /etc/passwd`, {
        hint: 'use a numeric --user UID[:GID], or a name the image defines',
      })
    }
    uid = entry.uid
  }
  let gid: number
  let additionalGids: number[] = []
  if (groupPart !== undefined && groupPart !== '') {
    if (isNumeric(groupPart)) {
      gid = Number(groupPart)
    } else {
      const g = groups.find((x) => x.name === groupPart)
      if (!g) {
        throw new SkiffError('E_NO_GROUP', `unable to find group ${groupPart}: no matching entries in the image's /etc/group`, {
          hint: 'use a numeric group id, or a group the image defines',
        })
      }
      gid = g.gid
    }
  } else {
    gid = entry?.gid ?? 0
    if (entry) {
      // every group the image lists the user in, its primary one too (as runc and podman: `id` shows groups=0(root),1(bin),...)
      additionalGids = groups.filter((g) => g.members.includes(entry!.name)).map((g) => g.gid)
    }
  }
  return { uid, gid, additionalGids: [...new Set(additionalGids)], home: entry?.home || (uid === 0 ? '/root' : '/') }
}

/**
 * --group-add values → gids: a number, or a group of the image's /etc/group.
 *   groupsToAdd(['10', 'audio'], 'audio:x:29:\n') → [10, 29]
 */
export function groupsToAdd(values: string[], groupText = ''): number[] {
  const groups = parseGroup(groupText)
  return values.map((v) => {
    if (isNumeric(v)) return Number(v)
    const g = groups.find((x) => x.name === v)
    if (!g) throw new SkiffError('E_NO_GROUP', `--group-add ${v}: no matching entries in the image's /etc/group`, { hint: 'use a numeric group id, or a group the image defines' })
    return g.gid
  })
}

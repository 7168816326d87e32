// --userns=keep-id: who the user is (the host's view), and the image's /etc/passwd and
// /etc/group with an entry for them added, so that `id` and `whoami` inside print the user's name
// (as podman and Apptainer do). hostUser does I/O; accountFiles is pure.
import { readFileSync } from 'node:fs'
import { userInfo } from 'node:os'
import { parseGroup, parsePasswd, type ResolvedUser } from './passwd.js'

export interface HostAccount extends ResolvedUser {
  name: string
  group: string
}

/** The invoking user as the host knows it; a uid without a passwd entry (LDAP, batch systems) gets a made-up name. */
export function hostUser(): HostAccount {
  const uid = process.getuid!()
  const gid = process.getgid!()
  let name = process.env.USER || `u${uid}`
  let home = process.env.HOME || '/'
  try {
    const info = userInfo()
    name = info.username
    home = info.homedir || home
  } catch {
    // no passwd entry here: $USER and $HOME as the batch system set them
  }
  let group = name
  try {
    group = parseGroup(readFileSync('/etc/group', 'utf8')).find((g) => g.gid === gid)?.name ?? name
  } catch {}
  return { uid, gid, additionalGids: [], home, name, group }
}

/**
 * The image's passwd and group files with the user added, each only when the image has no entry
 * for that id (undefined: the image's own file is right as it is). A name the image already uses
 * for another id is not reused: the entry is then named after the id.
 */
export function accountFiles(passwdText: string, groupText: string, user: ResolvedUser & Partial<Pick<HostAccount, 'name' | 'group'>>): { passwd?: string; group?: string } {
  const out: { passwd?: string; group?: string } = {}
  const passwd = parsePasswd(passwdText)
  const name = user.name ?? `u${user.uid}`
  if (!passwd.some((p) => p.uid === user.uid)) {
    const free = passwd.some((p) => p.name === name) ? `u${user.uid}` : name
    out.passwd = `${withNewline(passwdText)}${free}:x:${user.uid}:${user.gid}:${free}:${user.home}:/bin/sh\n`
  }
  const groups = parseGroup(groupText)
  const groupName = user.group ?? name
  if (!groups.some((g) => g.gid === user.gid)) {
    const free = groups.some((g) => g.name === groupName) ? `g${user.gid}` : groupName
    out.group = `${withNewline(groupText)}${free}:x:${user.gid}:\n`
  }
  return out
}

const withNewline = (text: string) => (text === '' || text.endsWith('\n') ? text : `${text}\n`)

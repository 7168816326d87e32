// Subordinate id ranges (/etc/subuid, /etc/subgid) and the setuid helpers that map them.
// parseSubidFile is pure; readSubids and findIdmapHelpers read the filesystem.
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { SubidRange } from './idmap.js'

/**
 * Ranges for a user: lines `name:start:count` or `uid:start:count`, in file order.
 *   parseSubidFile('ann:100000:65536\n', 'ann', 1000) → [{ start: 100000, count: 65536 }]
 */
export function parseSubidFile(text: string, userName: string, uid: number): SubidRange[] {
  const out: SubidRange[] = []
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const [who, start, count] = line.split(':')
    if (who !== userName && who !== String(uid)) continue
    if (!/^[0-9]+$/.test(start ?? '') || !/^[0-9]+$/.test(count ?? '')) continue
    if (Number(count) > 0) out.push({ start: Number(start), count: Number(count) })
  }
  return out
}

function readRanges(file: string, user: { name: string; uid: number }): SubidRange[] {
  try {
    return parseSubidFile(readFileSync(file, 'utf8'), user.name, user.uid)
  } catch {
    return []
  }
}

export function readSubids(user: { name: string; uid: number }): { uid: SubidRange[]; gid: SubidRange[] } {
  return { uid: readRanges('/etc/subuid', user), gid: readRanges('/etc/subgid', user) }
}

export interface IdmapHelpers {
  newuidmap?: string
  newgidmap?: string
  usable: boolean
  /** why they cannot be used, with what to install */
  reason?: string
}

const HELPER_DIRS = ['/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/local/bin', '/usr/local/sbin']

function findHelper(name: string): { path?: string; setuid: boolean } {
  const dirs = [...(process.env.PATH ?? '').split(':').filter((d) => d.startsWith('/')), ...HELPER_DIRS]
  for (const dir of dirs) {
    const path = join(dir, name)
    try {
      const st = statSync(path)
      if (!st.isFile()) continue
      // setuid root is the classic install; some distributions use file capabilities instead,
      // which Node cannot read (security.capability xattr): such a helper is tried and its
      // failure reported.
      return { path, setuid: (st.mode & 0o4000) !== 0 && st.uid === 0 }
    } catch {
      continue
    }
  }
  return { setuid: false }
}

export function findIdmapHelpers(): IdmapHelpers {
  const uid = findHelper('newuidmap')
  const gid = findHelper('newgidmap')
  if (!uid.path || !gid.path) {
    return { usable: false, reason: `${!uid.path ? 'newuidmap' : 'newgidmap'} is not installed` }
  }
  return { newuidmap: uid.path, newgidmap: gid.path, usable: true }
}

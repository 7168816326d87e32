// /proc/self/mountinfo: the parser (pure) and which mount holds a path (pure); one reader (I/O).
//
// A line (proc(5)):
//   36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//   (1)(2)(3)   (4)   (5)        (6)         (7...)   -  (8)  (9)       (10)
// Optional fields (7) end at the lone "-". Spaces, tabs, newlines and backslashes in paths are
// escaped as octal (\040 \011 \012 \134), so splitting on spaces is safe.
import { readFileSync } from 'node:fs'

export interface MountEntry {
  id: number
  parentId: number
  /** major:minor of the filesystem */
  device: string
  /** the directory of the filesystem mounted here ("/" for a whole filesystem; a subdir for binds) */
  root: string
  mountPoint: string
  /** per-mount options: rw/ro, nosuid, nodev, noexec, relatime... */
  options: string[]
  fstype: string
  source: string
  /** per-superblock options */
  superOptions: string[]
}

/** "\040" → " " and the other octal escapes of the kernel's mangle(). */
export function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)))
}

/**
 *   parseMountinfo('41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n')
 *   → [{ id: 41, parentId: 31, device: '0:38', root: '/', mountPoint: '/sys/fs/cgroup/unified',
 *        options: ['rw', 'relatime'], fstype: 'cgroup2', source: 'cgroup2', superOptions: ['rw'] }]
 * Lines that do not parse are skipped.
 */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = []
  for (const line of text.split('\n')) {
    const fields = line.split(' ')
    const dash = fields.indexOf('-', 6)
    if (dash < 0 || fields.length < dash + 3) continue
    const id = Number(fields[0])
    const parentId = Number(fields[1])
    if (!Number.isInteger(id) || !Number.isInteger(parentId)) continue
    out.push({
      id,
      parentId,
      device: fields[2]!,
      root: unescapeMountPath(fields[3]!),
      mountPoint: unescapeMountPath(fields[4]!),
      options: fields[5]!.split(','),
      fstype: fields[dash + 1]!,
      source: unescapeMountPath(fields[dash + 2]!),
      superOptions: (fields[dash + 3] ?? '').split(',').filter(Boolean),
    })
  }
  return out
}

/**
 * The mount that holds absolute, symlink-free `path`: the longest mount point above it, the
 * last one listed when several are stacked on the same point (the one on top).
 *   mountFor('/home/ann/x', [{mountPoint: '/'}, {mountPoint: '/home'}]) → the /home entry
 */
export function mountFor(path: string, mounts: MountEntry[]): MountEntry | undefined {
  let best: MountEntry | undefined
  for (const m of mounts) {
    const mp = m.mountPoint
    const inside = mp === '/' || path === mp || path.startsWith(mp.endsWith('/') ? mp : `${mp}/`)
    if (inside && (!best || mp.length >= best.mountPoint.length)) best = m
  }
  return best
}

let mountinfo: MountEntry[] | undefined

/** This process's mounts, read once per process (a command does not change what it sees). */
export function readMountinfo(): MountEntry[] {
  if (mountinfo) return mountinfo
  try {
    return (mountinfo = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')))
  } catch {
    return []
  }
}

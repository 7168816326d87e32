// skiff diff: what a container changed, read from its upper layer. Does I/O (reads the tree).
//
// In the upper directory a 0/0 character device is a deletion (overlay whiteout); an entry the
// image also has is a change; any other entry was added. A directory that holds changes is itself
// listed as changed, as Docker does.
import { lstatSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

export interface Change {
  kind: 'A' | 'C' | 'D'
  path: string
}

/** `mountPoints`: targets skiff mounts over; when skiff had to create them they are not the container's changes. */
export function diffUpper(upper: string, lowers: string[], mountPoints: string[] = []): Change[] {
  const hidden = new Set(mountPoints)
  const inImage = (rel: string) =>
    lowers.some((l) => {
      try {
        lstatSync(join(l, rel))
        return true
      } catch {
        return false
      }
    })
  // the changes under `rel`, and whether everything there is a mount point skiff made (then a
  // directory added only to hold one, /run for /run/.containerenv, is not a change either)
  const walk = (rel: string): { changes: Change[]; onlyHidden: boolean } => {
    let names: string[]
    try {
      names = readdirSync(join(upper, rel)).sort()
    } catch {
      return { changes: [], onlyHidden: false } // a directory only a mapped id may read
    }
    const changes: Change[] = []
    let hiddenHere = 0
    for (const name of names) {
      const path = `${rel}/${name}`
      const st = lstatSync(join(upper, path))
      if (st.isCharacterDevice() && st.rdev === 0) {
        changes.push({ kind: 'D', path })
        continue
      }
      const kind = inImage(path) ? 'C' : 'A'
      if (kind === 'A' && hidden.has(path)) {
        hiddenHere++
        continue
      }
      const sub = st.isDirectory() ? walk(path) : { changes: [], onlyHidden: false }
      if (kind === 'A' && sub.onlyHidden) {
        hiddenHere++
        continue
      }
      changes.push({ kind, path }, ...sub.changes)
    }
    return { changes, onlyHidden: names.length > 0 && hiddenHere === names.length }
  }
  return walk('').changes
}
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
  const out: Change[] = []
  const inImage = (rel: string) =>
    lowers.some((l) => {
      try {
        lstatSync(join(l, rel))
        return true
      } catch {
        return false
      }
    })
  const walk = (rel: string) => {
    let names: string[]
    try {
      names = readdirSync(join(upper, rel)).sort()
    } catch {
      return // a directory only a mapped id may read
    }
    for (const name of names) {
      const path = `${rel}/${name}`
      const st = lstatSync(join(upper, path))
      if (st.isCharacterDevice() && st.rdev === 0) {
        out.push({ kind: 'D', path })
        continue
      }
      const kind = inImage(path) ? 'C' : 'A'
      if (kind === 'A' && hidden.has(path)) continue
      out.push({ kind, path })
      if (st.isDirectory()) walk(path)
    }
  }
  walk('')
  return out
}

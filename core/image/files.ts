// Read a file of an image by looking through its unpacked layers, top-most first. Does I/O (reads).
//
// Each layer is an overlay lower directory: a whiteout (char device 0/0) named like the file or
// one of its parent directories hides everything below it. Used for /etc/passwd and /etc/group,
// which are small; never for bulk reads.
import { lstatSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

// lstat without throwing for a name a layer does not have (most layers lack most names): an
// exception per miss is what made this slow
function isWhiteout(path: string): boolean {
  try {
    const st = lstatSync(path, { throwIfNoEntry: false })
    return !!st && st.isCharacterDevice() && st.rdev === 0
  } catch {
    return false // ENOTDIR (a parent is a file), EACCES
  }
}

/** Contents of `relPath` (e.g. "etc/passwd") in the merged view of `layers`, or undefined. */
export function readImageFile(layers: string[], relPath: string, maxBytes = 1 << 20): string | undefined {
  const parts = relPath.split('/').filter(Boolean)
  for (const layer of layers) {
    // A whiteout of the file or of any parent in this layer ends the search.
    let hidden = false
    for (let i = 1; i <= parts.length && !hidden; i++) hidden = isWhiteout(join(layer, ...parts.slice(0, i)))
    if (hidden) return undefined
    // A parent that is a symlink in a layer (etc -> /etc) would lead out to the host's files:
    // such a file is not read (the image's own /etc/passwd is then not found, as with no file).
    let linked = false
    for (let i = 1; i < parts.length && !linked; i++) {
      try {
        const st = lstatSync(join(layer, ...parts.slice(0, i)), { throwIfNoEntry: false })
        if (!st) break
        linked = st.isSymbolicLink()
      } catch {
        break
      }
    }
    if (linked) return undefined
    const path = join(layer, ...parts)
    try {
      const st = lstatSync(path, { throwIfNoEntry: false })
      if (!st) continue
      if (st.isSymbolicLink()) return undefined // never follow an image's link on the host
      if (!st.isFile() || st.size > maxBytes) return undefined
      return readFileSync(path, 'utf8')
    } catch {
      continue
    }
  }
  return undefined
}

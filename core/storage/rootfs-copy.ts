// The copying storage driver: a container's root filesystem as a real directory, made by copying
// the image's layers in order and applying their whiteouts. Runs inside the user namespace (the
// storage worker), so owners are kept. Does I/O.
//
// In a stored layer a whiteout is a 0/0 character device (the path is deleted), and an opaque
// directory is listed in layer.json (what lower layers had under it is hidden).
import {
  chmodSync, constants, copyFileSync, existsSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, readdirSync,
  readFileSync, readlinkSync, rmSync, symlinkSync, type Stats,
} from 'node:fs'
import { join } from 'node:path'

function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0
}

/** Copy one layer's `diff` tree over `dest`. */
function applyLayer(diff: string, dest: string, opaque: Set<string>): void {
  // a hard link inside the layer stays a hard link in the copy
  const links = new Map<string, string>()
  const walk = (rel: string) => {
    const src = join(diff, rel)
    for (const name of readdirSync(src)) {
      const r = rel ? `${rel}/${name}` : name
      const from = join(diff, r)
      const to = join(dest, r)
      const st = lstatSync(from)
      const old = lstatSync(to, { throwIfNoEntry: false })
      if (isWhiteout(st)) {
        if (old) rmSync(to, { recursive: true, force: true })
        continue
      }
      if (st.isDirectory()) {
        if (old && !old.isDirectory()) rmSync(to, { force: true })
        // an opaque directory hides what the layers below had in it
        else if (old && opaque.has(r)) rmSync(to, { recursive: true, force: true })
        if (!lstatSync(to, { throwIfNoEntry: false })) mkdirSync(to)
        walk(r)
        lchownSync(to, st.uid, st.gid)
        chmodSync(to, st.mode & 0o7777)
        lutimesSync(to, st.atime, st.mtime)
        continue
      }
      if (old) rmSync(to, { recursive: true, force: true })
      const key = `${st.dev}:${st.ino}`
      if (st.isFile() && st.nlink > 1 && links.has(key)) {
        linkSync(links.get(key)!, to)
        continue
      }
      if (st.isSymbolicLink()) {
        symlinkSync(readlinkSync(from), to)
      } else if (st.isFile()) {
        // a reflink where the filesystem can (btrfs, xfs), else a copy
        copyFileSync(from, to, constants.COPYFILE_FICLONE)
        if (st.nlink > 1) links.set(key, to)
      } else {
        continue // fifos and devices are not in stored layers but whiteouts
      }
      lchownSync(to, st.uid, st.gid)
      if (!st.isSymbolicLink()) chmodSync(to, st.mode & 0o7777)
      lutimesSync(to, st.atime, st.mtime)
    }
  }
  walk('')
}

/** `layers`: layer directories (each with diff/ and layer.json), base first. */
export function materializeLayers(layers: string[], dest: string): void {
  mkdirSync(dest, { recursive: true, mode: 0o755 })
  for (const layer of layers) {
    const meta = join(layer, 'layer.json')
    const opaque = existsSync(meta) ? new Set<string>((JSON.parse(readFileSync(meta, 'utf8')) as { opaque?: string[] }).opaque ?? []) : new Set<string>()
    // an opaque root: nothing of the layers below
    if (opaque.has('')) for (const n of readdirSync(dest)) rmSync(join(dest, n), { recursive: true, force: true })
    applyLayer(join(layer, 'diff'), dest, opaque)
  }
}

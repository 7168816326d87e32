// A container's changes as a layer: its overlay upper directory written as a tar archive in the
// layer format (OCI image spec, "Representing Changes"), inside the user namespace where the
// files' owners are the container's ids. Does I/O.
//
//   a 0/0 character device (overlay's whiteout)  → .wh.NAME, an empty file
//   a directory overlay marked opaque            → its entry, then DIR/.wh..wh..opq
//   `exclude` (skiff's mount points: /etc/hosts, /run/.containerenv, ... when the image lacked
//   them), and a directory that only held those or only was copied up unchanged → left out
//
// Entries are sorted by name; with `epoch` (SOURCE_DATE_EPOCH) no mtime is later than it.
import { spawnSync } from 'node:child_process'
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, type Stats } from 'node:fs'
import { join } from 'node:path'
import { SkiffError } from '../errors.js'
import { TarWriter, type TarEntry } from './tar-write.js'

export interface PackJob {
  op: 'pack'
  upper: string
  /** the image's layer directories (diff), top first: what "unchanged" is measured against */
  lowers: string[]
  /** paths relative to the root, e.g. "etc/hosts" */
  exclude: string[]
  out: string
  epoch?: number
  /** leave the upper directory as it is (commit of a container that goes on): the layer is unpacked from the archive */
  keepUpper?: boolean
}

/** The directories overlay marked opaque, asked of the shim (Node reads no extended attributes). */
function opaqueDirs(upper: string, dirs: string[]): Set<string> {
  if (!dirs.length) return new Set()
  const shim = process.env.SKIFF_SHIM
  if (!shim) throw new SkiffError('E_NO_SHIM', 'SKIFF_SHIM is not set in the storage worker', { hint: 'this is a bug in skiff' })
  const input = Buffer.from(dirs.map((d) => `opaque\0${d || '.'}\0`).join(''))
  const r = spawnSync(shim, ['fsops', upper], { input, encoding: 'utf8', maxBuffer: 64 << 20 })
  const found = new Set<string>()
  for (const line of (r.stdout || '').split('\n')) {
    if (!line) continue
    const msg = JSON.parse(line) as { type: string; path?: string; op?: string; errno?: number }
    if (msg.type === 'opaque') found.add(msg.path === '.' ? '' : msg.path!)
    else throw new SkiffError('E_FSOPS', `cannot read the layer's directories in ${upper}: ${line}`, { hint: 'this is a bug in skiff' })
  }
  if (r.status !== 0) throw new SkiffError('E_FSOPS', `cannot read the layer's directories in ${upper}: ${(r.stderr || '').trim()}`, { hint: 'this is a bug in skiff' })
  return found
}

function lowerStat(lowers: string[], rel: string): Stats | undefined {
  for (const l of lowers) {
    const st = lstatSync(join(l, rel), { throwIfNoEntry: false })
    if (st) return st
  }
  return undefined
}

/**
 * Writes the layer to job.out. Returns how many entries it has (0: the container changed
 * nothing), the opaque directories, and what of the upper directory the archive left out (the
 * top-most such paths): without them the upper directory is the layer's unpacked tree.
 */
export function packLayer(job: PackJob): { entries: number; opaque: string[]; drop: string[] } {
  const excluded = new Set(job.exclude.map((p) => p.replace(/^\/+/, '')))
  // walk once: every path, sorted, with its stat
  const items: { rel: string; st: Stats }[] = []
  const walk = (rel: string) => {
    for (const name of readdirSync(join(job.upper, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name
      const st = lstatSync(join(job.upper, path))
      items.push({ rel: path, st })
      if (st.isDirectory()) walk(path)
    }
  }
  walk('')
  const opaque = opaqueDirs(job.upper, items.filter((i) => i.st.isDirectory()).map((i) => i.rel))
  // what goes in: not excluded; a directory only when it holds something that goes, is opaque,
  // is new, or differs from the image's (mode, owner)
  const keep = new Set<string>()
  // directories with something kept below them
  const held = new Set<string>()
  const keepPath = (rel: string) => {
    keep.add(rel)
    for (let at = rel.lastIndexOf('/'); at > 0; at = rel.lastIndexOf('/', at - 1)) held.add(rel.slice(0, at))
  }
  for (let k = items.length - 1; k >= 0; k--) {
    const { rel, st } = items[k]!
    if (excluded.has(rel)) continue
    if (!st.isDirectory()) {
      keepPath(rel)
      continue
    }
    const low = lowerStat(job.lowers, rel)
    const holds = held.has(rel)
    const changed = !low || !low.isDirectory() || low.mode !== st.mode || low.uid !== st.uid || low.gid !== st.gid
    // a new directory that only held skiff's mount points was made for them
    const madeForMounts = !low && !holds && job.exclude.some((p) => p.startsWith(`${rel}/`))
    if (holds || opaque.has(rel) || (changed && !madeForMounts)) keepPath(rel)
  }
  const clamp = (t: number) => (job.epoch !== undefined && t > job.epoch ? job.epoch : t)
  const fd = openSync(job.out, 'w', 0o600)
  let count = 0
  try {
    const tar = new TarWriter(fd)
    const links = new Map<string, string>()
    for (const { rel, st } of items) {
      if (!keep.has(rel)) continue
      count++
      const base: Omit<TarEntry, 'name' | 'type'> = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: clamp(Math.floor(st.mtimeMs / 1000)) }
      if (st.isCharacterDevice() && st.rdev === 0) {
        const slash = rel.lastIndexOf('/')
        tar.entry({ ...base, name: `${rel.slice(0, slash + 1)}.wh.${rel.slice(slash + 1)}`, type: '0', mode: 0o644, uid: 0, gid: 0 })
      } else if (st.isDirectory()) {
        tar.entry({ ...base, name: `${rel}/`, type: '5' })
        if (opaque.has(rel)) tar.entry({ ...base, name: `${rel}/.wh..wh..opq`, type: '0', mode: 0o644, uid: 0, gid: 0 })
      } else if (st.isSymbolicLink()) {
        tar.entry({ ...base, name: rel, type: '2', linkname: readlinkSync(join(job.upper, rel)) })
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`
        const first = st.nlink > 1 ? links.get(key) : undefined
        if (first) tar.entry({ ...base, name: rel, type: '1', linkname: first })
        else {
          if (st.nlink > 1) links.set(key, rel)
          tar.entry({ ...base, name: rel, type: '0', size: st.size }, { path: join(job.upper, rel) })
        }
      } else if (st.isFIFO()) {
        tar.entry({ ...base, name: rel, type: '6' })
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        tar.entry({ ...base, name: rel, type: st.isCharacterDevice() ? '3' : '4', devmajor: Math.floor(st.rdev / 256) & 0xfff, devminor: (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00) })
      } else {
        count-- // a socket: not something an image holds
        keep.delete(rel)
      }
    }
    tar.end()
  } finally {
    closeSync(fd)
  }
  const parentKept = (rel: string) => rel.lastIndexOf('/') < 0 || keep.has(rel.slice(0, rel.lastIndexOf('/')))
  const drop = items.filter(({ rel }) => !keep.has(rel) && parentKept(rel)).map(({ rel }) => rel)
  return { entries: count, opaque: [...opaque], drop }
}

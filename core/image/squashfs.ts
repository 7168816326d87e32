// Single-file images: an image's root filesystem in one squashfs file, with its config inside
// (/.skiff/config.json, the OCI image config as stored). `skiff save --format squashfs` writes one
// (mksquashfs, in the user namespace, over the image's layers copied into one tree); `skiff run
// FILE.sqsh` (or sqsh:PATH) runs one without unpacking: the shim's waiter mounts it with squashfuse
// in the container's mount namespace as the overlay's lower layer. The file is only read: many
// ranks on many nodes may run it from a read-only shared directory. Does I/O.
import { spawnSync } from 'node:child_process'
import { closeSync, mkdirSync, openSync, readFileSync, readSync, statSync } from 'node:fs'
import { writeFileAtomic } from '../lock.js'
import { isAbsolute, join, resolve } from 'node:path'
import { SkiffError, errnoText } from '../errors.js'
import { sha256 } from '../digest.js'
import { findExecutable } from '../host/tools.js'
import { findImage, layerDir, type OciImageConfig, type Store } from '../storage/store.js'

/** Where a single-file image keeps its config, inside the squashfs. */
export const CONFIG_PATH = '.skiff/config.json'

/** The file named by an image argument that is a single-file image (sqsh:PATH, or a path ending .sqsh/.squashfs); else undefined. */
export function squashfsPath(ref: string): string | undefined {
  if (ref.startsWith('sqsh:')) return resolve(ref.slice(5))
  const pathLike = isAbsolute(ref) || ref.startsWith('./') || ref.startsWith('../')
  return pathLike && /\.(sqsh|squashfs)$/.test(ref) ? resolve(ref) : undefined
}

function tool(name: 'mksquashfs' | 'unsquashfs' | 'squashfuse'): string {
  const path = findExecutable(name)
  if (!path) {
    throw new SkiffError('E_NO_TOOL', `${name} is not installed: single-file images need it`, {
      hint: name === 'squashfuse' ? 'apt-get install squashfuse (dnf install squashfuse)' : 'apt-get install squashfs-tools (dnf install squashfs-tools)',
    })
  }
  return path
}

export interface SquashfsImage {
  /** the file, absolute */
  file: string
  /** stands for the image in records: the file's identity (path, device, inode, size, time), not its digest (reading 1 GB would cost seconds) */
  id: string
  config: OciImageConfig
  /** its /etc/passwd and /etc/group (for --user and keep-id) */
  passwd?: string
  group?: string
}

/** A file from inside the squashfs (unsquashfs -cat), or undefined when it has none. */
export function squashfsFile(file: string, path: string, maxBytes = 1 << 20): string | undefined {
  const r = spawnSync(tool('unsquashfs'), ['-cat', file, path], { maxBuffer: maxBytes, encoding: 'utf8' })
  return r.status === 0 ? r.stdout : undefined
}

/**
 * Open a single-file image: a readable squashfs with skiff's config inside. What a run reads from
 * it (config, passwd, group: three unsquashfs runs, ~35 ms here) is kept in `cacheDir` under the
 * file's identity, so that the next run of the same file reads one small JSON file instead.
 */
export function readSquashfsImage(file: string, cacheDir: string): SquashfsImage {
  let st
  let magic = Buffer.alloc(4)
  try {
    st = statSync(file)
    const fd = openSync(file, 'r')
    try {
      readSync(fd, magic, 0, 4, 0)
    } finally {
      closeSync(fd)
    }
  } catch (err) {
    throw new SkiffError('E_NO_IMAGE', `single-file image ${file}: ${errnoText(err)}`, { hint: 'name a .sqsh file you may read (skiff save --format squashfs makes one)', cause: err })
  }
  if (!st.isFile() || magic.toString('latin1') !== 'hsqs') {
    throw new SkiffError('E_NO_IMAGE', `${file} is not a squashfs file`, { hint: 'make one with skiff save --format squashfs -o FILE IMAGE' })
  }
  const id = `sqsh:${sha256(`${file}\0${st.dev}\0${st.ino}\0${st.size}\0${st.mtimeMs}`).slice(-24)}`
  const cached = join(cacheDir, `${id.slice(5)}.json`)
  try {
    const c = JSON.parse(readFileSync(cached, 'utf8')) as SquashfsImage
    if (c.file === file && c.id === id && c.config) return c
  } catch {}
  const text = squashfsFile(file, CONFIG_PATH)
  let config: OciImageConfig | undefined
  try {
    config = text === undefined ? undefined : (JSON.parse(text) as OciImageConfig)
  } catch {}
  if (!config || typeof config !== 'object') {
    throw new SkiffError('E_NO_IMAGE', `${file} has no image config (/${CONFIG_PATH})`, { hint: 'make the file with skiff save --format squashfs, which keeps the config with the root filesystem' })
  }
  const image: SquashfsImage = { file, id, config, passwd: squashfsFile(file, 'etc/passwd'), group: squashfsFile(file, 'etc/group') }
  try {
    mkdirSync(cacheDir, { recursive: true, mode: 0o700 })
    writeFileAtomic(cached, JSON.stringify(image), 0o600, false)
  } catch {} // only a cache
  return image
}

/** squashfuse as the waiter runs it: in the foreground, at `target`; `owner` shows every file as that id (a single mapped id). */
export function squashfuseMount(file: string, target: string, owner?: { uid: number; gid: number }): { args: string[]; target: string } {
  // allow_other: the container's users are other ids than the daemon's (the namespace's root)
  const args = [tool('squashfuse'), '-f', '-o', 'allow_other,kernel_cache,entry_timeout=86400,attr_timeout=86400,negative_timeout=86400']
  if (owner) args.push('-o', `uid=${owner.uid},gid=${owner.gid}`)
  return { args: [...args, file, target], target }
}

/** mksquashfs's arguments: `src` (the image's tree) → `out`, zstd, no progress meter, all processors. */
export function mksquashfsArgs(src: string, out: string): string[] {
  return [src, out, '-noappend', '-comp', 'zstd', '-no-progress', '-quiet']
}

export const mksquashfs = () => tool('mksquashfs')

/**
 * save --format squashfs: the image's layers as one tree, with its config, into a squashfs at
 * `out` (a file skiff made and may write). Done in the user namespace, where the layers' owners
 * are the image's own ids, so the file keeps them.
 */
export async function writeSquashfsImage(store: Store, ref: string, out: string): Promise<void> {
  const image = await findImage(store, ref)
  const program = mksquashfs()
  const dest = join(store.root, 'tmp', `squashfs-${process.pid}-${Date.now().toString(36)}`)
  const { runSelfInUserns } = await import('../launch/in-userns.js')
  await runSelfInUserns(['__storage'], JSON.stringify([{
    op: 'squashfs',
    layers: image.layers.map((l) => layerDir(store, l.diffID)),
    dest,
    config: JSON.stringify(image.config),
    argv: [program, ...mksquashfsArgs(dest, out)],
  }]))
}

// Storage: where skiff keeps images, runtime state and its cache, on which filesystem, and what
// the union filesystem can be (kernel overlay in a user namespace, fuse-overlayfs, /dev/fuse).
// gather… functions do I/O (statfs, stat); fsTypeName and judge… functions are pure.
import { realpathSync, statSync, statfsSync } from 'node:fs'
import { dirname } from 'node:path'
import { resolvePaths } from '../paths.js'
import { fallbackMemo, unsafeReason } from '../private-dir.js'
import { versionAtLeast } from './kernel.js'
import { mountFor, type MountEntry } from './mounts.js'
import type { HostContext, ProbeItem } from './types.js'
import { describeDevice, deviceAccess, deviceFix, findExecutable, readText, shellQuote, toolVersion, type DeviceAccess } from './tools.js'

/** statfs(2) f_type → name (linux/magic.h and the filesystems' own headers). */
const FS_MAGIC: Record<number, string> = {
  0xef53: 'ext4', // also ext2 and ext3
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x01021994: 'tmpfs',
  0x858458f6: 'ramfs',
  0x794c7630: 'overlay',
  0x2fc12fc1: 'zfs',
  0xf2f52010: 'f2fs',
  0xca451a4e: 'bcachefs',
  0x4d44: 'vfat',
  0x2011bab0: 'exfat',
  0x5346544e: 'ntfs',
  0x73717368: 'squashfs',
  0x65735546: 'fuse',
  0x6969: 'nfs',
  0x0bd00bd0: 'lustre',
  0x47504653: 'gpfs',
  0xff534d42: 'cifs',
  0xfe534d42: 'smb2',
  0x00c36400: 'ceph',
  0x01161970: 'gfs2',
  0x7461636f: 'ocfs2',
  0x19830326: 'beegfs',
  0xaad7aaea: 'panfs',
  0x5346414f: 'afs',
  0x01021997: '9p',
}

/** fsTypeName(0x6969) → 'nfs'; an unknown magic → '0x12345'. */
export function fsTypeName(magic: number): string {
  return FS_MAGIC[magic >>> 0] ?? `0x${(magic >>> 0).toString(16)}`
}

/**
 * Network and parallel filesystems: overlay upper directories fail on them, and a directory per
 * layer makes metadata storms on the shared servers. Names from statfs or mountinfo.
 */
const NETWORK_FS = /^(nfs\d?|lustre|gpfs|cifs|smb\d?|ceph|gfs2|ocfs2|beegfs|panfs|afs|fuse\.(sshfs|glusterfs|gcsfuse|s3fs|rclone|cephfs|beegfs))$/

export function isNetworkFs(name: string): boolean {
  return NETWORK_FS.test(name)
}

export interface DirFacts {
  path: string
  /** the directory statted: `path` itself or its nearest existing parent */
  probed: string
  exists: boolean
  /** owner uid of `path` when it exists */
  owner?: number
  /** from statfs: a name, or the magic number in hex */
  fsType: string
  /** the mount's own type name (e.g. nfs4, fuse.sshfs): finer than the magic number */
  mountType?: string
  /** per-mount options: ro, noexec, nosuid, ... */
  mountOptions: string[]
  freeBytes?: number
}

export function gatherDir(path: string, mounts: MountEntry[]): DirFacts {
  let probed = path
  let exists = true
  for (;;) {
    try {
      statSync(probed)
      break
    } catch {
      exists = false
      const up = dirname(probed)
      if (up === probed) break
      probed = up
    }
  }
  const facts: DirFacts = { path, probed, exists, fsType: 'unknown', mountOptions: [] }
  try {
    const st = statfsSync(probed)
    facts.fsType = fsTypeName(st.type)
    facts.freeBytes = st.bavail * st.bsize
  } catch {}
  if (exists) {
    try {
      facts.owner = statSync(path).uid
    } catch {}
  }
  try {
    const m = mountFor(realpathSync(probed), mounts)
    if (m) {
      facts.mountType = m.fstype
      facts.mountOptions = m.options
    }
  } catch {}
  return facts
}

/** 13421772800 → "12.5 GiB" */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`
}

function dirDetails(d: DirFacts): Record<string, unknown> {
  return { path: d.path, exists: d.exists, fsType: d.fsType, mountType: d.mountType ?? null, mountOptions: d.mountOptions, freeBytes: d.freeBytes ?? null, owner: d.owner ?? null }
}

/** "ext4" or "fuse.sshfs": the mount's name when statfs only says fuse or an unknown magic. */
function typeOf(d: DirFacts): string {
  return d.mountType && (d.fsType === 'fuse' || d.fsType.startsWith('0x') || d.fsType === 'unknown') ? d.mountType : d.fsType
}

const LOW_SPACE = 1024 ** 3

export function judgeStorage(d: DirFacts, ctx: Pick<HostContext, 'uid' | 'user'>): ProbeItem {
  const type = typeOf(d)
  const free = d.freeBytes !== undefined ? `, ${formatBytes(d.freeBytes)} free` : ''
  const value = `${d.path} (${type}${free}${d.exists ? '' : ', not created yet'})`
  const item = (status: ProbeItem['status'], v: string, fix?: string): ProbeItem => ({ id: 'storage', name: 'storage', section: 'storage', status, value: v, fix, details: { ...dirDetails(d), network: isNetworkFs(type) || isNetworkFs(d.mountType ?? '') } })
  const local = `export SKIFF_ROOT=/tmp/${shellQuote(ctx.user)}/skiff (node-local disk; put it in your shell profile)`
  if (d.exists && d.owner !== undefined && d.owner !== ctx.uid) return item('error', `${value}: owned by uid ${d.owner}, not you`, local)
  if (d.mountOptions.includes('ro')) return item('error', `${value}: read-only mount`, local)
  if (isNetworkFs(type) || isNetworkFs(d.mountType ?? '')) {
    return item('warning', `${value}: a network filesystem, where overlay upper directories fail and layers strain the servers`, local)
  }
  if (type === 'overlay') return item('warning', `${value}: on overlayfs (inside a container?), which kernel overlay cannot stack on`, 'export SKIFF_ROOT=/a/directory/on/a/real/filesystem (in a container: a volume)')
  if (d.freeBytes !== undefined && d.freeBytes < LOW_SPACE) return item('warning', `${value}: low on space`, 'free space there, or `skiff image prune -a`, or move storage with SKIFF_ROOT')
  return item('ok', value)
}

/** The runtime directory and, when set, whether XDG_RUNTIME_DIR is this user's. */
export interface RuntimeFacts {
  dir: DirFacts
  xdgRuntimeDir?: string
  /** XDG_RUNTIME_DIR exists, is a directory and belongs to the user */
  xdgOwned: boolean
  /** the directory exists and is not safe for skiff (core/private-dir.ts): why */
  unsafe?: string
  /** the fallback skiff picked instead of an unsafe one in $TMPDIR, as remembered in the cache */
  replacement?: string
  /** the directory is the fallback in $TMPDIR (not SKIFF_RUNROOT's or XDG_RUNTIME_DIR's) */
  inTmp?: boolean
}

export function gatherRuntime(path: string, ctx: Pick<HostContext, 'env' | 'mounts' | 'uid'>): RuntimeFacts {
  const xdg = ctx.env.XDG_RUNTIME_DIR || undefined
  let xdgOwned = false
  if (xdg) {
    try {
      const st = statSync(xdg)
      xdgOwned = st.isDirectory() && st.uid === ctx.uid
    } catch {}
  }
  const paths = resolvePaths(ctx.env, ctx.uid)
  const why = unsafeReason(path, ctx.uid)
  const facts: RuntimeFacts = { dir: gatherDir(path, ctx.mounts), xdgRuntimeDir: xdg, xdgOwned, ...(paths.runtimeInTmp ? { inTmp: true } : {}) }
  if (why && why !== 'missing') {
    facts.unsafe = why
    const memo = readText(fallbackMemo(paths.cache, 'run'))?.trim()
    if (memo && memo.startsWith(`${path}-`) && unsafeReason(memo, ctx.uid) === undefined) facts.replacement = memo
  }
  return facts
}

export function judgeRuntime(r: RuntimeFacts, ctx: Pick<HostContext, 'uid' | 'env'>): ProbeItem {
  const d = r.dir
  const details = { ...dirDetails(d), xdgRuntimeDir: r.xdgRuntimeDir ?? null, xdgRuntimeDirOwned: r.xdgOwned }
  const item = (status: ProbeItem['status'], value: string, fix?: string): ProbeItem => ({ id: 'runtime', name: 'runtime', section: 'storage', status, value, fix, details })
  const value = `${d.path} (${typeOf(d)})`
  if (r.unsafe && r.inTmp) {
    // another user made it first (or a symlink is there): skiff uses a private one beside it
    const instead = r.replacement ? `skiff uses ${r.replacement} instead` : 'skiff makes a private one beside it when it needs one'
    return item('warning', `${value}: not safe to use (${r.unsafe}, made by someone else first?); ${instead}`, 'log in so that XDG_RUNTIME_DIR is set (ssh, machinectl shell), or export SKIFF_RUNROOT to a directory of yours (mode 0700)')
  }
  if (r.unsafe) {
    return item('error', `${value}: not safe to use (${r.unsafe})`, 'export SKIFF_RUNROOT to a directory of yours (mode 0700), or log in so that XDG_RUNTIME_DIR is set (ssh, machinectl shell)')
  }
  if (r.xdgRuntimeDir && !r.xdgOwned && !ctx.env.SKIFF_RUNROOT) {
    return item('warning', `${value}: XDG_RUNTIME_DIR=${r.xdgRuntimeDir} is not yours (after su or sudo?)`, 'log in as yourself (ssh, or machinectl shell USER@) for a proper XDG_RUNTIME_DIR; skiff uses the directory above meanwhile')
  }
  return item('ok', r.xdgRuntimeDir || ctx.env.SKIFF_RUNROOT ? value : `${value}; XDG_RUNTIME_DIR is not set`)
}

export function judgeCache(d: DirFacts, ctx: Pick<HostContext, 'uid'>): ProbeItem {
  const item = (status: ProbeItem['status'], value: string, fix?: string): ProbeItem => ({ id: 'cache', name: 'cache', section: 'storage', status, value, fix, details: dirDetails(d) })
  const value = `${d.path} (${typeOf(d)})`
  // skiff runs its shim from here: a noexec mount stops every container
  if (d.mountOptions.includes('noexec')) return item('error', `${value}: mounted noexec, so skiff's shim cannot run from it`, 'export XDG_CACHE_HOME=/path/on/an/exec/mount (e.g. /var/tmp/$USER/cache)')
  if (d.exists && d.owner !== undefined && d.owner !== ctx.uid) return item('error', `${value}: owned by uid ${d.owner}, not you`, 'export XDG_CACHE_HOME to a directory of your own')
  return item('ok', value)
}

export interface UnionFsFacts {
  /** "overlay" is listed in /proc/filesystems (it may also load on first use) */
  overlayListed: boolean
  fuseOverlayfs?: { path: string; version?: string }
  devFuse: DeviceAccess
}

export async function gatherUnionFs(ctx: Pick<HostContext, 'env'>): Promise<UnionFsFacts> {
  const path = findExecutable('fuse-overlayfs', ctx.env)
  const version = path ? await toolVersion(path, 'fuse-overlayfs') : undefined
  return {
    overlayListed: /\boverlay$/m.test(readText('/proc/filesystems') ?? ''),
    fuseOverlayfs: path ? { path, version } : undefined,
    devFuse: deviceAccess('/dev/fuse'),
  }
}

/** Kernel overlay mounts are allowed in a user namespace since Linux 5.11 ("ovl: unprivileged mounts"). */
export const OVERLAY_USERNS_SINCE = '5.11'

export function judgeOverlay(u: Pick<UnionFsFacts, 'overlayListed'>, ctx: Pick<HostContext, 'kernelRelease'>): ProbeItem {
  const yes = versionAtLeast(ctx.kernelRelease, OVERLAY_USERNS_SINCE)
  const details = { kernelSupports: yes, overlayListed: u.overlayListed, tested: false }
  if (yes) return { id: 'overlay', name: 'overlay in userns', section: 'storage', status: 'ok', value: `kernel supports it (>= ${OVERLAY_USERNS_SINCE})`, details }
  return {
    id: 'overlay',
    name: 'overlay in userns',
    section: 'storage',
    status: 'warning',
    value: `unknown: kernel ${ctx.kernelRelease} is older than ${OVERLAY_USERNS_SINCE} (some distributions backport it)`,
    fix: 'install fuse-overlayfs (Debian/Ubuntu: sudo apt install fuse-overlayfs; Fedora/RHEL: sudo dnf install fuse-overlayfs), or boot a kernel >= 5.11',
    details,
  }
}

export function judgeFuseOverlayfs(u: Pick<UnionFsFacts, 'fuseOverlayfs'>, ctx: Pick<HostContext, 'kernelRelease'>): ProbeItem {
  const needed = !versionAtLeast(ctx.kernelRelease, OVERLAY_USERNS_SINCE)
  const f = u.fuseOverlayfs
  const details = { path: f?.path ?? null, version: f?.version ?? null, needed }
  const item = (status: ProbeItem['status'], value: string, fix?: string): ProbeItem => ({ id: 'fuseOverlayfs', name: 'fuse-overlayfs', section: 'storage', status, value, fix, details })
  if (f) return item('ok', `${f.path}${f.version ? ` (${f.version})` : ''}`)
  if (!needed) return item('ok', 'not installed (not needed: kernel overlay)')
  return item('warning', 'not installed, and the kernel may lack overlay in user namespaces', 'Debian/Ubuntu: sudo apt install fuse-overlayfs; Fedora/RHEL: sudo dnf install fuse-overlayfs')
}

export function judgeDevFuse(u: Pick<UnionFsFacts, 'devFuse' | 'fuseOverlayfs'>, ctx: Pick<HostContext, 'kernelRelease'>): ProbeItem {
  const d = u.devFuse
  const needed = !!u.fuseOverlayfs || !versionAtLeast(ctx.kernelRelease, OVERLAY_USERNS_SINCE)
  const details = { path: d.path, exists: d.exists, mode: d.mode ?? null, usable: d.usable, error: d.error ?? null }
  const base = { id: 'devFuse', name: '/dev/fuse', section: 'storage' as const, details }
  if (d.usable) return { ...base, status: 'ok', value: describeDevice(d) }
  if (!needed) return { ...base, status: 'ok', value: `${describeDevice(d)} (needed only by fuse-overlayfs)` }
  return { ...base, status: 'warning', value: `${describeDevice(d)}: fuse-overlayfs cannot work`, fix: deviceFix(d, 'fuse') }
}

/** The directories skiff uses, resolved as every command resolves them. */
export function skiffDirs(ctx: Pick<HostContext, 'env' | 'uid'>): { storage: string; runtime: string; cache: string; storageNote?: string } {
  return resolvePaths(ctx.env, ctx.uid)
}

/** The driver new containers get, and why; a configured driver that cannot work is an error. */
export async function judgeStorageDriver(choose: () => Promise<{ driver: string; reason: string }>): Promise<ProbeItem> {
  const base = { id: 'storageDriver', name: 'storage driver', section: 'storage' as const }
  try {
    const c = await choose()
    const status = c.driver === 'copy' ? 'warning' : 'ok'
    return {
      ...base,
      status,
      value: `${c.driver} (${c.reason})`,
      fix: status === 'warning' ? 'install fuse-overlayfs (sudo apt install fuse-overlayfs) for containers that start without copying their image' : undefined,
      details: { driver: c.driver, reason: c.reason },
    }
  } catch (err) {
    const e = err as Error & { hint?: string }
    return { ...base, status: 'error', value: e.message, fix: e.hint, details: { driver: null, reason: e.message } }
  }
}

// Storage drivers for containers' root filesystems: kernel overlayfs in the user namespace, else
// fuse-overlayfs, else a copy. The choice (pure) and its reason; the one-time probe of the kernel's
// overlay (cached per kernel); the root filesystem plan of each driver. Does I/O where marked.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { release } from 'node:os'
import { join, relative } from 'node:path'
import { SkiffError } from '../errors.js'
import type { FuseMount, RootfsPlan } from '../plan.js'

export type Driver = 'overlay' | 'fuse-overlayfs' | 'copy'
export const DRIVERS: Driver[] = ['overlay', 'fuse-overlayfs', 'copy']

/**
 * storage.conf, in the spirit of containers-storage.conf: `driver = "overlay"` (TOML-like;
 * comments with #, an optional [storage] table). Pure.
 *   parseStorageConf('[storage]\ndriver = "copy"  # slow\n') → { driver: 'copy' }
 */
export function parseStorageConf(text: string): { driver?: string; additionalImageStores?: string[] } {
  const out: { driver?: string; additionalImageStores?: string[] } = {}
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim()
    const m = /^driver\s*=\s*"([^"]*)"$/.exec(line) ?? /^driver\s*=\s*'([^']*)'$/.exec(line)
    if (m) out.driver ??= m[1]
    // additionalimagestores = [ "/a", "/b" ] (on one line)
    const a = /^additionalimagestores\s*=\s*\[(.*)\]$/i.exec(line)
    if (a) out.additionalImageStores = [...a[1]!.matchAll(/"([^"]*)"|'([^']*)'/g)].map((x) => x[1] ?? x[2]!)
  }
  return out
}

export interface DriverFacts {
  /** asked for: flag, SKIFF_STORAGE_DRIVER, or storage.conf (with where it came from) */
  requested?: { driver: string; from: string }
  /** the cached probe of the kernel's overlay in a user namespace */
  overlay?: { works: boolean; error?: string }
  fuseOverlayfs?: string
  devFuse: boolean
}

/** The driver and why. Pure. */
export function chooseDriver(f: DriverFacts): { driver: Driver; reason: string } {
  if (f.requested) {
    const d = f.requested.driver as Driver
    if (!DRIVERS.includes(d)) {
      throw new SkiffError('E_DRIVER', `unknown storage driver ${JSON.stringify(f.requested.driver)} (from ${f.requested.from})`, { hint: `use one of ${DRIVERS.join(', ')}` })
    }
    if (d === 'fuse-overlayfs' && !f.fuseOverlayfs) {
      throw new SkiffError('E_DRIVER', `storage driver fuse-overlayfs (from ${f.requested.from}) is not installed`, { hint: 'Debian/Ubuntu: sudo apt install fuse-overlayfs; Fedora: sudo dnf install fuse-overlayfs' })
    }
    return { driver: d, reason: `set by ${f.requested.from}` }
  }
  if (f.overlay?.works !== false) return { driver: 'overlay', reason: 'the kernel mounts overlayfs in user namespaces' }
  const why = `the kernel's overlayfs does not work here (${f.overlay.error ?? 'failed'})`
  if (f.fuseOverlayfs && f.devFuse) return { driver: 'fuse-overlayfs', reason: `${why}; fuse-overlayfs is installed` }
  return { driver: 'copy', reason: `${why}, and fuse-overlayfs ${f.fuseOverlayfs ? 'cannot open /dev/fuse' : 'is not installed'}: each container gets a copy of its image` }
}

/** What the user asked for, nearest first: the flag, the environment, the config file. Does I/O. */
export function requestedDriver(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): DriverFacts['requested'] {
  if (flag) return { driver: flag, from: '--storage-driver' }
  if (env.SKIFF_STORAGE_DRIVER) return { driver: env.SKIFF_STORAGE_DRIVER, from: 'SKIFF_STORAGE_DRIVER' }
  const conf = join(env.XDG_CONFIG_HOME || join(env.HOME || '/', '.config'), 'skiff', 'storage.conf')
  try {
    const d = parseStorageConf(readFileSync(conf, 'utf8')).driver
    if (d) return { driver: d, from: conf }
  } catch {}
  return undefined
}

export interface OverlayProbe {
  kernel: string
  works: boolean
  error?: string
}

/**
 * Whether the kernel's overlay works for this store, once per kernel: a mount of two lower
 * layers, an upper layer and userxattr in a user namespace, and a file read through it. Does I/O.
 */
export async function probeOverlay(storage: string, tmp: string): Promise<OverlayProbe> {
  const cache = join(storage, 'overlay-probe.json')
  try {
    const c = JSON.parse(readFileSync(cache, 'utf8')) as OverlayProbe
    if (c.kernel === release()) return c
  } catch {}
  // a fresh name (mkdtemp, 0700): `tmp` is /tmp when there is no store yet, where a predictable
  // name could be someone else's directory or symlink first
  mkdirSync(tmp, { recursive: true, mode: 0o700 }) // a store's tmp/ may not be made yet
  const dir = mkdtempSync(join(tmp, `probe-${process.pid}-overlay-`)) // (the pid: sweepStaleCreates)
  for (const d of ['l1', 'l2', 'upper', 'work', 'merged']) mkdirSync(join(dir, d), { recursive: true, mode: 0o755 })
  writeFileSync(join(dir, 'l1', 'probe'), 'ok\n', { mode: 0o644 })
  let result: OverlayProbe
  try {
    const { launch } = await import('../launch/launch.js')
    const { hostIdMap } = await import('../launch/identity.js')
    const { capabilityNumbers } = await import('../launch/capabilities.js')
    const all = capabilityNumbers(['ALL'])
    const r = await launch({
      version: 1,
      idmap: hostIdMap().plan,
      namespaces: ['mount'],
      rootfs: { kind: 'overlay', layersDir: dir, lowerdirs: ['l2', 'l1'], upperdir: join(dir, 'upper'), workdir: join(dir, 'work'), target: join(dir, 'merged'), options: ['userxattr'] },
      rootPropagation: 'rprivate',
      mounts: [],
      process: { args: ['tar-out', '/probe', 'probe'], builtin: true, env: [], cwd: '/', uid: 0, gid: 0, additionalGids: [], terminal: false, stdin: false, noNewPrivileges: true, capabilities: { bounding: all, effective: all, permitted: all, inheritable: [], ambient: [] } },
    }, { stdio: ['ignore', 'pipe', 'pipe'] })
    result = r.status === 0 && (r.stdout ?? '').includes('ok\n') ? { kernel: release(), works: true } : { kernel: release(), works: false, error: `status ${r.status}` }
  } catch (err) {
    result = { kernel: release(), works: false, error: (err as Error).message }
  } finally {
    // overlay leaves work/work with mode 0: open it up first
    try {
      chmodSync(join(dir, 'work', 'work'), 0o700)
    } catch {}
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    writeFileSync(cache, JSON.stringify(result))
  } catch {}
  return result
}

/**
 * The root filesystem of a container in `dir` for `driver`; `layerDirs` top-most first.
 * `once`: the container is mounted for one run and then removed (--rm). Kernel overlay then
 * mounts `volatile`: unmounting an overlay otherwise syncs the whole filesystem under its upper
 * directory (the container's end waited 0.6 s behind 1.5 GB of someone else's unwritten data
 * here), and a --rm container's files are not worth that. A volatile overlay cannot be mounted
 * again (the kernel refuses while work/incompat/volatile exists): see `mountableAgain`. Every
 * kernel with `userxattr` (5.11) has `volatile` (5.10).
 */
export function rootfsPlan(driver: Driver, layersDir: string, layerDirs: string[], dir: string, fuseOverlayfs?: string, once = false): RootfsPlan {
  const lowerdirs = layerDirs.map((d) => relative(layersDir, d))
  if (driver === 'copy') return { kind: 'bind', source: join(dir, 'rootfs'), target: join(dir, 'merged'), readonly: false }
  if (driver === 'fuse-overlayfs') {
    const plan = { kind: 'fuse-overlayfs' as const, program: fuseOverlayfs!, layersDir, lowerdirs, upperdir: join(dir, 'upper'), workdir: join(dir, 'work'), target: join(dir, 'merged') }
    return { ...plan, fuse: [fuseOverlayfsMount(plan)] }
  }
  return { kind: 'overlay', layersDir, lowerdirs, upperdir: join(dir, 'upper'), workdir: join(dir, 'work'), target: join(dir, 'merged'), options: once ? ['userxattr', 'volatile'] : ['userxattr'] }
}

/** fuse-overlayfs as the waiter runs it: lower dirs relative to the layers directory (its working directory), as for the kernel's overlay. */
export function fuseOverlayfsMount(r: { program: string; layersDir: string; lowerdirs: string[]; upperdir: string; workdir: string; target: string; squash?: { uid: number; gid: number } }): FuseMount {
  const squash = r.squash ? `,squash_to_uid=${r.squash.uid},squash_to_gid=${r.squash.gid}` : ''
  return { args: [r.program, '-f', '-o', `lowerdir=${r.lowerdirs.join(':')},upperdir=${r.upperdir},workdir=${r.workdir}${squash}`, r.target], target: r.target, cwd: r.layersDir }
}

/** The plan of a root filesystem to mount outside its run (cp into a created --rm container): never volatile. */
export function mountableAgain(rootfs: RootfsPlan): RootfsPlan {
  return rootfs.kind === 'overlay' ? { ...rootfs, options: rootfs.options.filter((o) => o !== 'volatile') } : rootfs
}

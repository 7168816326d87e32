// A cgroup per container, in the cgroup v2 subtree delegated to the user or in a systemd scope of
// its own, with the limits asked for; or none, and then a limit that was asked for is an error
// (never silently dropped).
// limitFiles and the parsers are pure; prepareCgroup does I/O.
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { SkiffError } from '../errors.js'
import type { CgroupScopePlan } from '../plan.js'
import type { CgroupFacts } from '../host/cgroup.js'
import type { ProbeItem } from '../host/types.js'

export interface Limits {
  /** --memory, bytes */
  memory?: number
  /** --memory-reservation, bytes (memory.low) */
  memoryReservation?: number
  /** --memory-swap, bytes of memory + swap (Docker's meaning); -1 unlimited */
  memorySwap?: number
  /** --cpus, e.g. 1.5 */
  cpus?: number
  /** --cpu-shares (cgroup v1 units, 2-262144) */
  cpuShares?: number
  /** --cpu-weight (1-10000) */
  cpuWeight?: number
  cpusetCpus?: string
  cpusetMems?: string
  /** --pids-limit; -1 unlimited */
  pidsLimit?: number
  /** --blkio-weight (10-1000) */
  blkioWeight?: number
  /** --cgroup-conf key=value, written as they are */
  conf: Record<string, string>
}

const PERIOD = 100_000

/**
 * The cgroup v2 files and values for `l`, as runc/crun convert Docker's flags.
 *   limitFiles({ memory: 64 << 20, cpus: 1.5, conf: {} }) → { 'memory.max': '67108864', 'cpu.max': '150000 100000' }
 */
export function limitFiles(l: Limits): Record<string, string> {
  const f: Record<string, string> = {}
  if (l.memory !== undefined) f['memory.max'] = String(l.memory)
  if (l.memoryReservation !== undefined) f['memory.low'] = String(l.memoryReservation)
  if (l.memorySwap !== undefined) {
    if (l.memorySwap === -1) f['memory.swap.max'] = 'max'
    else {
      if (l.memory === undefined || l.memorySwap < l.memory) {
        throw new SkiffError('E_USAGE', '--memory-swap is memory plus swap: it needs --memory, and must not be smaller', { hint: 'e.g. --memory 512m --memory-swap 1g (512 MB of swap), or --memory-swap -1 for unlimited swap' })
      }
      f['memory.swap.max'] = String(l.memorySwap - l.memory)
    }
  }
  if (l.cpus !== undefined) f['cpu.max'] = `${Math.round(l.cpus * PERIOD)} ${PERIOD}`
  if (l.cpuShares !== undefined) f['cpu.weight'] = String(1 + Math.floor(((Math.min(Math.max(l.cpuShares, 2), 262144) - 2) * 9999) / 262142))
  if (l.cpuWeight !== undefined) f['cpu.weight'] = String(l.cpuWeight)
  if (l.cpusetCpus !== undefined) f['cpuset.cpus'] = l.cpusetCpus
  if (l.cpusetMems !== undefined) f['cpuset.mems'] = l.cpusetMems
  if (l.pidsLimit !== undefined) f['pids.max'] = l.pidsLimit <= 0 ? 'max' : String(l.pidsLimit)
  if (l.blkioWeight !== undefined) f['io.weight'] = `default ${l.blkioWeight}`
  for (const [k, v] of Object.entries(l.conf)) {
    if (!/^[a-z]+\.[a-z_.]+$/.test(k)) throw new SkiffError('E_USAGE', `--cgroup-conf ${k}: not a cgroup v2 file name`, { hint: 'e.g. --cgroup-conf memory.high=200M' })
    f[k] = v
  }
  return f
}

/** The controllers the files need: memory.max → memory. */
export function controllersFor(files: Record<string, string>): string[] {
  return [...new Set(Object.keys(files).map((k) => k.slice(0, k.indexOf('.'))))].sort()
}

/** "0.5" → 0.5; an error says what --cpus takes. */
export function parseCpus(text: string): number {
  const n = Number(text)
  if (!/^\d+(\.\d+)?$/.test(text) || n <= 0) throw new SkiffError('E_USAGE', `--cpus ${text}: expected a positive number of CPUs`, { hint: 'e.g. --cpus 1.5' })
  return n
}

export interface CgroupChoice {
  /** the container's cgroup directory, made here, in a subtree delegated to the user */
  path?: string
  /**
   * Under systemd without such a subtree: run the shim in a scope of its own, which it splits into
   * supervisor and container (see CgroupScopePlan); `wrap` is the command that makes the scope.
   */
  scope?: CgroupScopePlan
  wrap?: string[]
  /** said to the user when limits were asked for but --cgroups=disabled */
  warning?: string
}

let here: Promise<{ facts: CgroupFacts; judged: ProbeItem }> | undefined

/**
 * This process's cgroup facts and their verdict (direct, systemd or none), gathered once: `run`
 * asks at create, for its early shim and at start.
 */
function cgroupsHere(): Promise<{ facts: CgroupFacts; judged: ProbeItem }> {
  return (here ??= (async () => {
    const { gatherCgroups, judgeCgroups } = await import('../host/cgroup.js')
    const { readMountinfo } = await import('../host/mounts.js')
    const uid = process.getuid!()
    const facts = gatherCgroups({ mounts: readMountinfo(), uid, systemd: existsSync('/run/systemd/system') })
    return { facts, judged: judgeCgroups(facts, { uid }) }
  })())
}

/** Whether `limits` can be enforced here; an error with the reason and the fix when not. */
export async function checkCgroup(limits: Limits): Promise<void> {
  await prepareCgroup('', limits, 'enabled', true)
}

/**
 * Where this container's cgroup goes, and its limits. A subtree the user owns (a delegated
 * cgroup, or systemd's user@UID.service when skiff runs inside it): `<delegated>/skiff/<id>`,
 * made and filled here. Otherwise, on systemd, a transient scope with Delegate=yes from the
 * user's manager (as podman does from a login session, whose scope is root's). Without either
 * (cgroup v1, a hybrid host, nothing writable) the container runs without one, unless limits
 * were asked for: then this is an error with the reason and the fix.
 */
export async function prepareCgroup(id: string, limits: Limits, mode: 'enabled' | 'disabled', dryRun = false): Promise<CgroupChoice> {
  const files = limitFiles(limits)
  const asked = Object.keys(files)
  if (mode === 'disabled') {
    return asked.length ? { warning: `--cgroups=disabled: the limits asked for (${asked.join(', ')}) are not enforced` } : {}
  }
  const { cgroupLayout, parseProcCgroup, v1ControllersOf, DELEGATE_FIX, LIMIT_CONTROLLERS } = await import('../host/cgroup.js')
  const { readMountinfo } = await import('../host/mounts.js')
  // v1 and hybrid trees give a container no controllers: without limits, nothing more to learn.
  // A v1 controller in our own cgroup list already rules v2 out (cgroupLayout's rule) without the
  // mount table, whose read and parse cost ~0.3 ms on the path of every run on such a host.
  if (!asked.length) {
    const proc = parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8'))
    if (v1ControllersOf(proc).length > 0 || cgroupLayout(readMountinfo(), proc).version !== 'v2') return {}
  }
  const { facts, judged } = await cgroupsHere()
  const how = judged.details?.mode as 'direct' | 'systemd' | 'none'
  const refuse = (why: string, fix: string) =>
    new SkiffError('E_CGROUP', `cannot enforce ${asked.map((k) => k.replace(/\..*/, '')).filter((v, i, a) => a.indexOf(v) === i).join(', ')} limits here: ${why}`, {
      hint: `${fix}; or run with --cgroups=disabled to go on without limits`,
    })
  const root = how === 'direct' ? facts.delegated : how === 'systemd' ? facts.userManager : undefined
  if (!root) {
    if (!asked.length) return {}
    throw refuse(judged.value, judged.fix ?? DELEGATE_FIX)
  }
  const needed = controllersFor(files)
  const missing = needed.filter((c) => !root.controllers.includes(c))
  if (missing.length) {
    if (!asked.length) return {}
    throw refuse(`the delegated cgroup ${root.dir} does not offer ${missing.join(', ')} (it offers: ${root.controllers.join(' ') || 'none'})`, DELEGATE_FIX)
  }
  if (dryRun) return {}
  const usable = root.controllers.filter((c) => LIMIT_CONTROLLERS.includes(c))
  if (how === 'systemd') {
    // the scope's name: one per start (a stopped container's scope may linger for a moment)
    const unit = `skiff-${id.slice(0, 12)}-${Date.now().toString(36)}.scope`
    return {
      scope: { mount: facts.layout.unifiedMount!, controllers: usable, needed, files },
      wrap: [facts.systemdRun!, '--user', '--scope', '--quiet', '--collect', '--property=Delegate=yes', `--unit=${unit}`, `--description=skiff container ${id.slice(0, 12)}`, '--'],
    }
  }
  // Every container gets a cgroup when the user has a subtree, limits or not (stats, kill).
  // One controller at a time: one that cannot be enabled (cpuset often refuses unprivileged
  // writers) fails only the limits that need it.
  const enable = (dir: string, controllers: string[]) => {
    const have = readFileSync(join(dir, 'cgroup.subtree_control'), 'utf8').split(/\s+/)
    for (const c of controllers.filter((x) => !have.includes(x))) {
      try {
        writeFileSync(join(dir, 'cgroup.subtree_control'), `+${c}`)
      } catch (err) {
        if (!needed.includes(c)) continue
        const code = (err as NodeJS.ErrnoException).code
        throw refuse(code === 'EBUSY'
          ? `${dir} has processes of its own, so it cannot hand controllers to child cgroups`
          : `cannot enable the ${c} controller in ${dir}: ${(err as Error).message}`,
        code === 'EBUSY' ? 'start skiff from a leaf cgroup below the delegated one (systemd: systemd-run --user --scope)' : DELEGATE_FIX)
      }
    }
  }
  const parent = join(root.dir, 'skiff')
  const path = join(parent, id.slice(0, 12))
  try {
    enable(root.dir, usable)
    mkdirSync(parent, { recursive: true })
    enable(parent, usable)
    mkdirSync(path, { recursive: true })
  } catch (err) {
    if (err instanceof SkiffError) throw err
    if (!asked.length) return {}
    throw refuse(`cannot create ${path}: ${(err as Error).message}`, DELEGATE_FIX)
  }
  for (const [k, v] of Object.entries(files)) {
    try {
      writeFileSync(join(path, k), v)
    } catch (err) {
      removeCgroup(path)
      throw new SkiffError('E_CGROUP', `cannot set ${k}=${v} in ${path}: ${(err as Error).message}`, { hint: 'check the value (see the kernel\'s cgroup-v2 documentation for the file)' })
    }
  }
  return { path }
}

/**
 * What `exec` runs its shim under to join the container's cgroup `target`. The kernel lets a
 * process move only where its writer may write cgroup.procs of the common ancestor of both
 * cgroups: from a login session's scope (root's) into a container's systemd scope it may not, so
 * the exec shim starts in a scope of its own first, as the container's did. Undefined: no need,
 * or no way (then the exec joins what it can and says why when it cannot).
 */
export async function execCgroupWrap(target: string, id: string): Promise<string[] | undefined> {
  const { facts } = await cgroupsHere()
  const own = facts.layout.dir
  if (!own) return undefined
  let common = own
  while (common !== '/' && target !== common && !target.startsWith(`${common}/`)) common = dirname(common)
  try {
    accessSync(join(common, 'cgroup.procs'), constants.W_OK)
    return undefined
  } catch {}
  if (!facts.systemdRun || !facts.userManagerSocket) return undefined
  return [facts.systemdRun, '--user', '--scope', '--quiet', '--collect', `--unit=skiff-exec-${id.slice(0, 12)}-${process.pid}.scope`, '--']
}

/**
 * Whether containers here get their cgroup from a systemd scope (their shim then starts under
 * systemd-run, so it cannot be started early). Instant where systemd does not run.
 */
export async function cgroupUsesScope(): Promise<boolean> {
  if (!existsSync('/run/systemd/system')) return false
  return (await cgroupsHere()).judged.details?.mode === 'systemd'
}

/** A container's cgroup, once its processes are gone. */
export function removeCgroup(path: string | undefined): void {
  if (!path) return
  try {
    rmdirSync(path)
  } catch {}
}

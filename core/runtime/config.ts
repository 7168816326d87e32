// An OCI bundle's config.json (runtime-spec 1.0–1.2) → the launch plan the shim runs. Pure except
// for what it reads of the host: the bundle's paths, device nodes, cap_last_cap.
//
// The engine (podman, containerd, Slurm) decides the container; skiff only carries it out, so
// every field either reaches the plan or is refused with the field's name: nothing is dropped.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { isAbsolute, join, resolve } from 'node:path'
import { SkiffError } from '../errors.js'
import { CAPABILITIES } from '../launch/capabilities.js'
import { RLIMITS } from '../launch/ulimit.js'
import { sysctlPath } from '../launch/sysctl.js'
import { isMapped } from '../host/idmap.js'
import { parseIdMapText } from '../host/ids.js'
import type { Limits } from '../cgroup/limits.js'
import type { CapabilityPlan, HookPlan, IdMapPlan, IdRange, LaunchPlan, MountFlag, MountOp, Namespace, ProcessPlan } from '../plan.js'

export interface OciHook { path: string; args?: string[]; env?: string[]; timeout?: number }
export interface OciMount { destination: string; type?: string; source?: string; options?: string[] }
export interface OciIdMapping { containerID: number; hostID: number; size: number }
export interface OciDevice { path: string; type: string; major?: number; minor?: number; fileMode?: number; uid?: number; gid?: number }

/** The parts of config.json skiff reads (runtime-spec's config.md, config-linux.md). */
export interface OciConfig {
  ociVersion: string
  process?: {
    terminal?: boolean
    consoleSize?: { height: number; width: number }
    user?: { uid: number; gid: number; umask?: number; additionalGids?: number[]; username?: string }
    args?: string[]
    commandLine?: string
    env?: string[]
    cwd: string
    capabilities?: Partial<Record<'bounding' | 'effective' | 'inheritable' | 'permitted' | 'ambient', string[]>>
    rlimits?: { type: string; soft: number; hard: number }[]
    noNewPrivileges?: boolean
    apparmorProfile?: string
    oomScoreAdj?: number
    selinuxLabel?: string
    ioPriority?: unknown
    scheduler?: unknown
    execCPUAffinity?: unknown
  }
  root?: { path: string; readonly?: boolean }
  hostname?: string
  domainname?: string
  mounts?: OciMount[]
  hooks?: Partial<Record<HookKind, OciHook[]>>
  annotations?: Record<string, string>
  linux?: {
    namespaces?: { type: string; path?: string }[]
    uidMappings?: OciIdMapping[]
    gidMappings?: OciIdMapping[]
    devices?: OciDevice[]
    cgroupsPath?: string
    resources?: OciResources
    sysctl?: Record<string, string>
    seccomp?: Record<string, unknown>
    rootfsPropagation?: string
    maskedPaths?: string[]
    readonlyPaths?: string[]
    mountLabel?: string
    intelRdt?: unknown
    personality?: unknown
    timeOffsets?: unknown
  }
}

/**
 * SELinux labels mean something only where SELinux is on: without it they are accepted and change
 * nothing (as runc and crun take them); with it, skiff cannot apply them and refuses.
 */
function selinuxEnabled(): boolean {
  return existsSync('/sys/fs/selinux/enforce')
}

/** Root of the host (not root of a user namespace, as skiff is under rootless podman). */
export function realRoot(): boolean {
  if (process.getuid!() !== 0) return false
  try {
    const map = parseIdMapText(readFileSync('/proc/self/uid_map', 'utf8'))
    return map.length === 1 && map[0]!.inside === 0 && map[0]!.outside === 0 && map[0]!.count === 4294967295
  } catch {
    return false
  }
}

export type HookKind = 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop'

function refuse(what: string, hint = 'remove it from config.json; docs/oci-runtime.md lists what skiff supports'): SkiffError {
  return new SkiffError('E_UNSUPPORTED', `config.json: ${what}`, { hint })
}

function bad(what: string): SkiffError {
  return new SkiffError('E_USAGE', `config.json: ${what}`, { hint: 'fix the bundle\'s config.json (runtime-spec: config.md)' })
}

/** Read and check the bundle's config.json. */
export function readConfig(bundle: string): OciConfig {
  const path = join(bundle, 'config.json')
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new SkiffError('E_NOT_FOUND', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      hint: 'give the bundle directory with --bundle (it holds config.json and the root filesystem); `skiff runtime spec` writes a config.json',
    })
  }
  let config: OciConfig
  try {
    config = JSON.parse(text) as OciConfig
  } catch (err) {
    throw bad(`not JSON: ${(err as Error).message}`)
  }
  if (!config || typeof config !== 'object' || typeof config.ociVersion !== 'string') throw bad('no ociVersion')
  if (!/^1\.[0-2]\./.test(config.ociVersion)) throw refuse(`ociVersion ${config.ociVersion}: skiff reads runtime-spec 1.0 to 1.2`)
  if (!config.root?.path) throw bad('no root.path')
  if (!config.process) throw bad('no process (a container needs one to start)')
  if (!Array.isArray(config.process.args) || !config.process.args.length) throw bad('process.args is empty')
  if (typeof config.process.cwd !== 'string' || !config.process.cwd.startsWith('/')) throw bad('process.cwd must be an absolute path')
  return config
}

const NAMESPACE_TYPES: Record<string, NonNullable<LaunchPlan['joinNamespaces']>[number]['type']> = {
  user: 'user', network: 'net', pid: 'pid', mount: 'mnt', ipc: 'ipc', uts: 'uts', cgroup: 'cgroup',
}

/** OCI mount options that are mount flags the shim applies; the default ("rw", "suid"...) need nothing. */
const FLAG_OPTIONS = new Set<string>(['ro', 'nosuid', 'nodev', 'noexec', 'relatime', 'strictatime', 'noatime', 'private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared', 'unbindable', 'runbindable', 'sync', 'dirsync', 'nodiratime'])
const DEFAULT_OPTIONS = new Set(['rw', 'suid', 'dev', 'exec', 'async', 'atime', 'diratime', 'norelatime', 'nostrictatime', 'nomand', 'bind', 'rbind', 'loud'])

/** The standard devices every container gets (runtime-spec config-linux.md, "Default Devices"). */
const DEFAULT_DEVICES = ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty']

export interface TranslateInput {
  config: OciConfig
  bundle: string
  id: string
  /** whether skiff runs as uid 0 (of the host, or of a user namespace: under rootless podman) */
  root: boolean
  /** root of the host (default: read from /proc/self/uid_map) */
  realRoot?: boolean
  /** the id maps skiff would use without a config's own (rootless: the user's, as for `run`) */
  defaultIdMap: IdMapPlan
  /** newuidmap/newgidmap, for a config's own maps when skiff is not root */
  helpers?: { newuidmap?: string; newgidmap?: string }
  /** the compiled seccomp program's file, when the config has linux.seccomp (written by the caller) */
  seccompFile?: string
  seccompFlags?: number
  /** the kernel's last capability (default: read from /proc) */
  lastCap?: number
  /** host device nodes: the container's are bound from these (nobody can mknod in a user namespace) */
  statDevice?: (path: string) => { isChar: boolean; isBlock: boolean; rdev: number } | undefined
}

/** The plan for an OCI config; `oci` (fifo, console socket) is the caller's to add. */
export function translateConfig(input: TranslateInput): LaunchPlan {
  const { config, bundle } = input
  const proc = config.process!
  const linux = config.linux ?? {}
  if (linux.mountLabel && selinuxEnabled()) throw refuse('linux.mountLabel is set, and skiff cannot apply SELinux labels on this SELinux host')
  for (const field of ['intelRdt', 'personality', 'timeOffsets'] as const) if (linux[field] !== undefined) throw refuse(`linux.${field} is not supported`)
  // checked here (a refusal names the field before anything is made); runtime.ts applies them
  ociLimits(linux.resources)

  // namespaces: made, or joined by path
  const namespaces: Namespace[] = []
  const joins: NonNullable<LaunchPlan['joinNamespaces']> = []
  let ownUserns = false
  for (const ns of linux.namespaces ?? []) {
    const type = NAMESPACE_TYPES[ns.type]
    if (!type) throw refuse(`linux.namespaces: unknown type ${JSON.stringify(ns.type)}`)
    if (ns.path) {
      if (!isAbsolute(ns.path)) throw bad(`linux.namespaces: the ${ns.type} path must be absolute`)
      joins.push({ type, path: ns.path })
    } else if (type === 'user') {
      ownUserns = true
    } else {
      namespaces.push(type === 'mnt' ? 'mount' : type as Namespace)
    }
  }
  // the root filesystem needs a mount namespace of its own: made even where the config has none
  if (!namespaces.includes('mount') && !joins.some((j) => j.type === 'mnt')) namespaces.push('mount')
  const idmap = planIdMaps(input, ownUserns, joins.some((j) => j.type === 'user'))

  const rootPath = resolve(bundle, config.root!.path)
  if (!existsSync(rootPath)) throw bad(`root.path ${rootPath} does not exist`)
  const mounts: MountOp[] = []
  const hostRoot = input.realRoot ?? realRoot()
  for (const m of config.mounts ?? []) mounts.push(translateMount(m, bundle, hostRoot))
  // devpts refuses a gid= that the user namespace does not map: left out, as crun does (the
  // ptys then belong to the container's root group)
  if (idmap.mode !== 'none') {
    for (const m of mounts) {
      if (m.kind !== 'mount' || m.fstype !== 'devpts' || !m.data) continue
      m.data = m.data.split(',').filter((o) => !/^gid=\d+$/.test(o) || isMapped(idmap.gidMap, Number(o.slice(4)))).join(',') || undefined
    }
  }
  mounts.push(...deviceMounts(linux.devices ?? [], input.statDevice ?? statDevice, hostRoot && idmap.mode === 'none'))
  for (const [key, value] of Object.entries(linux.sysctl ?? {})) mounts.push({ kind: 'sysctl', target: sysctlPath(key), value: String(value) })
  for (const target of linux.maskedPaths ?? []) mounts.push({ kind: 'mask', target })
  for (const target of linux.readonlyPaths ?? []) mounts.push({ kind: 'readonly', target })
  // root.readonly: made read-only last, once every mount point in it exists (as runc does)
  if (config.root!.readonly) mounts.push({ kind: 'readonly', target: '/' })

  return {
    version: 1,
    idmap,
    namespaces,
    ...(joins.length ? { joinNamespaces: joins } : {}),
    rootfs: { kind: 'bind', source: rootPath, target: rootPath, readonly: false },
    ...propagation(linux.rootfsPropagation),
    mounts,
    ...(config.hostname ? { hostname: config.hostname } : {}),
    ...(config.domainname ? { domainname: config.domainname } : {}),
    process: {
      ...processPlan(proc, input.lastCap),
      ...(input.seccompFile ? { seccomp: { profile: 'config.json', file: input.seccompFile, flags: input.seccompFlags ?? 0 } } : {}),
    },
    hooks: { id: input.id, bundle, createContainer: hooks(config, 'createContainer'), startContainer: hooks(config, 'startContainer') },
  }
}

/** An OCI process object (config.json's, or exec's --process) as the shim's process plan. */
export function processPlan(proc: NonNullable<OciConfig['process']>, lastCap = lastCapOfKernel()): ProcessPlan {
  if (proc.apparmorProfile) throw refuse('process.apparmorProfile is set, and skiff cannot apply an AppArmor profile')
  if (proc.selinuxLabel && selinuxEnabled()) throw refuse('process.selinuxLabel is set, and skiff cannot apply SELinux labels on this SELinux host')
  for (const field of ['ioPriority', 'scheduler', 'execCPUAffinity'] as const) if (proc[field] !== undefined) throw refuse(`process.${field} is not supported yet`)
  if (proc.commandLine !== undefined) throw refuse('process.commandLine is for Windows')
  if (!Array.isArray(proc.args) || !proc.args.length) throw bad('process.args is empty')
  const user = proc.user ?? { uid: 0, gid: 0 }
  return {
    args: proc.args,
    env: proc.env ?? [],
    cwd: proc.cwd || '/',
    uid: user.uid,
    gid: user.gid,
    additionalGids: user.additionalGids ?? [],
    terminal: !!proc.terminal,
    stdin: true,
    noNewPrivileges: !!proc.noNewPrivileges,
    capabilities: capabilityPlan(proc.capabilities, lastCap),
    ...(proc.rlimits?.length ? { rlimits: proc.rlimits.map(rlimit) } : {}),
    ...(proc.oomScoreAdj !== undefined ? { oomScoreAdj: proc.oomScoreAdj } : {}),
    ...(user.umask !== undefined ? { umask: user.umask } : {}),
  }
}

/** The highest capability number this kernel knows. */
export function lastCapOfKernel(): number {
  try {
    return Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim())
  } catch {
    return 40
  }
}

/**
 * The user namespace's maps: the config's own; or, when it has none, skiff's default (rootless:
 * a user namespace is needed, so one is added as crun does; root: none at all).
 */
function planIdMaps(input: TranslateInput, ownUserns: boolean, joined: boolean): IdMapPlan {
  const linux = input.config.linux ?? {}
  const uidMap = (linux.uidMappings ?? []).map(range)
  const gidMap = (linux.gidMappings ?? []).map(range)
  if (joined) {
    if (uidMap.length || gidMap.length) throw bad('linux.uidMappings/gidMappings are for a new user namespace, not one given by path')
    return { mode: 'none', uidMap: [], gidMap: [], denySetgroups: false }
  }
  if (!ownUserns) {
    if (uidMap.length || gidMap.length) throw bad('linux.uidMappings/gidMappings need a user namespace in linux.namespaces')
    return input.root ? { mode: 'none', uidMap: [], gidMap: [], denySetgroups: false } : input.defaultIdMap
  }
  if (!uidMap.length || !gidMap.length) return input.defaultIdMap
  if (input.root) return { mode: 'self', uidMap, gidMap, denySetgroups: false }
  // one range of the user's own ids: written by the shim itself (setgroups denied, as the kernel
  // asks); anything else through the setuid helpers, which check the subordinate ranges
  const own = (map: IdRange[], id: number) => map.length === 1 && map[0]!.outside === id && map[0]!.count === 1
  if (own(uidMap, process.getuid!()) && own(gidMap, process.getgid!())) return { mode: 'self', uidMap, gidMap, denySetgroups: true }
  if (!input.helpers?.newuidmap || !input.helpers.newgidmap) {
    throw new SkiffError('E_UNSUPPORTED', 'config.json: linux.uidMappings map more than your own id, and newuidmap/newgidmap are not usable here', {
      hint: 'install the uidmap package and give your user subordinate ids (see `skiff info`), or map only your own id',
    })
  }
  return { mode: 'helpers', uidMap, gidMap, denySetgroups: false, newuidmap: input.helpers.newuidmap, newgidmap: input.helpers.newgidmap }
}

function range(m: OciIdMapping): IdRange {
  if (![m.containerID, m.hostID, m.size].every((n) => Number.isInteger(n) && n >= 0)) throw bad('an id mapping needs containerID, hostID and size')
  return { inside: m.containerID, outside: m.hostID, count: m.size }
}

function translateMount(m: OciMount, bundle: string, realRoot: boolean): MountOp {
  if (!m.destination || !isAbsolute(m.destination)) throw bad(`a mount's destination must be an absolute path (${JSON.stringify(m.destination)})`)
  const options = m.options ?? []
  const flags: MountFlag[] = []
  const data: string[] = []
  let bind = m.type === 'bind'
  for (const o of options) {
    if (o === 'bind' || o === 'rbind') {
      bind = true
      if (o === 'rbind') flags.push('rec')
    } else if (FLAG_OPTIONS.has(o)) {
      flags.push(o as MountFlag)
    } else if (o === 'remount' || o === 'mand' || o === 'tmpcopyup' || o === 'idmap' || o === 'ridmap' || o.startsWith('X-mount.')) {
      throw refuse(`mount ${m.destination}: option ${o} is not supported`)
    } else if (!DEFAULT_OPTIONS.has(o)) {
      data.push(o)
    }
  }
  if (bind) {
    if (!m.source) throw bad(`bind mount ${m.destination} has no source`)
    // filesystem data (mode=, size=) means nothing to a bind mount: mount(2) ignores it, as runc's does
    return { kind: 'bind', source: resolve(bundle, m.source), target: m.destination, flags }
  }
  if (!m.type) throw bad(`mount ${m.destination} has no type`)
  // cgroup v1 ("cgroup") as runc's default spec asks it: cgroup2 where the host has it, as runc does
  if (m.type === 'cgroup') return { kind: 'mount', source: 'cgroup2', target: m.destination, fstype: 'cgroup2', flags, optional: !realRoot }
  const op: MountOp = { kind: 'mount', source: m.source ?? m.type, target: m.destination, fstype: m.type, flags, ...(data.length ? { data: data.join(',') } : {}) }
  // mqueue needs an ipc namespace its user namespace owns; a rootless one without may not mount it
  if (m.type === 'mqueue' && !realRoot) op.optional = true
  return op
}

function statDevice(path: string): { isChar: boolean; isBlock: boolean; rdev: number } | undefined {
  try {
    const st = statSync(path)
    return { isChar: st.isCharacterDevice(), isBlock: st.isBlockDevice(), rdev: st.rdev }
  } catch {
    return undefined
  }
}

/** Linux's encoding of a device number (major:minor) as st_rdev holds it. */
function devNumber(major: number, minor: number): number {
  return (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12) | ((major & ~0xfff) * 2 ** 32)
}

/**
 * Device nodes: the defaults and the config's. Real root without a user namespace makes the
 * config's with mknod, as asked (mode, owner); everywhere else they are bound from the host's node
 * of the same type and number (the host's path first, then /dev/char or /dev/block): a user
 * namespace cannot mknod.
 */
function deviceMounts(devices: OciDevice[], stat: NonNullable<TranslateInput['statDevice']>, mknod: boolean): MountOp[] {
  const out: MountOp[] = DEFAULT_DEVICES.filter((d) => !devices.some((x) => x.path === d)).map((d) => ({ kind: 'bind', source: d, target: d, flags: [], optional: d === '/dev/tty' }))
  for (const d of devices) {
    if (!d.path?.startsWith('/')) throw bad(`a device's path must be absolute (${JSON.stringify(d.path)})`)
    // a FIFO anyone may make, in a user namespace too
    if (d.type === 'p') {
      out.push({ kind: 'mknod', target: d.path, type: 'p', major: 0, minor: 0, mode: d.fileMode ?? 0o666, uid: d.uid ?? 0, gid: d.gid ?? 0 })
      continue
    }
    if (!['c', 'u', 'b'].includes(d.type) || !Number.isInteger(d.major) || !Number.isInteger(d.minor)) throw bad(`device ${d.path} needs type c, u, b or p, major and minor`)
    if (mknod) {
      out.push({ kind: 'mknod', target: d.path, type: d.type === 'b' ? 'b' : 'c', major: d.major!, minor: d.minor!, mode: d.fileMode ?? 0o666, uid: d.uid ?? 0, gid: d.gid ?? 0 })
      continue
    }
    const block = d.type === 'b'
    const rdev = devNumber(d.major!, d.minor!)
    const candidates = [d.path, `/dev/${block ? 'block' : 'char'}/${d.major}:${d.minor}`]
    const source = candidates.find((p) => {
      const st = stat(p)
      return st && (block ? st.isBlock : st.isChar) && st.rdev === rdev
    })
    if (!source) throw refuse(`device ${d.path} (${d.type} ${d.major}:${d.minor}): the host has no such node to bind, and skiff cannot mknod`, 'create the node on the host, or leave the device out')
    out.push({ kind: 'bind', source, target: d.path, flags: [] })
  }
  // and the links runc and crun make (runtime-spec: /dev/ptmx for the container's devpts)
  out.push(
    { kind: 'symlink', target: '/dev/ptmx', linkTo: 'pts/ptmx' },
    { kind: 'symlink', target: '/dev/fd', linkTo: '/proc/self/fd' },
    { kind: 'symlink', target: '/dev/stdin', linkTo: '/proc/self/fd/0' },
    { kind: 'symlink', target: '/dev/stdout', linkTo: '/proc/self/fd/1' },
    { kind: 'symlink', target: '/dev/stderr', linkTo: '/proc/self/fd/2' },
  )
  return out
}

function capabilityPlan(caps: NonNullable<OciConfig['process']>['capabilities'], lastCap: number): CapabilityPlan {
  // (exec's --cap adds to all of bounding, effective and permitted)
  const numbers = (names: string[] | undefined) => {
    const out: number[] = []
    for (const name of names ?? []) {
      const n = CAPABILITIES[name]
      if (n === undefined) throw bad(`unknown capability ${JSON.stringify(name)}`)
      // one this kernel does not know is left out, as crun and runc do
      if (n <= lastCap) out.push(n)
    }
    return out
  }
  const permitted = numbers(caps?.permitted)
  const inheritable = numbers(caps?.inheritable)
  return {
    bounding: numbers(caps?.bounding),
    effective: numbers(caps?.effective),
    permitted,
    inheritable,
    // the kernel raises an ambient capability only if it is permitted and inheritable; runc and
    // crun leave the others out (crun's own `spec --rootless` lists some that are not inheritable)
    ambient: numbers(caps?.ambient).filter((c) => permitted.includes(c) && inheritable.includes(c)),
  }
}

function rlimit(r: { type: string; soft: number; hard: number }): { name: string; type: number; soft: number; hard: number } {
  const name = /^RLIMIT_([A-Z]+)$/.exec(r.type)?.[1]?.toLowerCase()
  const type = name === undefined ? undefined : RLIMITS[name]
  if (type === undefined) throw bad(`unknown rlimit ${JSON.stringify(r.type)}`)
  // 2^64-1 (RLIM_INFINITY as Go writes it) and larger: unlimited
  const value = (n: number) => (n >= 2 ** 63 ? -1 : n)
  return { name: name!, type, soft: value(r.soft), hard: value(r.hard) }
}

const PROPAGATIONS = ['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared', 'unbindable', 'runbindable'] as const

/**
 * linux.rootfsPropagation: the host's tree is made private (slave for the slave kinds) first, so
 * nothing of the container's reaches the host; then the container's root gets the kind asked for.
 */
function propagation(p: string | undefined): Pick<LaunchPlan, 'rootPropagation' | 'rootfsPropagation'> {
  if (!p) return { rootPropagation: 'rprivate' }
  const kind = PROPAGATIONS.find((k) => k === p)
  if (!kind) throw bad(`linux.rootfsPropagation ${JSON.stringify(p)}: expected one of ${PROPAGATIONS.join(', ')}`)
  return { rootPropagation: kind.endsWith('slave') ? 'rslave' : 'rprivate', rootfsPropagation: kind }
}

export function hooks(config: OciConfig, kind: HookKind): HookPlan[] {
  return (config.hooks?.[kind] ?? []).map((h) => {
    if (!h.path || !isAbsolute(h.path)) throw bad(`hooks.${kind}: a hook's path must be absolute`)
    return { path: h.path, ...(h.args ? { args: h.args } : {}), ...(h.env ? { env: h.env } : {}), ...(h.timeout ? { timeout: h.timeout } : {}) }
  })
}

/** linux.resources as OCI writes them (config-linux.md, "Control groups"). */
export interface OciResources {
  devices?: unknown[]
  memory?: { limit?: number; reservation?: number; swap?: number; kernel?: number; kernelTCP?: number; swappiness?: number; disableOOMKiller?: boolean; useHierarchy?: boolean; checkBeforeUpdate?: boolean }
  cpu?: { shares?: number; quota?: number; burst?: number; period?: number; realtimeRuntime?: number; realtimePeriod?: number; cpus?: string; mems?: string; idle?: number }
  pids?: { limit?: number }
  blockIO?: { weight?: number; leafWeight?: number; weightDevice?: unknown[]; throttleReadBpsDevice?: unknown[]; throttleWriteBpsDevice?: unknown[]; throttleReadIOPSDevice?: unknown[]; throttleWriteIOPSDevice?: unknown[] }
  hugepageLimits?: unknown[]
  network?: unknown
  rdma?: unknown
  unified?: Record<string, string>
}

/**
 * linux.resources → skiff's limits (the same cgroup v2 files `run --memory` and the rest write).
 * Device rules are what a container without mknod has anyway (only the nodes bound exist); a value
 * that asks for the default (cpu.shares 1024, as containerd writes it; 0 or -1 for "no limit")
 * asks for nothing. What cgroup v2 cannot do (kernel memory, swappiness, realtime CPU, per-device
 * I/O, hugepages, network classes) is refused by name.
 */
export function ociLimits(r: OciResources | undefined): Limits {
  const limits: Limits = { conf: {} }
  if (!r) return limits
  const set = (v: number | undefined): v is number => v !== undefined && v !== null && v > 0
  const none = (v: unknown) => v === undefined || v === null || v === 0 || v === false || (Array.isArray(v) && !v.length)
  const refuseIf = (v: unknown, field: string, why = 'cgroup v2 has no such control') => {
    if (!none(v)) throw refuse(`linux.resources.${field}: ${why}`, 'leave it out of config.json')
  }
  const m = r.memory ?? {}
  if (set(m.limit)) limits.memory = m.limit
  if (set(m.reservation)) limits.memoryReservation = m.reservation
  // swap -1 (unlimited) is cgroup v2's default: nothing to write
  if (set(m.swap)) limits.memorySwap = m.swap
  refuseIf(m.kernel, 'memory.kernel')
  refuseIf(m.kernelTCP, 'memory.kernelTCP')
  if (m.swappiness !== undefined && m.swappiness !== null && m.swappiness !== -1 && m.swappiness < 2 ** 63) refuseIf(m.swappiness, 'memory.swappiness')
  refuseIf(m.disableOOMKiller, 'memory.disableOOMKiller')
  const c = r.cpu ?? {}
  if (set(c.shares) && c.shares !== 1024) limits.cpuShares = c.shares
  if (set(c.quota)) limits.cpus = c.quota / (set(c.period) ? c.period : 100_000)
  if (c.cpus) limits.cpusetCpus = c.cpus
  if (c.mems) limits.cpusetMems = c.mems
  refuseIf(c.realtimeRuntime, 'cpu.realtimeRuntime')
  refuseIf(c.realtimePeriod, 'cpu.realtimePeriod')
  refuseIf(c.burst, 'cpu.burst', 'not supported yet')
  refuseIf(c.idle, 'cpu.idle', 'not supported yet')
  if (set(r.pids?.limit)) limits.pidsLimit = r.pids!.limit
  const b = r.blockIO ?? {}
  if (set(b.weight)) limits.blkioWeight = b.weight
  for (const k of ['leafWeight', 'weightDevice', 'throttleReadBpsDevice', 'throttleWriteBpsDevice', 'throttleReadIOPSDevice', 'throttleWriteIOPSDevice'] as const) refuseIf(b[k], `blockIO.${k}`, 'not supported yet')
  refuseIf(r.hugepageLimits, 'hugepageLimits', 'not supported yet')
  if (r.network && Object.values(r.network as object).some((v) => !none(v))) refuseIf(1, 'network', 'cgroup v2 has no network classes')
  if (r.rdma && Object.keys(r.rdma as object).length) refuseIf(1, 'rdma', 'not supported yet')
  for (const [k, v] of Object.entries(r.unified ?? {})) limits.conf[k] = String(v)
  return limits
}

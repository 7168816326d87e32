// Image config + run options → a complete launch plan for the shim. Pure.
//
// Every default here follows Docker/runc (moby's oci/defaults.go): the same mounts, masked and
// read-only /proc paths, capability set, environment rules and entrypoint/cmd semantics.
import { SkiffError } from '../errors.js'
import { DEFAULT_CAPABILITIES, capabilityNumbers } from './capabilities.js'
import { sysctlPath } from './sysctl.js'
import { passedHostEnv } from './profile.js'
import { isMapped } from '../host/idmap.js'
import type { CapabilityPlan, IdMapPlan, LaunchPlan, MountOp, Namespace, RootfsPlan } from '../plan.js'
import type { ResolvedUser } from './passwd.js'

/** The `config` object of an OCI image configuration (the parts a run uses). */
export interface ImageRunConfig {
  Env?: string[] | null
  Cmd?: string[] | null
  Entrypoint?: string[] | null
  WorkingDir?: string
  User?: string
  StopSignal?: string
}

export interface RunOptions {
  /** COMMAND [ARG...] after the image name; empty: the image's Cmd */
  args: string[]
  /** --entrypoint: replaces the image's Entrypoint and drops its Cmd ("" clears it) */
  entrypoint?: string
  /** -e/--env-file, in order: KEY=value, or KEY alone to copy the host's value */
  env: string[]
  workdir?: string
  hostname?: string
  tty: boolean
  interactive: boolean
  /** --cap-add, --cap-drop, --security-opt */
  security?: SecurityOptions
  /** --ulimit */
  rlimits?: import('./ulimit.js').Rlimit[]
  /** --sysctl, checked (parseSysctls) */
  sysctls?: Record<string, string>
  /** --device (and --privileged's): host device nodes bound in */
  deviceBinds?: import('./devices.js').DeviceBind[]
  /** --pid=host, --uts=host: the host's pid and uts namespaces (no namespace of its own) */
  pidHost?: boolean
  utsHost?: boolean
  /** --env-host: the host's environment (passedHostEnv) under the image's and -e */
  envHost?: boolean
}

/** What --cap-add, --cap-drop and --security-opt ask for (cmd/security-options.ts parses them). */
export interface SecurityOptions {
  /** the capability set of the container's root (capabilitySet) */
  capabilities: number[]
  noNewPrivileges: boolean
  /** more paths masked; paths (or ALL) not masked nor read-only */
  mask: string[]
  unmask: string[]
  /** the seccomp profile (seccomp-program.ts) */
  seccomp: import('./seccomp-program.js').SeccompChoice
}

export interface SpecInput {
  config: ImageRunConfig
  options: RunOptions
  /** container id (hex); the default hostname is its first 12 characters */
  id: string
  user: ResolvedUser
  idmap: IdMapPlan
  rootfs: RootfsPlan
  /** files skiff writes for the container (/etc/hosts, /etc/hostname, /etc/resolv.conf), bind-mounted */
  /** /etc/hosts, /etc/hostname, /etc/resolv.conf, and /run/.containerenv (podman's: a program learns it runs in a container) */
  etcFiles: { hosts: string; hostname: string; resolv?: string; containerenv?: string; passwd?: string; group?: string }
  /** own: a network namespace of its own (default); host: the host's; join: another container's */
  netns?: 'own' | 'host' | 'join'
  network?: import('../plan.js').NetworkPlan
  /** the host's environment, for `-e KEY` without a value */
  hostEnv: Record<string, string | undefined>
  /** host paths of the device nodes to bind (absent ones are skipped) */
  devices?: string[]
  /** files to delete after exit, e.g. the --rm container's directory */
  cleanup?: string[]
  /** where they are moved first (see LaunchPlan.trash) */
  trash?: string
  /** -v, --mount, --tmpfs: after the standard mounts, before the masked paths */
  extraMounts?: MountOp[]
  /** --read-only: the root filesystem is remounted read-only once everything is mounted */
  readOnly?: boolean
  /** the compiled seccomp profile (seccompPlan); absent: unconfined */
  seccomp?: import('../plan.js').SeccompPlan
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** Paths hidden from the container (moby oci/defaults.go DefaultLinuxSpec MaskedPaths). */
export const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
  '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware',
  '/sys/devices/virtual/powercap',
]

/** Paths the container may read but not write (ReadonlyPaths). */
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']

export const DEVICES = ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty']

/** KEY=value list with later entries replacing earlier ones of the same key; order of first sight kept. */
export function mergeEnv(...lists: string[][]): string[] {
  const map = new Map<string, string>()
  for (const list of lists) {
    for (const kv of list) {
      const eq = kv.indexOf('=')
      const key = eq < 0 ? kv : kv.slice(0, eq)
      if (key) map.set(key, kv)
    }
  }
  return [...map.values()]
}

/** `-e KEY` copies the host's value, and is dropped when the host has none (as Docker). */
export function expandEnvFlags(flags: string[], hostEnv: Record<string, string | undefined>): string[] {
  const out: string[] = []
  for (const f of flags) {
    if (f.includes('=')) out.push(f)
    else if (hostEnv[f] !== undefined) out.push(`${f}=${hostEnv[f]}`)
  }
  return out
}

/**
 * --entrypoint as argv: "" clears it, a JSON array of strings is the exec form (as Docker takes
 * it), anything else is one program.
 *   entrypointArgs('["/bin/echo","x"]') → ['/bin/echo', 'x'];  entrypointArgs('/bin/sh') → ['/bin/sh']
 */
export function entrypointArgs(text: string): string[] {
  if (text === '') return []
  if (text.trimStart().startsWith('[')) {
    try {
      const v = JSON.parse(text) as unknown
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[]
    } catch {}
  }
  return [text]
}

/** Entrypoint + Cmd → argv, with Docker's rules for --entrypoint and a command on the line. */
export function resolveArgs(config: ImageRunConfig, options: RunOptions): string[] {
  let entrypoint = config.Entrypoint ?? []
  let cmd = config.Cmd ?? []
  if (options.entrypoint !== undefined) {
    entrypoint = entrypointArgs(options.entrypoint)
    cmd = []
  }
  if (options.args.length > 0) cmd = options.args
  const argv = [...entrypoint, ...cmd]
  if (argv.length === 0) {
    throw new SkiffError('E_NO_COMMAND', 'no command specified: the image has no Entrypoint or Cmd', {
      hint: 'name a command after the image, e.g. skiff run IMAGE sh',
    })
  }
  return argv
}

export function planMounts(input: Pick<SpecInput, 'idmap' | 'etcFiles' | 'devices' | 'extraMounts' | 'readOnly'> & Pick<RunOptions, 'security' | 'sysctls' | 'deviceBinds'>, namespaces: Namespace[]): MountOp[] {
  const ptsData = ['newinstance', 'ptmxmode=0666', 'mode=0620']
  // gid=5 (tty) only when the namespace maps it; devpts refuses an unmapped gid.
  if (isMapped(input.idmap.gidMap, 5)) ptsData.push('gid=5')
  const mounts: MountOp[] = [
    // proc may only be mounted by the owner of the pid namespace: the host's is bound instead
    namespaces.includes('pid')
      ? { kind: 'mount', source: 'proc', target: '/proc', fstype: 'proc', flags: ['nosuid', 'noexec', 'nodev'] }
      : { kind: 'bind', source: '/proc', target: '/proc', flags: ['rec', 'nosuid', 'noexec', 'nodev'] },
    { kind: 'mount', source: 'tmpfs', target: '/dev', fstype: 'tmpfs', flags: ['nosuid', 'strictatime'], data: 'mode=755,size=65536k' },
    { kind: 'mount', source: 'devpts', target: '/dev/pts', fstype: 'devpts', flags: ['nosuid', 'noexec'], data: ptsData.join(',') },
    { kind: 'mount', source: 'shm', target: '/dev/shm', fstype: 'tmpfs', flags: ['nosuid', 'noexec', 'nodev'], data: 'mode=1777,size=65536k' },
    { kind: 'mount', source: 'mqueue', target: '/dev/mqueue', fstype: 'mqueue', flags: ['nosuid', 'noexec', 'nodev'], optional: true },
  ]
  // sysfs may only be mounted by the owner of the network namespace; sharing the host's network
  // means a read-only bind of the host's /sys instead.
  if (namespaces.includes('net')) {
    mounts.push({ kind: 'mount', source: 'sysfs', target: '/sys', fstype: 'sysfs', flags: ['ro', 'nosuid', 'noexec', 'nodev'] })
  } else {
    mounts.push({ kind: 'bind', source: '/sys', target: '/sys', flags: ['rec', 'ro', 'nosuid', 'noexec', 'nodev'] })
  }
  const standard = input.devices ?? DEVICES
  for (const dev of standard) {
    mounts.push({ kind: 'bind', source: dev, target: dev, flags: ['nosuid', 'noexec'], optional: dev === '/dev/tty' })
  }
  for (const d of input.deviceBinds ?? []) {
    if (!standard.includes(d.container)) mounts.push({ kind: 'bind', source: d.host, target: d.container, flags: ['nosuid', 'noexec'] })
  }
  mounts.push(
    { kind: 'symlink', target: '/dev/ptmx', linkTo: 'pts/ptmx' },
    { kind: 'symlink', target: '/dev/fd', linkTo: '/proc/self/fd' },
    { kind: 'symlink', target: '/dev/stdin', linkTo: '/proc/self/fd/0' },
    { kind: 'symlink', target: '/dev/stdout', linkTo: '/proc/self/fd/1' },
    { kind: 'symlink', target: '/dev/stderr', linkTo: '/proc/self/fd/2' },
    { kind: 'bind', source: input.etcFiles.hosts, target: '/etc/hosts', flags: ['nosuid', 'nodev', 'noexec'] },
    { kind: 'bind', source: input.etcFiles.hostname, target: '/etc/hostname', flags: ['nosuid', 'nodev', 'noexec'] },
  )
  if (input.etcFiles.resolv) mounts.push({ kind: 'bind', source: input.etcFiles.resolv, target: '/etc/resolv.conf', flags: ['nosuid', 'nodev', 'noexec'] })
  // keep-id: the image's account files with the user's entry added (core/launch/accounts.ts)
  if (input.etcFiles.passwd) mounts.push({ kind: 'bind', source: input.etcFiles.passwd, target: '/etc/passwd', flags: ['nosuid', 'nodev', 'noexec'] })
  if (input.etcFiles.group) mounts.push({ kind: 'bind', source: input.etcFiles.group, target: '/etc/group', flags: ['nosuid', 'nodev', 'noexec'] })
  if (input.etcFiles.containerenv) mounts.push({ kind: 'bind', source: input.etcFiles.containerenv, target: '/run/.containerenv', flags: ['ro', 'nosuid', 'nodev', 'noexec'] })
  mounts.push(...(input.extraMounts ?? []))
  // --sysctl: written through the container's own /proc before /proc/sys is made read-only
  for (const [key, value] of Object.entries(input.sysctls ?? {})) mounts.push({ kind: 'sysctl', target: sysctlPath(key), value })
  const sec = input.security
  const kept = (p: string) => !sec?.unmask.some((u) => u === 'ALL' || u === p)
  for (const target of [...MASKED_PATHS, ...(sec?.mask ?? [])].filter(kept)) mounts.push({ kind: 'mask', target })
  for (const target of READONLY_PATHS.filter(kept)) mounts.push({ kind: 'readonly', target })
  // last: every mount point above had to be created in the root first
  if (input.readOnly) mounts.push({ kind: 'readonly', target: '/' })
  return mounts
}

/**
 * Docker's rule: root has the container's set (default: Docker's, see --cap-add/--cap-drop); any
 * other user starts with none (the bounding set stays).
 */
export function planCapabilities(uid: number, set = capabilityNumbers(DEFAULT_CAPABILITIES)): CapabilityPlan {
  if (uid === 0) return { bounding: set, effective: set, permitted: set, inheritable: [], ambient: [] }
  return { bounding: set, effective: [], permitted: [], inheritable: [], ambient: [] }
}

export function planLaunch(input: SpecInput): LaunchPlan {
  const { config, options, user } = input
  // a joined network namespace comes with its user namespace (the shim's waiter joins both)
  const namespaces: Namespace[] = [
    'mount', ...(options.pidHost ? [] : ['pid' as const]), ...(options.utsHost ? [] : ['uts' as const]), 'ipc',
    ...((input.netns ?? 'own') === 'own' ? ['net' as const] : []), 'cgroup',
  ]
  const hostname = options.hostname || input.id.slice(0, 12)
  const args = resolveArgs(config, options)
  // container=oci: how systemd and others tell a container (podman sets container=podman); the
  // image and -e may set it otherwise
  const base = [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${hostname}`, 'container=oci']
  if (options.tty) base.push('TERM=xterm')
  const env = mergeEnv(base, options.envHost ? passedHostEnv(input.hostEnv) : [], config.Env ?? [], expandEnvFlags(options.env, input.hostEnv))
  if (!env.some((kv) => kv.startsWith('HOME='))) env.push(`HOME=${user.home}`)
  // Without setgroups (single mapping) the kernel refuses any supplementary group list.
  const additionalGids = input.idmap.denySetgroups ? [] : user.additionalGids
  if (!isMapped(input.idmap.uidMap, user.uid)) throw unmapped('uid', user.uid, input.idmap)
  for (const id of [user.gid, ...additionalGids]) {
    if (!isMapped(input.idmap.gidMap, id)) throw unmapped('gid', id, input.idmap)
  }
  return {
    version: 1,
    idmap: input.idmap,
    namespaces,
    rootfs: input.rootfs,
    rootPropagation: 'rprivate',
    mounts: planMounts({ ...input, security: options.security, sysctls: options.sysctls, deviceBinds: options.deviceBinds }, namespaces),
    ...(options.utsHost ? {} : { hostname }),
    process: {
      args,
      env,
      cwd: options.workdir || config.WorkingDir || '/',
      uid: user.uid,
      gid: user.gid,
      additionalGids,
      terminal: options.tty,
      stdin: options.interactive,
      noNewPrivileges: options.security?.noNewPrivileges ?? true,
      capabilities: planCapabilities(user.uid, options.security?.capabilities),
      ...(input.seccomp ? { seccomp: input.seccomp } : {}),
      ...(options.rlimits?.length ? { rlimits: options.rlimits } : {}),
    },
    cleanup: input.cleanup,
    trash: input.trash,
    ...(input.network ? { network: input.network } : {}),
  }
}

function unmapped(kind: 'uid' | 'gid', id: number, idmap: IdMapPlan): SkiffError {
  const map = kind === 'uid' ? idmap.uidMap : idmap.gidMap
  const size = map.reduce((n, r) => n + r.count, 0)
  return new SkiffError('E_UNMAPPED_ID', `the container ${kind} ${id} has no host id: this user namespace maps ${kind}s 0-${size - 1}`, {
    hint: size === 1
      ? 'give your user a subordinate id range (`skiff info` prints the command, with a range no other user has), or run as --user 0'
      : 'use a smaller id, or ask for a larger subordinate range in /etc/subuid and /etc/subgid',
  })
}

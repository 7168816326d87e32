// The options `run` and `create` share, and their translation into CreateOptions. Pure but for
// reading --env-file files and /proc/self/fd for --preserve-fds.
import { readFileSync, readlinkSync } from 'node:fs'
import { readUserTextFile } from '../core/user-file.js'
import { SkiffError, errnoText } from '../core/errors.js'
import type { CreateOptions } from '../core/container/create.js'
import type { UsernsMode } from '../core/launch/identity.js'
import { PROFILE_MOUNTS, chooseProfile, profileBinds, type ProfileChoice, type ProfileMount } from '../core/launch/profile.js'
import type { OptionSpec } from './cli.js'
import { parseTlsVerify } from './pull.js'
import { isNetworkName } from '../core/net/network.js'
import { ip4ToInt } from '../core/net/bridge.js'
import { securityOptions } from '../core/launch/security-opts.js'
import { checkUlimits, parseUlimit, type Rlimit } from '../core/launch/ulimit.js'
import { parseSysctls } from '../core/launch/sysctl.js'
import { isCdiName, openableDevices, parseDevice, type DeviceBind } from '../core/launch/devices.js'

export interface CreateArgs {
  image: string
  containerCommand: string[]
  rm?: boolean
  interactive: boolean
  tty: boolean
  env: string[]
  'env-file': string[]
  workdir?: string
  user?: string
  hostname?: string
  entrypoint?: string
  name?: string
  restart: string
  init: boolean
  'read-only': boolean
  'log-opt': string[]
  'stop-timeout'?: number
  'stop-signal'?: string
  network: string[]
  net: string[]
  ip?: string
  'network-alias': string[]
  'net-alias': string[]
  'group-add': string[]
  ulimit: string[]
  sysctl: string[]
  device: string[]
  privileged: boolean
  'cap-add': string[]
  'cap-drop': string[]
  'security-opt': string[]
  'mac-address'?: string
  publish: string[]
  'publish-all': boolean
  dns: string[]
  'dns-search': string[]
  'dns-option': string[]
  'dns-opt': string[]
  label: string[]
  'label-file': string[]
  cidfile?: string
  'log-driver': string
  tz?: string
  'sig-proxy': boolean
  userns?: string
  profile?: string
  pid?: string
  uts?: string
  'env-host'?: boolean
  'writable-tmpfs'?: boolean
  'no-mount': string[]
  gpus?: string
  'add-host': string[]
  volume: string[]
  mount: string[]
  tmpfs: string[]
  'storage-driver'?: string
  memory?: string
  'memory-reservation'?: string
  'memory-swap'?: string
  cpus?: string
  'cpu-shares'?: number
  'cpu-weight'?: number
  'cpuset-cpus'?: string
  'cpuset-mems'?: string
  'pids-limit'?: number
  'blkio-weight'?: number
  'cgroup-conf': string[]
  cgroups: string
  pull: string
  platform?: string
  'tls-verify': string
}

export const createOptions: OptionSpec[] = [
  { name: 'name', type: 'string', placeholder: 'NAME', describe: 'Name of the container (default: a generated one)' },
  { name: 'rm', type: 'boolean', describe: 'Remove the container when it exits (the hpc profile\'s default)' },
  { name: 'interactive', alias: 'i', type: 'boolean', default: false, describe: 'Keep stdin open' },
  { name: 'tty', alias: 't', type: 'boolean', default: false, describe: 'Allocate a pseudo-terminal' },
  { name: 'env', alias: 'e', type: 'string', array: true, placeholder: 'KEY=VALUE', describe: 'Set an environment variable (KEY alone copies it from here)' },
  { name: 'env-file', type: 'string', array: true, placeholder: 'FILE', describe: 'Read environment variables from a file' },
  { name: 'workdir', alias: 'w', type: 'string', placeholder: 'DIR', describe: 'Working directory inside the container' },
  { name: 'user', alias: 'u', type: 'string', placeholder: 'USER[:GROUP]', describe: 'User name or uid, and group name or gid' },
  { name: 'hostname', alias: 'h', type: 'string', placeholder: 'NAME', describe: 'Container host name' },
  { name: 'entrypoint', type: 'string', placeholder: 'CMD', describe: "Override the image's entrypoint" },
  { name: 'restart', type: 'string', default: 'no', placeholder: 'POLICY', describe: 'Restart policy of a detached container: no, on-failure[:N], always, unless-stopped' },
  { name: 'init', type: 'boolean', default: false, describe: 'Run a minimal init as pid 1 that reaps zombies and forwards signals' },
  { name: 'read-only', type: 'boolean', default: false, describe: "Mount the container's root filesystem read-only" },
  { name: 'log-opt', type: 'string', array: true, placeholder: 'max-size=SIZE', describe: 'Log options: max-size (default 10m; 0: no limit)' },
  { name: 'stop-timeout', type: 'number', placeholder: 'SECONDS', describe: 'Seconds `stop` waits before SIGKILL (default 10)' },
  { name: 'stop-signal', type: 'string', placeholder: 'SIGNAL', describe: 'Signal `stop` sends first (default: the image\'s, or SIGTERM)' },
  { name: 'network', type: 'string', array: true, placeholder: 'MODE|NET', describe: 'slirp (default: pasta, else slirp4netns), pasta, slirp4netns, host, none, container:NAME, or bridge networks (bridge, or from `network create`; again for more)' },
  { name: 'net', type: 'string', array: true, placeholder: 'MODE', describe: 'Same as --network', hidden: true },
  { name: 'ip', type: 'string', placeholder: 'IPv4', describe: 'The address on the (first) bridge network' },
  { name: 'network-alias', type: 'string', array: true, placeholder: 'NAME', describe: 'Another name the container answers to on the (first) bridge network' },
  { name: 'net-alias', type: 'string', array: true, placeholder: 'NAME', describe: 'Same as --network-alias', hidden: true },
  { name: 'mac-address', type: 'string', placeholder: 'MAC', describe: 'The MAC address on the (first) bridge network' },
  { name: 'device', type: 'string', array: true, placeholder: 'HOST[:CONTAINER][:rwm]|CDI', describe: 'Bind a host device node you can open (without w: read-only), or a CDI device: vendor.com/class=name (specs in /etc/cdi, /var/run/cdi)' },
  { name: 'gpus', type: 'string', placeholder: 'all|N|device=ID', describe: "NVIDIA GPUs: through the CDI spec (nvidia.com/gpu), else the host's driver libraries and /dev/nvidia* bound in (as Apptainer's --nv)" },
  { name: 'privileged', type: 'boolean', default: false, describe: 'Every capability of the user namespace, no masked or read-only /proc paths, every host device you can open (nothing you do not already have)' },
  { name: 'sysctl', type: 'string', array: true, placeholder: 'KEY=VALUE', describe: 'A namespaced sysctl of the container (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*)' },
  { name: 'ulimit', type: 'string', array: true, placeholder: 'NAME=SOFT[:HARD]', describe: 'A resource limit of the container\'s processes (nofile, nproc, core, memlock, stack, ...; -1 or unlimited)' },
  { name: 'group-add', type: 'string', array: true, placeholder: 'GROUP', describe: 'Another supplementary group of the container\'s process (a gid, or a group of the image)' },
  { name: 'cap-add', type: 'string', array: true, placeholder: 'CAP', describe: 'Add a capability to the container\'s root (NET_ADMIN, CAP_SYS_PTRACE, ALL)' },
  { name: 'cap-drop', type: 'string', array: true, placeholder: 'CAP', describe: 'Drop a capability (or ALL) from the container\'s root' },
  { name: 'security-opt', type: 'string', array: true, placeholder: 'OPT', describe: 'no-new-privileges[=false], mask=PATH:..., unmask=ALL|PATH:..., seccomp=unconfined, label=disable, apparmor=unconfined' },
  { name: 'publish', alias: 'p', type: 'string', array: true, placeholder: '[IP:][HOST:]PORT[/PROTO]', describe: "Publish a container's port on the host (ranges too; no host port: a free one)" },
  { name: 'publish-all', alias: 'P', type: 'boolean', default: false, describe: "Publish every port the image EXPOSEs, on free host ports" },
  { name: 'dns', type: 'string', array: true, placeholder: 'IP', describe: 'DNS server for the container' },
  { name: 'dns-search', type: 'string', array: true, placeholder: 'DOMAIN', describe: 'DNS search domain' },
  { name: 'dns-option', type: 'string', array: true, placeholder: 'OPTION', describe: 'resolv.conf option' },
  { name: 'dns-opt', type: 'string', array: true, placeholder: 'OPTION', describe: 'Same as --dns-option (Docker\'s spelling)', hidden: true },
  { name: 'label', alias: 'l', type: 'string', array: true, placeholder: 'KEY=VALUE', describe: 'A label on the container (over the image\'s)' },
  { name: 'label-file', type: 'string', array: true, placeholder: 'FILE', describe: 'Read labels from a file of KEY=VALUE lines' },
  { name: 'cidfile', type: 'string', placeholder: 'FILE', describe: 'Write the container id to FILE (which must not exist)' },
  { name: 'log-driver', type: 'string', default: 'k8s-file', placeholder: 'DRIVER', describe: 'k8s-file (the default; json-file is the same, as in podman), none (keep no output of a detached container), passthrough (attached runs only)' },
  { name: 'tz', type: 'string', placeholder: 'ZONE', describe: 'Time zone of the container: local (the host\'s) or Area/City' },
  { name: 'userns', type: 'string', placeholder: 'MODE', describe: 'host (the default: you are root inside, your subordinate ids the rest) or keep-id (you are yourself inside: your uid, gid and groups; works without subordinate ids)' },
  { name: 'profile', type: 'string', placeholder: 'NAME', describe: 'hpc (default inside a Slurm job step: --userns=keep-id --network=host --pid=host --uts=host --env-host --writable-tmpfs --rm, $HOME, the working directory and /tmp bound) or default; each flag given wins over the profile' },
  { name: 'pid', type: 'string', placeholder: 'MODE', describe: 'private (a pid namespace of its own, the default) or host' },
  { name: 'uts', type: 'string', placeholder: 'MODE', describe: 'private (its own host name, the default) or host' },
  { name: 'env-host', type: 'boolean', describe: 'Pass this environment in (but PATH, LD_LIBRARY_PATH, LD_PRELOAD and the rest of docs/hpc.md\'s list), under the image\'s and -e' },
  { name: 'writable-tmpfs', type: 'boolean', describe: 'The image root is writable, its changes kept in memory and gone at exit (overlay driver)' },
  { name: 'no-mount', type: 'string', array: true, placeholder: 'home,cwd,tmp', describe: 'Leave out binds of the hpc profile' },
  { name: 'sig-proxy', type: 'boolean', default: true, describe: 'Pass signals on to the container (true only: an attached container ends with skiff)' },
  { name: 'add-host', type: 'string', array: true, placeholder: 'NAME:IP', describe: 'Add a line to /etc/hosts' },
  { name: 'volume', alias: 'v', type: 'string', array: true, placeholder: '[SRC:]DST[:ro]', describe: 'Bind a host path (/path or ./path) or a named volume; DST alone: an anonymous volume' },
  { name: 'mount', type: 'string', array: true, placeholder: 'type=bind|volume|tmpfs,...', describe: 'Mount with key=value options (source, target, readonly, tmpfs-size, tmpfs-mode)' },
  { name: 'tmpfs', type: 'string', array: true, placeholder: 'PATH[:OPTS]', describe: 'Mount a tmpfs (size=, mode=, ro, noexec)' },
  { name: 'storage-driver', type: 'string', placeholder: 'DRIVER', describe: 'overlay, fuse-overlayfs or copy (default: SKIFF_STORAGE_DRIVER, storage.conf, else the best that works)' },
  { name: 'memory', alias: 'm', type: 'string', placeholder: 'SIZE', describe: 'Memory limit (memory.max), e.g. 512m' },
  { name: 'memory-reservation', type: 'string', placeholder: 'SIZE', describe: 'Memory kept for it under pressure (memory.low)' },
  { name: 'memory-swap', type: 'string', placeholder: 'SIZE', describe: 'Memory plus swap (-1: unlimited swap)' },
  { name: 'cpus', type: 'string', placeholder: 'N', describe: 'CPU time, in CPUs (cpu.max), e.g. 1.5' },
  { name: 'cpu-shares', alias: 'c', type: 'number', placeholder: 'N', describe: 'Relative CPU weight, Docker units (2-262144)' },
  { name: 'cpu-weight', type: 'number', placeholder: 'N', describe: 'Relative CPU weight, cgroup v2 units (1-10000)' },
  { name: 'cpuset-cpus', type: 'string', placeholder: 'LIST', describe: 'CPUs it may use, e.g. 0-1' },
  { name: 'cpuset-mems', type: 'string', placeholder: 'LIST', describe: 'Memory nodes it may use' },
  { name: 'pids-limit', type: 'number', placeholder: 'N', describe: 'Most processes at once (pids.max; -1: unlimited)' },
  { name: 'blkio-weight', type: 'number', placeholder: 'N', describe: 'Relative block I/O weight (io.weight, 10-1000)' },
  { name: 'cgroup-conf', type: 'string', array: true, placeholder: 'FILE=VALUE', describe: 'Any cgroup v2 file, e.g. memory.high=200M' },
  { name: 'cgroups', type: 'string', default: 'enabled', placeholder: 'enabled|disabled', describe: 'disabled: no cgroup, and limits are not enforced (said, not silent)' },
  { name: 'pull', type: 'string', default: 'missing', placeholder: 'always|missing|never', describe: 'Pull the image before running' },
  { name: 'platform', type: 'string', placeholder: 'OS/ARCH', describe: 'Platform to pull' },
  { name: 'tls-verify', type: 'string', default: 'true', placeholder: 'BOOL', describe: 'Require verified HTTPS when pulling' },
]

/** Options of run/create that take a value (so the container's command is split off right). */
export const createValueOptions = createOptions
  .filter((o) => o.type !== 'boolean')
  .flatMap((o) => [`--${o.name}`, ...(o.alias ? [`-${o.alias}`] : [])])

/** Lines of an --env-file: KEY=value or KEY, skipping blanks and # comments (as Docker). */
export function parseEnvFile(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/\r$/, '').trimStart())
    .filter((l) => l !== '' && !l.startsWith('#'))
}

/** "10m", "512k", "1g", "100" (bytes) → bytes */
export function parseSize(text: string, option?: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)b?$/i.exec(text.trim())
  if (!m) throw new SkiffError('E_USAGE', `${option ? `${option} ${text}: not a size` : `cannot read the size ${JSON.stringify(text)}`}`, { hint: 'use a number with an optional unit: 512k, 10m, 1g' })
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g']
  return Math.floor(Number(m[1]) * unit)
}

/** -w: a path in the container, absolute (Docker refuses a relative one too). */
export function checkWorkdir(dir: string | undefined): void {
  if (dir !== undefined && dir !== '' && !dir.startsWith('/')) {
    throw new SkiffError('E_USAGE', `-w ${dir}: the working directory must be an absolute path`, { hint: `e.g. -w /${dir.replace(/^\.?\/+/, '')}` })
  }
}

/** -1 for memory is no limit too. */
function positive(n: number | undefined): number | undefined {
  return n !== undefined && n > 0 ? n : undefined
}

async function toLimits(argv: CreateArgs): Promise<import('../core/cgroup/limits.js').Limits> {
  const { parseCpus } = await import('../core/cgroup/limits.js')
  if (!['enabled', 'disabled'].includes(argv.cgroups)) {
    throw new SkiffError('E_USAGE', `--cgroups=${argv.cgroups}: expected enabled or disabled`, { hint: "see 'skiff run --help'" })
  }
  // 0 is Docker's "no limit" for every one of these (and -1 for pids and swap): nothing is written
  // -1 is "unlimited" for swap only (Docker refuses it for the others: not a size)
  const size = (v: string | undefined, option: string, minusOne = false) => (v === undefined ? undefined : minusOne && v === '-1' ? -1 : parseSize(v, option) || undefined)
  const conf: Record<string, string> = {}
  for (const kv of argv['cgroup-conf']) {
    const eq = kv.indexOf('=')
    if (eq < 1) throw new SkiffError('E_USAGE', `--cgroup-conf ${kv}: expected FILE=VALUE`, { hint: 'e.g. --cgroup-conf memory.high=200M' })
    conf[kv.slice(0, eq)] = kv.slice(eq + 1)
  }
  return {
    memory: positive(size(argv.memory, '--memory')),
    memoryReservation: size(argv['memory-reservation'], '--memory-reservation'),
    memorySwap: size(argv['memory-swap'], '--memory-swap', true),
    cpus: argv.cpus !== undefined && Number(argv.cpus) !== 0 ? parseCpus(argv.cpus) : undefined,
    cpuShares: argv['cpu-shares'],
    cpuWeight: argv['cpu-weight'],
    cpusetCpus: argv['cpuset-cpus'],
    cpusetMems: argv['cpuset-mems'],
    pidsLimit: argv['pids-limit'] !== undefined && argv['pids-limit'] > 0 ? argv['pids-limit'] : undefined,
    blkioWeight: argv['blkio-weight'],
    conf,
  }
}

/** A --cidfile, made before the container (so that it cannot fail after), filled once it exists. */
export interface Cidfile {
  write(id: string): void
  /** the container was not made: the file goes too */
  remove(): void
}

/**
 * --cidfile: a file that must not exist yet (Docker's rule: it may be another container's),
 * created empty now, so that a path skiff cannot write fails before anything is made.
 */
export function openCidfile(path: string | undefined): Cidfile | undefined {
  if (path === undefined) return undefined
  const { closeSync, openSync, rmSync, writeSync } = require('node:fs') as typeof import('node:fs')
  let fd: number
  try {
    fd = openSync(path, 'wx', 0o644)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new SkiffError('E_CIDFILE', `--cidfile ${path}: the file exists: another container may be using it`, { hint: `remove ${path} if that container is gone, or name another file` })
    }
    throw new SkiffError('E_CIDFILE', `--cidfile ${path}: ${errnoText(err)}`, { hint: 'name a file in a directory you may write, which does not exist yet' })
  }
  return {
    write(id) {
      try {
        writeSync(fd, id)
      } finally {
        closeSync(fd)
      }
    },
    remove() {
      closeSync(fd)
      rmSync(path, { force: true })
    },
  }
}

/** --label KEY=VALUE (KEY alone: an empty value), later ones over earlier ones. */
export function parseLabels(list: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const l of list) {
    const eq = l.indexOf('=')
    const key = eq < 0 ? l : l.slice(0, eq)
    if (!key) throw new SkiffError('E_USAGE', `--label ${JSON.stringify(l)}: no key`, { hint: 'e.g. --label app=shop' })
    out[key] = eq < 0 ? '' : l.slice(eq + 1)
  }
  return out
}

/** --log-driver: what skiff does for each, or an error for one it cannot be. */
function logDriver(text: string): 'k8s-file' | 'none' | 'passthrough' {
  if (text === 'k8s-file' || text === 'json-file') return 'k8s-file'
  if (text === 'none' || text === 'passthrough') return text
  throw new SkiffError('E_USAGE', `--log-driver ${text}: skiff has k8s-file (json-file is the same, as in podman), none and passthrough`, { hint: 'e.g. --log-driver none' })
}

/** --tz: the host's zone file to show as /etc/localtime; checked on this host now. */
/** --pid, --uts: host, or private (the default; podman's spelling) */
function hostOrPrivate(text: string | undefined, flag: string): boolean {
  if (text === undefined || text === 'private' || text === '') return false
  if (text === 'host') return true
  throw new SkiffError('E_USAGE', `${flag}=${text}: expected host or private`, { hint: 'joining another container\'s namespaces this way is not there: use --network=container:NAME for the network' })
}

/**
 * --profile (or the Slurm job step's): its defaults written into argv where the user gave nothing,
 * so that every flag the user gives wins, one by one.
 */
function applyProfile(argv: CreateArgs): ProfileChoice {
  const choice = chooseProfile(argv.profile, process.env)
  if ('error' in choice) throw new SkiffError('E_USAGE', choice.error, { hint: 'hpc or default (docs/hpc.md)' })
  const left = argv['no-mount'].flatMap((m) => m.split(',')).filter(Boolean)
  for (const m of left) {
    if (!(PROFILE_MOUNTS as readonly string[]).includes(m)) throw new SkiffError('E_USAGE', `--no-mount ${m}: expected ${PROFILE_MOUNTS.join(', ')}`, { hint: 'e.g. --no-mount home,tmp' })
  }
  if (choice.name !== 'hpc') return choice
  argv.userns ??= 'keep-id'
  if (!argv.network.length && !argv.net.length) argv.network = ['host']
  argv.pid ??= 'host'
  argv.uts ??= 'host'
  argv['env-host'] ??= true
  argv['writable-tmpfs'] ??= !argv['read-only']
  argv.rm ??= true
  const cwd = process.cwd()
  const { binds, cwdInside } = profileBinds(process.env.HOME, cwd, left as ProfileMount[])
  // a path the user binds or mounts already is theirs to decide
  const taken = (p: string) => [...argv.volume, ...argv.mount, ...argv.tmpfs].some((v) => v.split(/[:,=]/).includes(p))
  argv.volume = [...binds.filter((b) => !taken(b)).map((b) => `${b}:${b}`), ...argv.volume]
  if (argv.workdir === undefined && cwdInside) argv.workdir = cwd
  return choice
}

/** --userns: podman's spellings skiff has (host, keep-id); "" is the default. */
function parseUserns(text: string | undefined): UsernsMode | undefined {
  if (text === undefined || text === '' || text === 'host') return text === 'host' ? 'host' : undefined
  if (text === 'keep-id') return 'keep-id'
  throw new SkiffError('E_USAGE', `--userns=${text}: expected host or keep-id`, {
    hint: text.startsWith('keep-id:') ? 'keep-id takes no options here: you keep your own uid and gid' : 'auto, nomap and ns:PATH are podman modes skiff does not have',
  })
}

function timeZone(text: string): { name: string; file: string } {
  const { existsSync, realpathSync } = require('node:fs') as typeof import('node:fs')
  if (text === 'local') {
    try {
      return { name: 'local', file: realpathSync('/etc/localtime') }
    } catch {
      throw new SkiffError('E_USAGE', '--tz local: this host has no /etc/localtime', { hint: 'name a zone instead, e.g. --tz Europe/Paris' })
    }
  }
  const file = `/usr/share/zoneinfo/${text}`
  if (!/^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/.test(text) || !existsSync(file)) {
    throw new SkiffError('E_USAGE', `--tz ${text}: no such time zone in /usr/share/zoneinfo`, { hint: 'use local, or an Area/City zone such as Europe/Paris (package tzdata)' })
  }
  return { name: text, file: realpathSync(file) }
}

export async function toCreateOptions(argv: CreateArgs): Promise<CreateOptions> {
  const profile = applyProfile(argv)
  const userns = parseUserns(argv.userns)
  if (!argv['sig-proxy']) {
    throw new SkiffError('E_USAGE', '--sig-proxy=false cannot be honoured: an attached container ends with skiff, so skiff passes signals on', { hint: 'run it detached (-d) and use skiff attach or skiff logs, which signals do not reach' })
  }
  const fromFiles = argv['env-file'].flatMap((f) => parseEnvFile(readUserTextFile(f, '--env-file')))
  checkWorkdir(argv.workdir)
  if (argv['stop-signal'] !== undefined) (await import('../core/container/stop.js')).parseSignal(argv['stop-signal'])
  for (const ip of argv.dns) {
    const { isIP } = require('node:net') as typeof import('node:net')
    if (!isIP(ip)) throw new SkiffError('E_USAGE', `--dns ${ip}: not an IP address`, { hint: 'name the server by address, e.g. --dns 9.9.9.9' })
  }
  if (!['always', 'missing', 'never'].includes(argv.pull)) {
    throw new SkiffError('E_USAGE', `--pull=${argv.pull}: expected always, missing or never`, { hint: "see 'skiff run --help'" })
  }
  let logMaxBytes: number | undefined
  for (const opt of argv['log-opt']) {
    const [key, value] = [opt.slice(0, opt.indexOf('=')), opt.slice(opt.indexOf('=') + 1)]
    if (key !== 'max-size' || !opt.includes('=')) {
      throw new SkiffError('E_USAGE', `--log-opt ${opt}: only max-size=SIZE is supported`, { hint: 'e.g. --log-opt max-size=10m' })
    }
    logMaxBytes = parseSize(value, '--log-opt max-size')
  }
  const { parseRestart } = await import('../core/container/create.js')
  const { checkTargets, parseMount, parseTmpfs, parseVolume } = await import('../core/launch/mount-spec.js')
  // --device vendor.com/class=name and --gpus: the CDI specs (read only when asked for)
  const cdiNames = argv.device.filter(isCdiName)
  const cdi = cdiNames.length || argv.gpus !== undefined ? await (await import('../core/launch/cdi.js')).deviceEdits(cdiNames, argv.gpus) : undefined
  const mountRequests = checkTargets([...argv.volume.map((v) => parseVolume(v)), ...argv.mount.map((m) => parseMount(m)), ...argv.tmpfs.map(parseTmpfs)])
  return {
    image: argv.image,
    args: argv.containerCommand,
    name: argv.name,
    rm: !!argv.rm,
    profile,
    pidHost: hostOrPrivate(argv.pid, '--pid'),
    utsHost: hostOrPrivate(argv.uts, '--uts'),
    envHost: !!argv['env-host'],
    writableTmpfs: !!argv['writable-tmpfs'],
    interactive: argv.interactive,
    tty: argv.tty,
    // a CDI device's variables first: the user's -e may change them
    env: [...(cdi?.env ?? []), ...fromFiles, ...argv.env],
    ...(cdi ? { extraMounts: cdi.mounts, hooks: cdi.hooks } : {}),
    workdir: argv.workdir,
    user: argv.user,
    userns,
    hostname: argv.hostname,
    entrypoint: argv.entrypoint,
    restart: parseRestart(argv.restart),
    init: argv.init,
    readOnly: argv['read-only'],
    logMaxBytes,
    stopTimeout: argv['stop-timeout'],
    stopSignal: argv['stop-signal'],
    mountRequests,
    storageDriver: argv['storage-driver'],
    limits: await toLimits(argv),
    cgroups: argv.cgroups === 'disabled' ? 'disabled' : 'enabled',
    net: {
      ...networkChoice(argv),
      publish: argv.publish,
      publishAll: argv['publish-all'],
      dns: { servers: argv.dns, search: argv['dns-search'], options: [...argv['dns-option'], ...argv['dns-opt']] },
      addHosts: argv['add-host'],
    },
    groupAdd: [...argv['group-add'], ...(cdi?.additionalGids ?? []).map(String)],
    rlimits: ulimits(argv.ulimit),
    sysctls: argv.sysctl.length ? parseSysctls(argv.sysctl, ownNetwork(argv)) : undefined,
    security: securityOptions(argv.privileged ? ['ALL', ...argv['cap-add']] : argv['cap-add'], argv['cap-drop'], argv.privileged ? ['unmask=ALL', 'seccomp=unconfined', ...argv['security-opt']] : argv['security-opt'], (path) => readUserTextFile(path, '--security-opt seccomp')),
    securityAsked: { CapAdd: argv['cap-add'], CapDrop: argv['cap-drop'], SecurityOpt: argv['security-opt'], ...(argv.privileged ? { Privileged: true } : {}) },
    deviceBinds: [...(deviceBinds(argv) ?? []), ...(cdi?.devices ?? [])],
    labels: parseLabels([...argv['label-file'].flatMap((f) => parseEnvFile(readUserTextFile(f, '--label-file'))), ...argv.label]),
    logDriver: logDriver(argv['log-driver']),
    tz: argv.tz !== undefined ? timeZone(argv.tz) : undefined,
    pull: argv.pull as 'always' | 'missing' | 'never',
    pullOptions: { tlsVerify: parseTlsVerify(argv['tls-verify']), platform: argv.platform },
  }
}

/** --device, and with --privileged every host device the user can open (a --device wins for its path). */
function deviceBinds(argv: CreateArgs): DeviceBind[] | undefined {
  const asked = argv.device.filter((d) => !isCdiName(d)).map(parseDevice)
  if (!argv.privileged) return asked.length ? asked : undefined
  return [...asked, ...openableDevices().filter((d) => !asked.some((a) => a.container === d.container))]
}

/** Whether the container gets a network namespace of its own (not host, not another container's). */
function ownNetwork(argv: CreateArgs): boolean {
  const n = [...argv.network, ...argv.net][0]
  return n !== 'host' && !n?.startsWith('container:')
}

/** --ulimit: parsed, and a hard limit above this session's refused now */
function ulimits(specs: string[]): Rlimit[] | undefined {
  if (!specs.length) return undefined
  const list = specs.map(parseUlimit)
  const names = list.map((l) => l.name)
  const twice = names.find((n, i) => names.indexOf(n) !== i)
  if (twice) throw new SkiffError('E_USAGE', `--ulimit ${twice} is given twice`, { hint: 'give each limit once' })
  checkUlimits(list, readFileSync('/proc/self/limits', 'utf8'))
  return list
}

/** --network (given once per bridge network), --ip, --network-alias, --mac-address. */
function networkChoice(argv: CreateArgs): { network?: string; moreNetworks?: string[]; ip?: string; aliases?: string[]; mac?: string } {
  const all = [...argv.network, ...argv.net]
  const aliases = [...argv['network-alias'], ...argv['net-alias']]
  if (argv.ip !== undefined && ip4ToInt(argv.ip) === undefined) throw new SkiffError('E_USAGE', `--ip ${argv.ip}: not an IPv4 address`, { hint: 'e.g. --ip 10.89.0.10' })
  const mac = argv['mac-address']
  if (mac !== undefined && !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(mac)) throw new SkiffError('E_USAGE', `--mac-address ${mac}: not a MAC address`, { hint: 'e.g. --mac-address 02:42:0a:59:00:0a' })
  if (mac !== undefined && parseInt(mac.slice(0, 2), 16) & 1) throw new SkiffError('E_USAGE', `--mac-address ${mac}: a multicast address (its first byte is odd)`, { hint: 'e.g. --mac-address 02:42:0a:59:00:0a' })
  if (all.length > 1 && !all.every(isNetworkName)) {
    throw new SkiffError('E_USAGE', `--network given ${all.length} times with a mode (${all.find((n) => !isNetworkName(n))}): only bridge networks can be combined`, { hint: 'e.g. --network web --network db' })
  }
  return { network: all[0], ...(all.length > 1 ? { moreNetworks: all.slice(1) } : {}), ip: argv.ip, aliases, mac: mac?.toLowerCase() }
}

/**
 * --preserve-fds N: a whole number of fds (from 3), at most 256, each given to skiff by its
 * caller. Node's start-up takes the lowest free fds for its event loop (an epoll and eventfds):
 * one of those where the caller gave nothing is refused. (Node's own pipes cannot be told from
 * the caller's: as with podman, give skiff the fds you name.)
 */
export function checkPreserveFds(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 256) {
    throw new SkiffError('E_USAGE', `--preserve-fds ${n}: a number of fds from 0 to 256 is expected`, { hint: 'e.g. --preserve-fds 1 passes fd 3 on to the command' })
  }
  for (let fd = 3; fd < 3 + n; fd++) {
    let target = ''
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`)
    } catch {}
    if (!target || /^anon_inode:\[(eventpoll|eventfd|signalfd|timerfd)\]$/.test(target)) {
      throw new SkiffError('E_USAGE', `--preserve-fds ${n}: fd ${fd} was not given to skiff`, { hint: `open fds 3 to ${2 + n} for skiff, e.g. skiff run --preserve-fds 1 IMAGE CMD 3<file` })
    }
  }
  return n
}

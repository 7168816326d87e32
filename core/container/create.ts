// skiff create (and the first half of run): image + options → a container record, its directory
// and its name. Nothing runs yet. Does I/O (store, files).
import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { chooseDriver, fuseOverlayfsMount, probeOverlay, requestedDriver, rootfsPlan, type Driver } from '../storage/driver.js'
import { hostIdMap, type UsernsMode } from '../launch/identity.js'
import { accountFiles, hostUser } from '../launch/accounts.js'
import { readImageFile } from '../image/files.js'
import { groupsToAdd, resolveUser } from '../launch/passwd.js'
import { resolvePaths, socketPath } from '../paths.js'
import { DEFAULT_CAPABILITIES, capabilityNumbers } from '../launch/capabilities.js'
import { seccompProgram } from '../launch/seccomp-program.js'
import { entrypointArgs, planLaunch, type ImageRunConfig, type RunOptions } from '../launch/spec.js'
import { findImage, layerDiffDir, openStore, type ImageRecord, type Store } from '../storage/store.js'
import { SkiffError } from '../errors.js'
import { mark } from '../trace.js'
import { randomHex } from '../random.js'
import { containerDir, containerEvent, type ContainerRecord } from './records.js'
import { processStartTime, writeFileAtomic } from '../lock.js'
import { checkName, releaseName, reserveGeneratedName, reserveName, stagingDir } from './names.js'
import type { IdMapPlan, NetworkPlan, RootfsPlan } from '../plan.js'
import { hostname as osHostname } from 'node:os'
import type { MountRequest } from '../launch/mount-spec.js'
import { resolveMounts } from './mounts.js'
import { volumePath } from '../storage/volumes.js'
import { pastaHelper, plainNetwork, planNetwork, type NetworkOptions } from '../net/setup.js'
import { slirpArgs } from '../net/network.js'
import { findExecutable } from '../host/tools.js'
import { limitFiles, type Limits } from '../cgroup/limits.js'
import { isoTime } from '../clock.js'

export type RestartPolicy = ContainerRecord['hostConfig']['RestartPolicy']

export interface CreateOptions extends RunOptions {
  image: string
  /** --group-add */
  groupAdd?: string[]
  /** --cap-add, --cap-drop, --security-opt as given, for inspect */
  securityAsked?: { CapAdd: string[]; CapDrop: string[]; SecurityOpt: string[]; Privileged?: boolean }
  user?: string
  /** the profile whose defaults the flags got (core/launch/profile.ts), for inspect */
  profile?: import('../launch/profile.js').ProfileChoice
  /** binds a CDI device brings (after -v and --mount) */
  extraMounts?: import('../plan.js').MountOp[]
  /** a CDI spec's OCI hooks */
  hooks?: { createContainer: import('../plan.js').HookPlan[]; startContainer: import('../plan.js').HookPlan[] }
  /** a Slurm step's shared container (slurm-step.ts): pid 1 holds the namespaces, the ranks exec the command */
  holder?: boolean
  /** --writable-tmpfs: the container's changes on a tmpfs of its own, never on disk */
  writableTmpfs?: boolean
  /** --userns: host (root inside, the default) or keep-id (the user's own ids inside) */
  userns?: UsernsMode
  name?: string
  rm: boolean
  /** Docker's --pull: always, missing (default), never */
  pull?: 'always' | 'missing' | 'never'
  pullOptions?: { tlsVerify: boolean; platform?: string }
  restart?: RestartPolicy
  init?: boolean
  readOnly?: boolean
  /** --log-opt max-size, bytes (0: no limit) */
  logMaxBytes?: number
  stopTimeout?: number
  stopSignal?: string
  /** -v, --mount, --tmpfs (see core/launch/mount-spec.ts) */
  mountRequests?: MountRequest[]
  /** --network, -p, -P, --dns*, --add-host */
  net?: NetworkOptions
  /** --storage-driver */
  storageDriver?: string
  /** --label, over the image's labels */
  labels?: Record<string, string>
  /** --log-driver: k8s-file (ctr.log), none, passthrough (attached only) */
  logDriver?: 'k8s-file' | 'none' | 'passthrough'
  /** --tz: the host's zone file, shown as /etc/localtime */
  tz?: { name: string; file: string }
  /** --memory, --cpus, ... and --cgroups */
  limits?: Limits
  cgroups?: 'enabled' | 'disabled'
  /** skiff build: an image without layers (FROM scratch) gets an empty directory as its one lower layer */
  emptyRoot?: boolean
}

declare const SKIFF_VERSION: string

/**
 * A single-file image's root: squashfuse mounts the file at <dir>/image (the waiter does, before
 * init), the only lower layer of the overlay (the kernel's, or fuse-overlayfs). With a single
 * mapped id every file shows as that id, as the unpacked layers of such a user are.
 */
function singleFileRootfs(driver: { driver: string; fuseOverlayfs?: string }, file: string, dir: string, once: boolean, idmap: IdMapPlan, squashfuseMount: typeof import('../image/squashfs.js').squashfuseMount): RootfsPlan {
  if (driver.driver === 'copy') {
    throw new SkiffError('E_DRIVER', `single-file image ${file}: the copy storage driver cannot run one (it copies layers, and this image has none in the store)`, {
      hint: 'use the overlay or fuse-overlayfs driver (skiff info says which work here), or load the image into the store instead',
    })
  }
  const one = idmap.uidMap.length === 1 && idmap.uidMap[0]!.count === 1 && idmap.gidMap.length === 1 && idmap.gidMap[0]!.count === 1
  const mountImage = squashfuseMount(file, join(dir, 'image'), one ? { uid: idmap.uidMap[0]!.inside, gid: idmap.gidMap[0]!.inside } : undefined)
  const r = rootfsPlan(driver.driver as 'overlay' | 'fuse-overlayfs', dir, [join(dir, 'image')], dir, driver.fuseOverlayfs, once)
  return r.kind === 'bind' ? r : { ...r, fuse: [mountImage, ...(r.fuse ?? [])] }
}

/**
 * An image whose layers are (partly) an additional store's: their owners (the administrator's
 * ids) are not mapped in the user's namespace, so the kernel's overlay could not copy a file of
 * theirs up, nor make a mount point in their directories. fuse-overlayfs shows every file as the
 * container's root (or, under keep-id, the user) and copies up as the user.
 */
function sharedLayersRootfs(layersDir: string, layerDirs: string[], dir: string, idmap: IdMapPlan): RootfsPlan {
  const program = findExecutable('fuse-overlayfs')
  if (!program) {
    throw new SkiffError('E_DRIVER', 'this image\'s layers are in a read-only additional store, whose files only fuse-overlayfs can show as yours', { hint: 'install fuse-overlayfs (apt-get install fuse-overlayfs), or pull the image into your own store' })
  }
  const root = idmap.uidMap.find((r) => r.inside === 0) ? 0 : idmap.uidMap[0]!.inside
  const group = idmap.gidMap.find((r) => r.inside === 0) ? 0 : idmap.gidMap[0]!.inside
  const plan = { ...(rootfsPlan('fuse-overlayfs', layersDir, layerDirs, dir, program, false) as Extract<RootfsPlan, { kind: 'fuse-overlayfs' }>), squash: { uid: root, gid: group } }
  return { ...plan, fuse: [fuseOverlayfsMount(plan)] }
}

/** --writable-tmpfs: the overlay's upper and work directories on a tmpfs the shim mounts at `scratch`. */
function withScratch(rootfs: RootfsPlan, writableTmpfs: boolean | undefined, dir: string): RootfsPlan {
  if (!writableTmpfs) return rootfs
  if (rootfs.kind === 'bind') {
    throw new SkiffError('E_USAGE', '--writable-tmpfs needs the overlay or fuse-overlayfs storage driver, and this container would use copy', {
      hint: 'leave --writable-tmpfs out (or give --writable-tmpfs=false), or use another --storage-driver where this machine allows it',
    })
  }
  const scratch = join(dir, 'upper')
  const upper = { scratch, upperdir: join(scratch, 'upper'), workdir: join(scratch, 'work') }
  if (rootfs.kind === 'overlay') return { ...rootfs, ...upper, options: rootfs.options.filter((o) => o !== 'volatile') }
  // fuse-overlayfs: its arguments name the upper directory (the image's squashfuse mount, if any, stays first)
  const plan = { ...rootfs, ...upper }
  return { ...plan, scratch, fuse: [...rootfs.fuse.slice(0, -1), fuseOverlayfsMount(plan)] }
}

/** /run/.containerenv as podman writes it: key="value" lines about the container. */
export function containerEnv(c: { name: string; id: string; image: string; imageId: string }): string {
  const q = (v: string) => JSON.stringify(v)
  const engine = `skiff-${typeof SKIFF_VERSION === 'string' ? SKIFF_VERSION : 'dev'}`
  return `engine=${q(engine)}\nname=${q(c.name)}\nid=${q(c.id)}\nimage=${q(c.image)}\nimageid=${q(c.imageId.replace(/^sha256:/, ''))}\nrootless=${process.getuid?.() === 0 ? 0 : 1}\n`
}

/** Docker's --restart: no | on-failure[:N] | always | unless-stopped */
export function parseRestart(text: string): RestartPolicy {
  const m = /^(no|always|unless-stopped|on-failure)(?::(\d+))?$/.exec(text)
  if (!m || (m[2] !== undefined && m[1] !== 'on-failure')) {
    throw new SkiffError('E_USAGE', `--restart=${text}: expected no, on-failure[:N], always or unless-stopped`, { hint: "see 'skiff run --help'" })
  }
  return { Name: m[1] as RestartPolicy['Name'], MaximumRetryCount: m[2] ? Number(m[2]) : 0 }
}

/** The image, pulled first when the policy says so (and only then is the registry code loaded). */
async function imageFor(store: Store, opts: CreateOptions): Promise<ImageRecord> {
  const pull = async () => {
    const { pullImage } = await import('../image/pull.js')
    const { plainProgress, terminalProgress } = await import('../image/pull-progress.js')
    const progress = process.stderr.isTTY ? terminalProgress(process.stderr) : plainProgress((s) => process.stderr.write(s))
    const r = await pullImage(opts.image, { tlsVerify: opts.pullOptions?.tlsVerify ?? true, platform: opts.pullOptions?.platform, progress })
    for (const w of r.warnings) process.stderr.write(`skiff: warning: ${w}\n`)
    return findImage(store, r.id)
  }
  if (opts.pull === 'always') return pull()
  let local: ImageRecord
  try {
    local = await findImage(store, opts.image)
  } catch (err) {
    if ((err as SkiffError).code !== 'E_NO_IMAGE') throw err
    // a short name registries.conf has an alias for (podman's): looked for under that name too
    const { findLocalImage } = await import('../image/registries.js')
    const found = await findLocalImage(store, opts.image).catch(() => undefined)
    if (found) return found
    if (opts.pull === 'never') throw err
    return pull()
  }
  // --platform: a local image of another platform is not the one asked for (Docker pulls then)
  const want = opts.pullOptions?.platform
  const { os = 'linux', architecture = '' } = local.config
  const [wantOs, wantArch] = want?.split('/') ?? []
  if (!want || (wantOs === os && (wantArch === undefined || wantArch === architecture))) return local
  if (opts.pull === 'never') {
    throw new SkiffError('E_PLATFORM', `the image ${opts.image} is ${os}/${architecture}, not ${want}`, { hint: `pull it for that platform: skiff pull --platform ${want} ${opts.image}` })
  }
  return pull()
}

/** Remove a tree of the user's own files, some of whose directories may have no permissions (overlay's work/work). */
function removeOwnTree(path: string): void {
  const open = (p: string) => {
    const st = lstatSync(p, { throwIfNoEntry: false })
    if (!st?.isDirectory()) return
    try {
      chmodSync(p, 0o700)
      for (const n of readdirSync(p)) open(join(p, n))
    } catch {}
  }
  open(path)
  rmSync(path, { recursive: true, force: true })
}

/**
 * A container directory is made in tmp/ as "create-<pid>-<id>" and renamed into containers/ with
 * its record inside, so a create killed halfway leaves no container without a record. This removes
 * what such a create left (files there are still the user's own).
 */
export function sweepStaleCreates(store: Store): void {
  const tmp = join(store.root, 'tmp')
  for (const name of readdirSync(tmp)) {
    // a create, or the overlay probe of one, whose process is gone
    const pid = Number(/^(?:create|probe)-(\d+)-/.exec(name)?.[1])
    if (pid && pid !== process.pid && !processStartTime(pid)) removeOwnTree(join(tmp, name))
  }
}

/** The storage driver for a new container, and the program fuse-overlayfs needs. */
async function pickDriver(store: Store, flag: string | undefined): Promise<{ driver: Driver; reason: string; fuseOverlayfs?: string }> {
  const requested = requestedDriver(flag)
  // the probe runs once per kernel (cached in the store); a configured driver needs none
  const overlay = requested ? undefined : await probeOverlay(store.root, join(store.root, 'tmp'))
  // looked for only where it may serve (a walk of $PATH, on the path of every run otherwise)
  const fuseOverlayfs = requested?.driver === 'fuse-overlayfs' || overlay?.works === false ? findExecutable('fuse-overlayfs') : undefined
  let devFuse = false
  if (!requested && overlay && !overlay.works && fuseOverlayfs) {
    try {
      closeSync(openSync('/dev/fuse', 'r+'))
      devFuse = true
    } catch {}
  }
  return { ...chooseDriver({ requested, overlay, fuseOverlayfs, devFuse }), fuseOverlayfs }
}

export async function createContainer(opts: CreateOptions): Promise<{ store: Store; record: ContainerRecord }> {
  mark('modules loaded')
  const paths = resolvePaths()
  const store = await openStore(paths)
  // a single-file image (FILE.sqsh, sqsh:FILE): nothing of it in the store (the name is looked at
  // here only so far as to load squashfs.js for such names alone; squashfsPath decides)
  const squashfs = /^sqsh:|\.(sqsh|squashfs)$/.test(opts.image) ? await import('../image/squashfs.js') : undefined
  const singleFile = squashfs?.squashfsPath(opts.image)
  const single = singleFile ? squashfs!.readSquashfsImage(singleFile, join(store.root, 'squashfs')) : undefined
  const image: ImageRecord = single ? { id: single.id, names: [opts.image], loaded: '', config: single.config, layers: [] } : await imageFor(store, opts)
  mark('image found')
  const config: ImageRunConfig & { Labels?: Record<string, string> } = image.config.config ?? {}
  if (image.layers.length === 0 && !opts.emptyRoot && !single) {
    throw new SkiffError('E_NO_LAYERS', `image ${opts.image} has no layers: there is nothing to run`, { hint: 'load an image with a root filesystem' })
  }
  if (opts.rm && opts.restart && opts.restart.Name !== 'no') {
    throw new SkiffError('E_USAGE', '--rm and --restart cannot be combined', { hint: 'a container that removes itself cannot be restarted: drop one of them' })
  }
  // Overlay lists lower layers top-most first; the image lists them base first.
  const layerDirs = image.layers.map((l) => layerDiffDir(store, l.diffID)).reverse()
  if (!layerDirs.length && !single) {
    const empty = join(store.root, 'layers', 'empty', 'diff')
    mkdirSync(empty, { recursive: true, mode: 0o755 })
    layerDirs.push(empty)
  }
  const layersDir = join(paths.storage, 'layers')
  const groupText = single ? single.group : readImageFile(layerDirs, 'etc/group')
  const passwdText = single ? single.passwd : readImageFile(layerDirs, 'etc/passwd')
  const keepId = opts.userns === 'keep-id'
  // keep-id: you are yourself inside (unless --user says otherwise), with the host's groups
  const user = keepId && opts.user === undefined ? hostUser() : resolveUser(opts.user ?? config.User ?? '', passwdText, groupText)
  // --group-add: more supplementary groups, by number or by the image's names
  if (opts.groupAdd?.length) user.additionalGids = [...new Set([...user.additionalGids, ...groupsToAdd(opts.groupAdd, groupText)])]
  mark('user resolved')

  // limits that cannot be enforced here fail now, before anything is made (checked again at start)
  const limits: Limits = opts.limits ?? { conf: {} }
  if ((opts.cgroups ?? 'enabled') === 'enabled' && Object.keys(limitFiles(limits)).length) {
    const { checkCgroup } = await import('../cgroup/limits.js')
    await checkCgroup(limits)
  }
  const id = randomHex(32)
  const name = opts.name ? checkName(opts.name) : undefined
  const dir = containerDir(store, id)
  // made before the name is claimed: another create that finds the name taken sees it in the making
  const staging = stagingDir(store, id)
  mkdirSync(staging, { mode: 0o755 })
  let finalName: string
  try {
    if (name) reserveName(store, name, id)
    finalName = name ?? reserveGeneratedName(store, id)
  } catch (err) {
    rmSync(staging, { recursive: true, force: true })
    throw err
  }
  try {
    mark('name reserved')
    sweepStaleCreates(store)
    // --uts=host: the host's name, which the container cannot change
    const hostname = opts.utsHost ? osHostname() : opts.hostname || id.slice(0, 12)
    // the upper directory's root is the container's /: it must be traversable by every user
    mkdirSync(join(staging, 'upper'), { mode: 0o755 })
    mkdirSync(join(staging, 'work'), { mode: 0o700 })
    mkdirSync(join(staging, 'merged'), { mode: 0o700 })
    if (single) mkdirSync(join(staging, 'image'), { mode: 0o755 })
    const hosts = join(dir, 'hosts')
    const hostnameFile = join(dir, 'hostname')
    const resolv = join(dir, 'resolv.conf')
    const net = await planNetwork(opts.net ?? plainNetwork(), {
      hostname,
      name: finalName,
      exposed: image.config.config?.ExposedPorts,
      root: store.root,
    })
    for (const w of net.warnings) process.stderr.write(`skiff: warning: ${w}\n`)
    mark('network planned')
    writeFileSync(join(staging, 'hosts'), net.hosts)
    writeFileSync(join(staging, 'hostname'), `${hostname}\n`)
    writeFileSync(join(staging, 'resolv.conf'), net.resolv)
    writeFileSync(join(staging, 'containerenv'), containerEnv({ name: finalName, id, image: opts.image, imageId: image.id }), { mode: 0o644 })
    mark('files written')
    const idmap = hostIdMap(opts.userns).plan
    mark('id map chosen')
    // keep-id: the image learns your name (and your group's) when it has no entry for your ids
    const accounts = keepId ? accountFiles(passwdText ?? '', groupText ?? '', user) : {}
    if (accounts.passwd !== undefined) writeFileSync(join(staging, 'passwd'), accounts.passwd, { mode: 0o644 })
    if (accounts.group !== undefined) writeFileSync(join(staging, 'group'), accounts.group, { mode: 0o644 })
    if (opts.groupAdd?.length && idmap.denySetgroups) {
      throw new SkiffError('E_GROUPS', `--group-add ${opts.groupAdd.join(',')}: supplementary groups need subordinate gid ranges, and this user has none (a single id is mapped)`, {
        hint: 'give your user a range in /etc/subgid (`skiff info` prints the command), or leave --group-add out',
      })
    }
    // ping for every mapped group: the first and last mapped gid (both must be mapped)
    const last = idmap.gidMap[idmap.gidMap.length - 1]!
    const network: NetworkPlan = { pingGroupRange: `${idmap.gidMap[0]!.inside} ${last.inside + last.count - 1}` }
    if (net.mode === 'pasta') network.helper = pastaHelper(net.settings.ports, !!net.settings.hostLoopback)
    if (net.mode === 'slirp4netns') {
      // TCP through skiff's own forwarder (splice, as rootlesskit's builtin driver: measured
      // faster than slirp4netns's API in bench/network.mjs); UDP through slirp4netns's API.
      // SKIFF_SLIRP_PORTS=api sends TCP through the API too.
      const own = process.env.SKIFF_SLIRP_PORTS !== 'api'
      const viaApi = net.settings.ports.filter((p) => !own || p.proto === 'udp')
      const apiSocket = viaApi.length ? socketPath(paths, 'slirp', id) : undefined
      network.helper = {
        kind: 'slirp4netns',
        path: findExecutable('slirp4netns')!,
        args: slirpArgs(apiSocket, !!net.settings.hostLoopback),
        apiSocket,
        ports: viaApi.map((p) => ({ proto: p.proto, hostAddr: p.hostIp || '0.0.0.0', hostPort: p.hostPort, containerPort: p.containerPort })),
      }
      if (own) network.forward = net.settings.ports.filter((p) => p.proto === 'tcp').map((p) => ({ hostAddr: p.hostIp || '0.0.0.0', hostPort: p.hostPort, containerPort: p.containerPort }))
    }

    const mounts = resolveMounts(store, opts.mountRequests ?? [])
    // --rm takes the container's anonymous volumes with it (the waiter removes them too)
    const anonymous = mounts.info.filter((m) => m.Anonymous).map((m) => volumePath(store, m.Name!))
    mark('mounts resolved')
    const driver = await pickDriver(store, opts.storageDriver)
    mark('driver picked')
    if (driver.driver === 'copy') {
      // the copying driver: the image's layers copied into the container's own directory once
      const { runSelfInUserns } = await import('../launch/in-userns.js')
      const layers = [...layerDirs].reverse().map((d) => dirname(d))
      await runSelfInUserns(['__storage'], JSON.stringify([{ op: 'materialize', layers, dest: join(staging, 'rootfs') }]))
    }
    // the seccomp program, a file of the container's that the shim reads (kept out of the plan,
    // which every `ps` reads)
    const seccomp = await seccompProgram(opts.security?.seccomp ?? 'default', opts.security?.capabilities ?? capabilityNumbers(DEFAULT_CAPABILITIES), join(store.root, 'seccomp'))
    if (seccomp) writeFileSync(join(staging, 'seccomp.bpf'), seccomp.program, { mode: 0o600 })
    const plan = planLaunch({
      config,
      options: { ...opts, hostname },
      id,
      user,
      idmap,
      rootfs: withScratch(single ? singleFileRootfs(driver, single.file, dir, !!opts.rm, idmap, squashfs!.squashfuseMount)
        : layerDirs.some((d) => !d.startsWith(`${layersDir}/`)) ? sharedLayersRootfs(layersDir, layerDirs, dir, idmap)
        : rootfsPlan(driver.driver, layersDir, layerDirs, dir, driver.fuseOverlayfs, !!opts.rm), opts.writableTmpfs, dir),
      etcFiles: {
        hosts, hostname: hostnameFile, resolv, containerenv: join(dir, 'containerenv'),
        ...(accounts.passwd !== undefined ? { passwd: join(dir, 'passwd') } : {}),
        ...(accounts.group !== undefined ? { group: join(dir, 'group') } : {}),
      },
      netns: net.mode === 'host' ? 'host' : typeof net.mode === 'object' ? 'join' : 'own',
      network: net.mode === 'host' ? undefined : network,
      hostEnv: process.env,
      cleanup: opts.rm ? [dir, ...anonymous] : undefined,
      trash: opts.rm ? join(store.root, 'tmp') : undefined,
      extraMounts: [...mounts.ops, ...(opts.extraMounts ?? []), ...(opts.tz ? [{ kind: 'bind' as const, source: opts.tz.file, target: '/etc/localtime', flags: ['ro' as const, 'nosuid' as const, 'nodev' as const, 'noexec' as const] }] : [])],
      readOnly: opts.readOnly,
      seccomp: seccomp && { profile: seccomp.profile, file: join(dir, 'seccomp.bpf'), flags: seccomp.flags },
    })
    if (opts.init) plan.process.init = true
    if (opts.hooks && (opts.hooks.createContainer.length || opts.hooks.startContainer.length)) {
      // the hooks' bundle: the container's directory, whose config.json names the root (OCI's)
      plan.hooks = { id, bundle: dir, ...opts.hooks }
      const root = plan.rootfs && 'target' in plan.rootfs ? plan.rootfs.target : join(dir, 'merged')
      writeFileSync(join(staging, 'config.json'), JSON.stringify({ ociVersion: '1.0.2', root: { path: root }, process: { args: plan.process.args, env: plan.process.env, cwd: plan.process.cwd } }), { mode: 0o644 })
    }
    if (opts.holder) plan.process = { ...plan.process, args: ['pause'], builtin: true, init: false, terminal: false, stdin: false }
    // keep-id without --user: the process keeps the supplementary groups it has on the host
    if (keepId && opts.user === undefined) plan.process.keepGroups = true
    const record: ContainerRecord = {
      id,
      name: finalName,
      image: opts.image,
      imageId: image.id,
      created: isoTime(),
      plan,
      config: {
        Hostname: hostname,
        User: opts.user ?? config.User ?? '',
        Env: plan.process.env,
        Cmd: opts.args.length ? opts.args : opts.entrypoint !== undefined ? [] : (config.Cmd ?? []),
        Entrypoint: opts.entrypoint !== undefined ? (opts.entrypoint ? entrypointArgs(opts.entrypoint) : null) : (config.Entrypoint ?? null),
        WorkingDir: plan.process.cwd,
        Tty: opts.tty,
        OpenStdin: opts.interactive,
        Image: opts.image,
        Labels: { ...(config.Labels ?? {}), ...(opts.labels ?? {}) },
        StopSignal: opts.stopSignal ?? config.StopSignal ?? 'SIGTERM',
      },
      hostConfig: {
        AutoRemove: opts.rm,
        RestartPolicy: opts.restart ?? { Name: 'no', MaximumRetryCount: 0 },
        Init: !!opts.init,
        ReadonlyRootfs: !!opts.readOnly,
        LogMaxBytes: opts.logMaxBytes ?? 10 * 1024 * 1024,
        ...(opts.logDriver && opts.logDriver !== 'k8s-file' ? { LogDriver: opts.logDriver } : {}),
        StopTimeout: opts.stopTimeout ?? 10,
        Cgroups: opts.cgroups ?? 'enabled',
        Limits: limits,
        ...(opts.securityAsked ? opts.securityAsked : {}),
        ...(opts.groupAdd?.length ? { GroupAdd: opts.groupAdd } : {}),
        ...(keepId ? { UsernsMode: 'keep-id' as const } : {}),
        ...(opts.pidHost ? { PidMode: 'host' as const } : {}),
        ...(opts.utsHost ? { UTSMode: 'host' as const } : {}),
        ...(opts.writableTmpfs ? { WritableTmpfs: true } : {}),
        ...(opts.profile ? { Profile: opts.profile } : {}),
      },
      mounts: mounts.info,
      network: net.settings,
      driver: driver.driver,
      ...(opts.tty ? { attachSocket: socketPath(paths, 'attach', id) } : {}),
    }
    // a --rm container's record lives as long as its process: it need not survive a crash
    writeFileAtomic(join(staging, 'container.json'), JSON.stringify(record), 0o644, !opts.rm)
    renameSync(staging, dir)
    containerEvent(store, record, 'create')
    mark('container created')
    return { store, record }
  } catch (err) {
    rmSync(staging, { recursive: true, force: true })
    releaseName(store, finalName, id)
    throw err
  }
}

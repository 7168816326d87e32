// The launch plan: everything the shim needs to start a container, as plain data. Pure types.
//
// TypeScript decides (policy); the shim executes (mechanism). The plan is written as one line of
// JSON to the shim's control fd; shims/README.md documents the same contract from the C side.
// Keep the two in step: a field added here is ignored by the shim until it reads it.

/** One line of /proc/PID/uid_map or gid_map: `inside outside count`. */
export interface IdRange {
  inside: number
  outside: number
  count: number
}

/**
 * How the user namespace gets its id maps.
 * - `helpers`: the shim runs newuidmap/newgidmap (setuid, from the `uidmap` package) on the
 *   namespaced child, with the ranges below (container 0 → the user, 1..N → /etc/subuid).
 * - `self`: the shim writes the maps itself. Only a single mapping of the caller's own ids is
 *   allowed to an unprivileged process, and it must write `deny` to setgroups first.
 *   Real root may write any map this way.
 */
export interface IdMapPlan {
  /** `none`: no user namespace at all (real root running an OCI config without one) */
  mode: 'helpers' | 'self' | 'none'
  uidMap: IdRange[]
  gidMap: IdRange[]
  newuidmap?: string
  newgidmap?: string
  /** write "deny" to /proc/PID/setgroups before gid_map (required for `self` when unprivileged) */
  denySetgroups: boolean
}

/** Namespaces created (unshared) after the user namespace, which is always first. */
export type Namespace = 'mount' | 'pid' | 'uts' | 'ipc' | 'net' | 'cgroup'

/** Mount flags by name, as in mount(8); the shim maps each to MS_* bits. */
export type MountFlag =
  | 'ro' | 'nosuid' | 'nodev' | 'noexec' | 'relatime' | 'strictatime' | 'noatime'
  | 'rec' | 'private' | 'rprivate' | 'slave' | 'rslave' | 'shared' | 'rshared' | 'unbindable' | 'runbindable'
  | 'sync' | 'dirsync' | 'nodiratime'

/**
 * One step of building the container's filesystem, executed in order, after the rootfs is mounted
 * and before pivot_root. Every `target` is an absolute path inside the container (e.g. "/proc")
 * and is resolved inside the rootfs without following symlinks out of it (openat2 RESOLVE_IN_ROOT).
 * Missing targets are created: a directory, or an empty file when the bind source is not a
 * directory. `optional: true` makes a failure a silent skip (e.g. /dev/mqueue).
 */
export type MountOp =
  /** mount(source, target, fstype, flags, data) */
  | { kind: 'mount'; source: string; target: string; fstype: string; flags: MountFlag[]; data?: string; optional?: boolean }
  /** bind mount of a host path (absolute, outside the container); `flags` may hold ro/nosuid/nodev/noexec/rec, applied by a remount */
  | { kind: 'bind'; source: string; target: string; flags: MountFlag[]; optional?: boolean }
  /** symlink(linkTo, target) inside the container, e.g. /dev/ptmx -> pts/ptmx */
  | { kind: 'symlink'; target: string; linkTo: string }
  /** hide a path: /dev/null bound over a file, an empty read-only tmpfs over a directory; absent paths are skipped */
  | { kind: 'mask'; target: string }
  /** bind the path onto itself and remount it read-only; absent paths are skipped */
  | { kind: 'readonly'; target: string }
  /** an OCI config's device node, made by mknod (real root without a user namespace only; a FIFO anywhere) */
  | { kind: 'mknod'; target: string; type: 'c' | 'b' | 'p'; major: number; minor: number; mode: number; uid: number; gid: number }
  /** --sysctl: `value` written to a /proc/sys file of the container's own namespaces */
  | { kind: 'sysctl'; target: string; value: string }

/** How the container's root filesystem is made. */
export type RootfsPlan =
  /**
   * kernel overlayfs mounted on `target`. `lowerdirs` are listed top-most first, relative to
   * `layersDir` (the shim chdirs there first, so long layer lists fit in one page of options).
   */
  | {
    kind: 'overlay'; layersDir: string; lowerdirs: string[]; upperdir: string; workdir: string; target: string; options: string[]
    /** --writable-tmpfs: a tmpfs mounted here first, holding upperdir and workdir (`scratch`/upper, /work) */
    scratch?: string
    /** a single-file image: squashfuse mounts it (a lower dir) first */
    fuse?: FuseMount[]
  }
  /** an existing directory bind-mounted as the root */
  | { kind: 'bind'; source: string; target: string; readonly: boolean }
  /**
   * `program` (fuse-overlayfs) run by the waiter in a mount namespace of its own, with lower dirs
   * relative to `layersDir` (its working directory), mounting on `target` before init exists
   */
  | {
    kind: 'fuse-overlayfs'; program: string; layersDir: string; lowerdirs: string[]; upperdir: string; workdir: string; target: string; fuse: FuseMount[]
    /** every file shown as this owner (layers of an additional store, whose owners are not mapped here) */
    squash?: { uid: number; gid: number }
    /** --writable-tmpfs: as for overlay, mounted by the waiter before the daemon starts */
    scratch?: string
  }

/**
 * A FUSE daemon the waiter runs (in the foreground, as its child) in its own mount namespace
 * before init exists, until `target` is a mount: fuse-overlayfs, squashfuse.
 */
export interface FuseMount {
  /** argv; args[0] an absolute path */
  args: string[]
  target: string
  cwd?: string
}

/** An OCI hook: argv (args[0] by convention the path), its own environment, a timeout in seconds. */
export interface HookPlan {
  path: string
  args?: string[]
  env?: string[]
  timeout?: number
}

/** A compiled seccomp profile (core/launch/seccomp.ts). */
export interface SeccompPlan {
  /** where it came from, for inspect: "default" or the profile file's path */
  profile: string
  /** the program: struct sock_filter[] (8 bytes each), a file of the container's own */
  file: string
  /** seccomp(2) SECCOMP_SET_MODE_FILTER flags */
  flags: number
}

/** Capability sets, as capability numbers (see core/launch/capabilities.ts). */
export interface CapabilityPlan {
  bounding: number[]
  effective: number[]
  permitted: number[]
  inheritable: number[]
  ambient: number[]
}

export interface ProcessPlan {
  /** argv; args[0] is looked up in the PATH of `env` when it has no slash */
  args: string[]
  /** KEY=value */
  env: string[]
  /** absolute, inside the container; created (as container root) when missing */
  cwd: string
  uid: number
  gid: number
  additionalGids: number[]
  /**
   * --userns=keep-id: setgroups is not called, so the process keeps the supplementary groups it
   * had on the host (their files stay reachable; unmapped ones show as the overflow gid inside)
   */
  keepGroups?: boolean
  /** allocate a pty in the container's devpts; the shim relays it to its own stdin/stdout */
  terminal: boolean
  /** when `terminal`: whether to read stdin at all (`-i`); without it the pty gets no input */
  stdin: boolean
  /**
   * when `terminal` and `stdin`, attached: the keys (bytes) that detach this terminal and leave
   * the process running (Docker's Ctrl-P Ctrl-Q); absent or empty: none do
   */
  detachKeys?: number[]
  /**
   * --preserve-fds: skiff's fds 3... (this many) become the process's fds 3...; the shim gets
   * them as fds 4... (its fd 3 is the control socket) and init moves them into place
   */
  preserveFds?: number
  /**
   * with preserveFds: the fd numbers they take in the process instead of 3.. — skiff's own fds of
   * those numbers (a Slurm step's PMI_FD, say, which must keep its number)
   */
  fdTargets?: number[]
  noNewPrivileges: boolean
  capabilities: CapabilityPlan
  /** the seccomp filter, loaded last before exec (after no_new_privs); absent: none */
  seccomp?: SeccompPlan
  /** --ulimit: setrlimit(type, soft, hard) before exec; -1 is unlimited */
  rlimits?: { name: string; type: number; soft: number; hard: number }[]
  /** an OCI config's process.oomScoreAdj and umask, set before the ids change */
  oomScoreAdj?: number
  umask?: number
  /** --init: the shim stays as pid 1, reaps orphans and forwards signals to the command */
  init?: boolean
  /**
   * args name one of the shim's own builtins instead of a program (skiff cp): ["tar-out", PATH,
   * NAME, "follow"?] writes a tar of PATH to stdout; ["tar-in", DEST, "keep-owner"?] reads one
   */
  builtin?: boolean
}

/**
 * The shim's outer process as the container's supervisor. With `dir` it records each start and
 * exit there (state.json, exit.json); with `detach` it also outlives skiff, logs the container's
 * output and applies the restart policy.
 */
export interface SupervisorPlan {
  dir: string
  detach: boolean
  /** the log file (CRI format lines, see shims/README.md), renamed to PATH.1 past maxBytes */
  log?: { path: string; maxBytes: number }
  restart?: { policy: 'no' | 'on-failure' | 'always' | 'unless-stopped'; maxRetries: number }
  /** detached with a terminal: the waiter serves `skiff attach` on this unix socket */
  attachSocket?: string
  /** the events journal (core/events.ts), where the supervisor appends "die" at each end */
  events?: { path: string; id: string; name: string; image: string; labels?: Record<string, string> }
}

export interface LaunchPlan {
  version: 1
  idmap: IdMapPlan
  namespaces: Namespace[]
  /** absent: no new root (used for helpers that run inside the user namespace only) */
  rootfs?: RootfsPlan
  /** propagation applied to the whole tree first, so nothing leaks back to the host */
  rootPropagation: 'rprivate' | 'rslave'
  /** an OCI config's rootfsPropagation: applied to the container's root after pivot_root */
  rootfsPropagation?: 'private' | 'rprivate' | 'slave' | 'rslave' | 'shared' | 'rshared' | 'unbindable' | 'runbindable'
  mounts: MountOp[]
  hostname?: string
  /** an OCI config's domainname (setdomainname in the container's uts namespace) */
  domainname?: string
  process: ProcessPlan
  /**
   * The OCI runtime face (core/runtime): namespaces of an OCI config given by path, entered
   * instead of made (user, net and pid by the waiter, the rest by init)
   */
  joinNamespaces?: { type: 'user' | 'net' | 'pid' | 'mnt' | 'uts' | 'ipc' | 'cgroup'; path: string }[]
  oci?: OciPlan
  /**
   * Host paths removed recursively (never following symlinks or crossing mounts) by the shim's
   * waiter inside the user namespace after the container's process ended and its mount namespace
   * is gone: files there belong to mapped ids the user cannot delete from outside.
   */
  cleanup?: string[]
  /**
   * A directory on the cleanup paths' filesystem (the store's tmp/). The waiter first renames
   * them there (as removing-<pid>-<n>), so they are out of the store at once; attached, it tells
   * skiff the exit status before it deletes them, so the deletion goes on behind that answer.
   */
  trash?: string
  supervisor?: SupervisorPlan
  network?: NetworkPlan
  /**
   * A CDI spec's OCI hooks (shims/hooks.c): createContainer before pivot_root, startContainer
   * after it, with the state {id, bundle} on stdin (the bundle's config.json names the root)
   */
  hooks?: { id: string; bundle: string; createContainer: HookPlan[]; startContainer: HookPlan[] }
  /**
   * The container's cgroup: the supervisor moves the waiter into it before init exists, reports
   * OOM kills from its memory.events, removes it at the end. `path`: made and filled with limits
   * by skiff in the user's delegated subtree. `scope`: the shim runs in a systemd scope of its
   * own (systemd-run --user --scope -p Delegate=yes) and makes `<scope>/container` itself, with
   * these controllers enabled (a `needed` one that fails is an error) and these files written.
   */
  cgroup?: { path?: string; scope?: CgroupScopePlan }
}

export interface CgroupScopePlan {
  /** where cgroup2 is mounted (the scope's path is read from /proc/self/cgroup) */
  mount: string
  controllers: string[]
  needed: string[]
  files: Record<string, string>
}

/**
 * The network namespace (made by the waiter, with loopback up) and how it reaches the world.
 * Absent, or without `helper`: loopback only.
 */
export interface NetworkPlan {
  helper?: NetworkHelper
  /** --network=container:X: join the user and network namespaces of this process instead */
  joinPid?: number
  bridge?: BridgePlan
  /**
   * Ports the supervisor forwards itself: it listens on the host and connects inside through the
   * waiter (TCP: a spliced connection each; UDP, bridge networks: a session per client address)
   */
  forward?: { proto?: 'tcp' | 'udp'; hostAddr: string; hostPort: number; containerPort: number }[]
  /** where forwarded connections go in the container: its loopback (default), or its bridge address */
  forwardTo?: string
  /** net.ipv4.ping_group_range inside, e.g. "0 65536": root in the container may ping */
  pingGroupRange?: string
}

/**
 * pasta or slirp4netns, started by the supervisor on the waiter's namespaces (the shim appends
 * the pid, and for slirp4netns --ready-fd/--exit-fd and the tap name), stopped with the container.
 * `run` may send a pasta helper with the prelude: the shim then starts it on the prelude's own
 * network namespace while skiff makes the container.
 */
export interface NetworkHelper {
  kind: 'pasta' | 'slirp4netns'
  path: string
  args: string[]
  /** slirp4netns: its API socket, and the ports to forward through it once it is ready */
  apiSocket?: string
  ports?: { proto: 'tcp' | 'udp'; hostAddr: string; hostPort: number; containerPort: number }[]
}

/**
 * A container on bridge networks: the supervisor enters the user namespace of the network keeper
 * (`keeperPid`), makes the container's in it (the plan's id maps are in the keeper's ids), and once
 * the waiter has its network namespace, connects it: per link a veth pair from the link's bridge
 * in the keeper's network namespace (made there if no container did yet), the container's end
 * named, addressed and up, and the default routes.
 */
export interface BridgePlan {
  keeperPid: number
  links: BridgeLink[]
}

export interface BridgeLink {
  /** skbrN, or skinN for an internal network */
  bridge: string
  /** the bridge's own address (the containers' gateway and name server), and its prefix length */
  gateway?: string
  prefix: number
  gateway6?: string
  prefix6?: number
  /** the veth's end on the bridge: sv + network number + container id */
  hostIf: string
  /** the container's end: eth0, eth1, ... */
  ifName: string
  mac: string
  /** CIDR addresses of the container's end */
  addresses: string[]
  /** gateways of default routes through this link */
  routes: string[]
  mtu?: number
}

/** `skiff-shim exec`: a new process in the namespaces of a running container's pid 1. */
export interface ExecPlan {
  version: 1
  join: { pid: number }
  /** the container's id maps: only denySetgroups is used (no supplementary groups then) */
  idmap: Pick<IdMapPlan, 'denySetgroups'>
  process: ProcessPlan
  /** do not die with skiff (exec -d) */
  detach?: boolean
  oci?: OciPlan
  /** the container's cgroup: the new process joins it first */
  cgroup?: string
}

/**
 * `skiff runtime create` (and exec --detach): the shim makes the container, reports
 * {"type":"created"} once its process waits (pid in `pidFile`), and leaves; the process, no longer
 * tied to the shim, outlives it (the engine reaps it as subreaper) and waits for a byte on `fifo`
 * (written by `start`) before it execs; the terminal's master goes to `consoleSocket`.
 */
export interface OciPlan {
  detach: boolean
  /**
   * the config has prestart or createRuntime hooks: init says {"type":"hooks"} once the mounts
   * are made, and waits for a byte on `fifo` (skiff ran them) before the createContainer hooks
   */
  runtimeHooks?: boolean
  fifo?: string
  consoleSocket?: string
  pidFile?: string
}

/** A message from the shim on its control fd, one JSON object per line. */
export type ShimMessage =
  /** a step failed before the container's process ran */
  | { type: 'error'; op: string; path?: string; errno: number; detail?: string }
  /** the OCI runtime's container waits for its prestart and createRuntime hooks (OciPlan) */
  | { type: 'hooks' }
  /** the OCI runtime's container is made and waits for `start` (OciPlan) */
  | { type: 'created' }
  /** the container's first process, as a host pid */
  | { type: 'pid'; pid: number }
  /** the container's command was executed (the supervisor may carry on without skiff now) */
  | { type: 'started' }
  /** the container's first process ended */
  | { type: 'exit'; status?: number; signal?: number }
  /** the user typed the detach keys: the process runs on without skiff */
  | { type: 'detached' }

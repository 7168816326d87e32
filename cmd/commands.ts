// The table of skiff's verbs: name, one-line description, and a lazy loader. Pure.
//
// Only the module of the verb being run is evaluated, so start-up does not pay for the others.
import type { CommandSpec } from './cli.js'

export interface CommandEntry {
  name: string
  aliases?: string[]
  describe: string
  /** hidden verbs are internal (e.g. workers run inside the user namespace) */
  hidden?: boolean
  /**
   * For verbs followed by a container command (run, exec): which options take a value, so the
   * command after the first positional is split off before parsing (see split-argv.ts).
   */
  valueOptions?: string[]
  load: () => Promise<{ default: CommandSpec<any> }>
}

/**
 * Options of run/create that take a value. Kept here, not imported from run-options.ts, so that
 * start-up evaluates no verb module but the one being run (a unit test checks the two agree).
 */
export const RUN_VALUE_OPTIONS = [
  '-e', '--env', '--env-file', '-w', '--workdir', '-u', '--user', '-h', '--hostname', '--entrypoint', '--name', '--restart',
  '--log-opt', '--stop-timeout', '--stop-signal', '--network', '--net', '--ip', '--network-alias', '--net-alias', '--mac-address', '--device', '--sysctl', '--ulimit', '--group-add', '--cap-add', '--cap-drop', '--security-opt', '-p', '--publish', '--dns', '--dns-search', '--dns-option', '--dns-opt', '-l', '--label', '--label-file', '--cidfile', '--log-driver', '--tz', '--userns',
  '--add-host', '-v', '--volume', '--mount', '--tmpfs', '--storage-driver', '-m', '--memory', '--memory-reservation', '--memory-swap', '--cpus', '-c', '--cpu-shares',
  '--cpu-weight', '--cpuset-cpus', '--cpuset-mems', '--pids-limit', '--blkio-weight', '--cgroup-conf', '--cgroups', '--pull', '--platform', '--tls-verify', '--profile', '--pid', '--uts', '--no-mount', '--gpus',
]

export const commands: CommandEntry[] = [
  { name: 'run', describe: 'Run a command in a new container', valueOptions: [...RUN_VALUE_OPTIONS, '--detach-keys', '--preserve-fds'], load: () => import('./run.js') },
  { name: 'create', describe: 'Create a container without starting it', valueOptions: RUN_VALUE_OPTIONS, load: () => import('./create.js') },
  { name: 'start', describe: 'Start stopped or created containers', load: () => import('./start.js') },
  { name: 'stop', describe: 'Stop containers (stop signal, then SIGKILL)', load: () => import('./stop.js') },
  { name: 'restart', describe: 'Stop and start containers', load: () => import('./restart.js') },
  { name: 'kill', describe: 'Send a signal to containers', load: () => import('./kill.js') },
  { name: 'wait', describe: 'Wait for containers to stop, print exit codes', load: () => import('./wait.js') },
  { name: 'exec', describe: 'Run a command in a running container', valueOptions: ['-e', '--env', '--env-file', '-u', '--user', '-w', '--workdir', '--detach-keys', '--preserve-fds'], load: () => import('./exec.js') },
  { name: 'attach', describe: "Attach to a detached container's terminal", load: () => import('./attach.js') },
  { name: 'logs', describe: 'Show the output of a detached container', load: () => import('./logs.js') },
  { name: 'cp', describe: 'Copy files between a container and the host', load: () => import('./cp.js') },
  { name: 'export', describe: "Write a container's filesystem as a tar archive", load: () => import('./export.js') },
  { name: 'volume', describe: 'Manage named volumes (create, ls, inspect, rm, prune)', load: () => import('./volume.js') },
  { name: 'network', describe: 'Manage bridge networks (create, ls, inspect, rm, prune, connect, disconnect)', load: () => import('./network.js') },
  { name: 'port', describe: 'List the published ports of a container', load: () => import('./port.js') },
  { name: 'pause', describe: 'Freeze containers', load: () => import('./pause.js') },
  { name: 'unpause', describe: 'Thaw paused containers', load: () => import('./unpause.js') },
  { name: 'update', describe: 'Change the limits of running containers', load: () => import('./update.js') },
  { name: 'stats', describe: 'CPU, memory, pids and I/O of running containers', load: () => import('./stats.js') },
  { name: 'top', describe: 'Show the processes of a running container', load: () => import('./top.js') },
  { name: 'diff', describe: "Show a container's file changes since its image", load: () => import('./diff.js') },
  { name: 'inspect', describe: 'Show containers or images as JSON', load: () => import('./inspect.js') },
  { name: 'events', describe: 'Show events of containers, images and volumes', load: () => import('./events.js') },
  { name: 'history', describe: 'Show the history of an image', load: () => import('./history.js') },
  { name: 'build', describe: 'Build an image from a Dockerfile', load: () => import('./build.js') },
  { name: 'builder', describe: "Remove skiff build's cache (builder prune)", load: () => import('./builder.js') },
  { name: 'commit', describe: "Make a new image from a container's changes", load: () => import('./commit.js') },
  { name: 'import', describe: 'Make an image from a tar of a root filesystem', load: () => import('./import.js') },
  { name: 'rename', describe: 'Rename a container', load: () => import('./rename.js') },
  { name: 'container', describe: 'Manage containers (container prune, container ls, ...)', load: () => import('./container.js') },
  { name: 'pull', describe: 'Pull an image from a registry', load: () => import('./pull.js') },
  { name: 'push', describe: 'Push an image to a registry', load: () => import('./push.js') },
  { name: 'search', describe: 'Search registries for images', load: () => import('./search.js') },
  { name: 'login', describe: 'Log in to a registry', load: () => import('./login.js') },
  { name: 'logout', describe: 'Log out of a registry', load: () => import('./logout.js') },
  { name: 'ps', describe: 'List containers', load: () => import('./ps.js') },
  { name: 'rm', describe: 'Remove stopped containers', load: () => import('./rm.js') },
  { name: 'load', describe: 'Load an image from a docker-save or OCI archive', load: () => import('./load.js') },
  { name: 'rmi', describe: 'Remove images', load: () => import('./rmi.js') },
  { name: 'tag', describe: 'Give an image other names', load: () => import('./tag.js') },
  { name: 'save', describe: 'Write images to an archive', load: () => import('./save.js') },
  { name: 'image', describe: 'Inspect images, or prune unused ones', load: () => import('./image.js') },
  { name: 'images', describe: 'List images', load: () => import('./images.js') },
  { name: 'system', describe: 'Disk usage of the store (system df)', load: () => import('./system.js') },
  { name: 'info', describe: 'Show what this machine supports for rootless containers', load: () => import('./info.js') },
  { name: 'version', describe: 'Show the version of skiff and of its parts', load: () => import('./version.js') },
  { name: 'completion', describe: 'Print a shell completion script (bash, zsh, fish)', load: () => import('./completion.js') },
  { name: '__complete', describe: 'internal: names for the completion scripts', hidden: true, load: () => import('./completion.js').then((m) => ({ default: m.complete })) },
  { name: '__storage', describe: 'internal: storage work inside the user namespace', hidden: true, load: () => import('./storage-worker.js') },
]

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

export const commands: CommandEntry[] = [
  {
    name: 'run',
    describe: 'Run a command in a new container',
    valueOptions: ['-e', '--env', '--env-file', '-w', '--workdir', '-u', '--user', '-h', '--hostname', '--entrypoint', '--name', '--pull', '--platform', '--tls-verify'],
    load: () => import('./run.js'),
  },
  { name: 'pull', describe: 'Pull an image from a registry', load: () => import('./pull.js') },
  { name: 'login', describe: 'Log in to a registry', load: () => import('./login.js') },
  { name: 'logout', describe: 'Log out of a registry', load: () => import('./logout.js') },
  { name: 'ps', describe: 'List containers', load: () => import('./ps.js') },
  { name: 'rm', describe: 'Remove stopped containers', load: () => import('./rm.js') },
  { name: 'load', describe: 'Load an image from a docker-save or OCI archive', load: () => import('./load.js') },
  { name: 'rmi', describe: 'Remove images', load: () => import('./rmi.js') },
  { name: 'tag', describe: 'Give an image another name', load: () => import('./tag.js') },
  { name: 'save', describe: 'Write images to an archive', load: () => import('./save.js') },
  { name: 'image', describe: 'Inspect images, or prune unused ones', load: () => import('./image.js') },
  { name: 'images', describe: 'List images', load: () => import('./images.js') },
  { name: 'system', describe: 'Disk usage of the store (system df)', load: () => import('./system.js') },
  { name: 'info', describe: 'Show what this machine supports for rootless containers', load: () => import('./info.js') },
  { name: 'version', describe: 'Show the version of skiff and of its parts', load: () => import('./version.js') },
  { name: '__storage', describe: 'internal: storage work inside the user namespace', hidden: true, load: () => import('./storage-worker.js') },
]

// Start the shim with a launch plan and wait for it: spawn, hand over the plan, relay signals,
// collect its messages, turn a failure into a SkiffError. Does I/O (processes).
import type { Readable } from 'node:stream'
import type { ExecPlan, IdMapPlan, LaunchPlan, NetworkHelper, ProcessPlan, ShimMessage } from '../plan.js'
import { shimErrorToSkiffError } from './shim-errors.js'
import { shimPath } from '../shim-binary.js'
import { spawnShimProcess, type ShimChild } from './shim-process.js'
import { SkiffError } from '../errors.js'
import { mark } from '../trace.js'

/** Signals skiff passes on to the container (SIGWINCH: the shim resizes the container's pty). */
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH']

export interface LaunchOptions {
  /** stdin, stdout, stderr of the container: 'inherit' passes ours straight through */
  stdio?: ['inherit' | 'pipe' | 'ignore', 'inherit' | 'pipe' | 'ignore', 'inherit' | 'pipe' | 'ignore']
  /** bytes written to the container's stdin when stdio[0] is 'pipe' */
  input?: string | Buffer
  /** a stream piped to the container's stdin instead (stdio[0] 'pipe') */
  inputStream?: NodeJS.ReadableStream
  /** the container's stdout as a stream (stdio[1] 'pipe'), instead of collecting it */
  onStdout?: (stdout: Readable) => void
  /** the container's stderr as a stream (stdio[2] 'pipe'), instead of collecting it */
  onStderr?: (stderr: Readable) => void
  /** called once the container's first process exists (host pid) */
  onStart?: (pid: number) => void
  /** every message of the shim, as it comes */
  onMessage?: (msg: ShimMessage) => void
  /** run: the command was executed (the container's state.json says so from now) */
  onCommand?: () => void
  /**
   * Resolve as soon as the command runs and leave the shim behind as the container's supervisor
   * (run -d, exec -d). The result has no exit status then.
   */
  detach?: boolean
  /** a command the shim runs under: systemd-run ... -- (a scope for its cgroup) */
  wrap?: string[]
  /** a shim already started by startPrelude (same stdio), waiting for this plan */
  prelude?: Prelude
  /**
   * Called with the shim's pid before it gets the plan (bridge networks hand their addresses to
   * it: it lives as long as the container). A throw ends the shim, which then made nothing.
   */
  onSpawn?: (pid: number) => void
}

type Stdio = NonNullable<LaunchOptions['stdio']>

/** skiff's fds the process gets: --preserve-fds N's 3.., or the ones named in fdTargets (at those numbers) */
function passedFds(p: ProcessPlan): number[] {
  return p.fdTargets ?? Array.from({ length: p.preserveFds ?? 0 }, (_, i) => 3 + i)
}

function spawnShim(mode: 'run' | 'exec', stdio: Stdio, wrap: string[], passed: number[] = []): ShimChild {
  const child = wrap.length ? spawnShimProcess(wrap[0]!, [...wrap.slice(1), shimPath(), mode], stdio, passed) : spawnShimProcess(shimPath(), [mode], stdio, passed)
  mark('shim spawned')
  return child
}

/**
 * The shim started before the container exists, given only the id maps (and what it can make of
 * the network): it makes the user namespace and maps it (newuidmap/newgidmap) while skiff makes
 * the container; with `netns`, the network namespace too, and with a helper it starts that on it.
 * Then it waits for the plan. What it says meanwhile (an id map that failed) waits in the child
 * for `launch`. `cancel` ends it when there will be no plan (it made nothing else).
 */
export interface Prelude {
  child: ShimChild
  idmap: IdMapPlan
  netns: boolean
  helper?: NetworkHelper
  used: boolean
  cancel(): void
}

export function startPrelude(idmap: IdMapPlan, network: { netns: boolean; helper?: NetworkHelper }, stdio: Stdio): Prelude {
  const child = spawnShim('run', stdio, [])
  child.send(`${JSON.stringify({ prelude: true, idmap, netns: network.netns, helper: network.helper })}\n`)
  const prelude: Prelude = {
    child,
    idmap,
    netns: network.netns,
    helper: network.helper,
    used: false,
    cancel() {
      if (prelude.used) return
      prelude.used = true
      child.kill('SIGKILL')
      child.release()
    },
  }
  return prelude
}

export interface LaunchResult {
  /** exit status as a shell reports it: the code, or 128+N after signal N */
  status: number
  signal?: number
  pid?: number
  /** the user typed the detach keys: the process runs on, its status is not known here */
  detached?: boolean
  stdout?: string
  stderr?: string
}

export function launch(plan: LaunchPlan | ExecPlan, options: LaunchOptions = {}): Promise<LaunchResult> {
  const stdio = options.stdio ?? ['inherit', 'inherit', 'inherit']
  const mode = 'join' in plan ? 'exec' : 'run'
  const wrap = options.wrap ?? []
  // the prelude's shim, when it was started for this plan (same id maps, no scope to run in)
  const prelude = options.prelude && !options.prelude.used ? options.prelude : undefined
  // the prelude's shim is this plan's only if it made what the plan asks for: the same id maps,
  // a network namespace if the plan wants one of its own, and its network helper (if it started
  // one) the plan's
  const early = !!prelude && !wrap.length && mode === 'run' && JSON.stringify((plan as LaunchPlan).idmap) === JSON.stringify(prelude.idmap) &&
    prelude.netns === (plan as LaunchPlan).namespaces.includes('net') && !plan.process.preserveFds &&
    (!prelude.helper || JSON.stringify(prelude.helper) === JSON.stringify((plan as LaunchPlan).network?.helper))
  if (prelude && !early) prelude.cancel()
  if (early) prelude!.used = true
  const child = early ? prelude!.child : spawnShim(mode, stdio, wrap, passedFds(plan.process))
  const messages: ShimMessage[] = []
  let pid: number | undefined
  let settled = false
  let onStarted = () => {}
  let onFailed = (_msg: ShimMessage) => {}
  let onExit = (_msg: ShimMessage) => {}
  let onDetached = () => {}
  // what a prelude's shim said before this plan came (an id map that failed) comes first
  child.onLine((line) => {
    const msg = JSON.parse(line) as ShimMessage
    messages.push(msg)
    options.onMessage?.(msg)
    if (msg.type === 'pid') {
      mark('shim: container process forked')
      pid = msg.pid
      options.onStart?.(msg.pid)
      if (mode === 'exec') onStarted()
    }
    if (msg.type === 'started') {
      options.onCommand?.()
      onStarted()
    }
    if (msg.type === 'error') onFailed(msg)
    if (msg.type === 'exit') onExit(msg)
    if (msg.type === 'detached') onDetached()
  })
  if (options.onSpawn && child.pid) {
    try {
      options.onSpawn(child.pid)
    } catch (err) {
      child.kill('SIGKILL')
      child.release()
      throw err
    }
  }
  if (!messages.some((m) => m.type === 'error')) child.send(JSON.stringify(plan) + '\n')

  const collect = (stream: Readable | null) => {
    if (!stream) return () => undefined
    const chunks: Buffer[] = []
    stream.on('data', (c: Buffer) => chunks.push(c))
    return () => Buffer.concat(chunks).toString('utf8')
  }
  if (options.onStdout && child.stdout) options.onStdout(child.stdout)
  const stdout = options.onStdout ? () => undefined : collect(child.stdout)
  if (options.onStderr && child.stderr) options.onStderr(child.stderr)
  const stderr = options.onStderr ? () => undefined : collect(child.stderr)
  if (child.stdin) {
    child.stdin.on('error', () => {})
    if (options.inputStream) options.inputStream.pipe(child.stdin)
    else child.stdin.end(options.input ?? '')
  }

  const forward = (sig: NodeJS.Signals) => child.kill(sig)
  if (!options.detach) for (const sig of FORWARDED) process.on(sig, forward)

  return new Promise((resolve, reject) => {
    if (options.detach) {
      onStarted = () => {
        // A failure reported before the command ran arrives first, on the same socket.
        if (settled || messages.some((m) => m.type === 'error')) return
        settled = true
        child.release()
        resolve({ status: 0, pid })
      }
      // Detached, a restart policy may keep the supervisor retrying: it is stopped here, and the
      // failure is the answer to this start.
      onFailed = (msg) => {
        if (settled || msg.type !== 'error') return
        settled = true
        child.kill('SIGKILL')
        child.release()
        reject(shimErrorToSkiffError(msg, plan as LaunchPlan))
      }
    }
    if (!options.detach && mode === 'run' && (plan as LaunchPlan).trash && !stdio.includes('pipe')) {
      // Attached --rm: the supervisor sends the exit status once the container is out of the
      // store and the shim needs us no more; the removal of its files goes on behind this answer.
      onExit = (msg) => {
        if (settled || msg.type !== 'exit' || messages.some((m) => m.type === 'error')) return
        settled = true
        for (const sig of FORWARDED) process.off(sig, forward)
        mark('exit told')
        child.release()
        resolve({ status: msg.signal ? 128 + msg.signal : (msg.status ?? 0), signal: msg.signal, pid })
      }
    }
    // Ctrl-P Ctrl-Q: the shim stays without us, and skiff returns
    onDetached = () => {
      if (settled) return
      settled = true
      for (const sig of FORWARDED) process.off(sig, forward)
      child.release()
      resolve({ status: 0, pid, detached: true })
    }
    const failedToSpawn = (err: Error) => {
      for (const sig of FORWARDED) process.off(sig, forward)
      const n = plan.process.preserveFds
      if (n && (err as NodeJS.ErrnoException).code === 'EBADF') {
        return reject(new SkiffError('E_USAGE', `--preserve-fds ${n}: fds 3 to ${2 + n} must all be open and given to skiff by its caller`, {
          hint: `open them for skiff, e.g. skiff run --preserve-fds 1 IMAGE CMD 3<file`,
        }))
      }
      reject(new SkiffError('E_SHIM_EXEC', `cannot start the shim ${shimPath()}: ${err.message}`, {
        hint: 'check that the cache directory is not mounted noexec, or set XDG_CACHE_HOME to one that is not',
        cause: err,
      }))
    }
    if (child.error) {
      settled = true
      return failedToSpawn(child.error)
    }
    const onClose = (code: number | null, signal: NodeJS.Signals | null) => {
      mark('shim exited')
      if (settled) return
      settled = true
      for (const sig of FORWARDED) process.off(sig, forward)
      const error = messages.find((m) => m.type === 'error')
      if (error && error.type === 'error') return reject(shimErrorToSkiffError(error, plan as LaunchPlan))
      const exit = messages.find((m) => m.type === 'exit')
      // the OCI runtime's create: the shim left the container's process waiting for `start`
      if (!exit && messages.some((m) => m.type === 'created')) return resolve({ status: 0, pid })
      if (!exit || exit.type !== 'exit') {
        const why = signal ? `was killed by ${signal}` : code === null ? 'ended (its status is unknown)' : `exited with status ${code}`
        const text = stderr()?.trim()
        if (wrap.length && messages.length === 0) {
          return reject(new SkiffError('E_CGROUP', `${wrap[0]} could not give the container a systemd scope (it ${why})${text ? `: ${text}` : ''}`, {
            hint: 'check your user manager (systemctl --user status); or run with --cgroups=disabled to go on without a cgroup',
          }))
        }
        return reject(new SkiffError('E_SHIM_DIED', `the shim ${why} before the container finished${text ? `: ${text}` : ''}`, {
          hint: 'run again with SKIFF_DEBUG=1; if it repeats, report it as a bug',
        }))
      }
      resolve({
        status: exit.signal ? 128 + exit.signal : (exit.status ?? 0),
        signal: exit.signal,
        pid,
        stdout: child.stdout ? stdout() : undefined,
        stderr: child.stderr ? stderr() : undefined,
      })
    }
    child.onClose(onClose)
  })
}

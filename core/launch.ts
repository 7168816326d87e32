// Start the shim with a launch plan and wait for it: spawn, hand over the plan, relay signals,
// collect its messages, turn a failure into a SkiffError. Does I/O (processes).
import { spawn, type ChildProcess } from 'node:child_process'
import type { Readable, Writable } from 'node:stream'
import type { ExecPlan, IdMapPlan, LaunchPlan, ShimMessage } from './plan.js'
import { shimErrorToSkiffError } from './shim-errors.js'
import { shimPath } from './shim-binary.js'
import { SkiffError } from './errors.js'
import { mark } from './trace.js'

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
  /** called once the container's first process exists (host pid) */
  onStart?: (pid: number) => void
  /**
   * Resolve as soon as the command runs and leave the shim behind as the container's supervisor
   * (run -d, exec -d). The result has no exit status then.
   */
  detach?: boolean
  /** a command the shim runs under: systemd-run ... -- (a scope for its cgroup) */
  wrap?: string[]
  /** a shim already started by startPrelude (same stdio), waiting for this plan */
  prelude?: Prelude
}

type Stdio = NonNullable<LaunchOptions['stdio']>

function spawnShim(mode: 'run' | 'exec', stdio: Stdio, wrap: string[]): ChildProcess {
  const child = spawn(wrap[0] ?? shimPath(), [...wrap.slice(1), ...(wrap.length ? [shimPath()] : []), mode], {
    stdio: [...stdio, 'pipe'],
    // A session of its own: a terminal's Ctrl-C reaches skiff only, which forwards it once.
    detached: true,
  })
  mark('shim spawned')
  return child
}

/**
 * The shim started before the container exists, given only the id maps: it makes the user
 * namespace and maps it (newuidmap/newgidmap) while skiff makes the container, then waits for
 * the plan. `cancel` ends it when there will be no plan (it made nothing else).
 */
export interface Prelude {
  child: ChildProcess
  idmap: IdMapPlan
  used: boolean
  spawnError?: Error
  /** its messages and its end, while no plan had come: read at once, or they would be lost */
  said: string
  ended?: [number | null, NodeJS.Signals | null]
  cancel(): void
}

export function startPrelude(idmap: IdMapPlan, stdio: Stdio): Prelude {
  const child = spawnShim('run', stdio, [])
  const control = child.stdio[3] as unknown as Writable
  control.on('error', () => {})
  control.write(`${JSON.stringify({ prelude: true, idmap })}\n`)
  const prelude: Prelude = {
    child,
    idmap,
    used: false,
    said: '',
    cancel() {
      if (prelude.used) return
      prelude.used = true
      try {
        child.kill('SIGKILL')
      } catch {}
      ;(child.stdio[3] as unknown as Readable).destroy()
      child.unref()
    },
  }
  child.on('error', (err) => (prelude.spawnError = err))
  ;(control as unknown as Readable).setEncoding('utf8')
  ;(control as unknown as Readable).on('data', (chunk: string) => (prelude.said += chunk))
  child.on('close', (code, signal) => (prelude.ended = [code, signal]))
  return prelude
}

export interface LaunchResult {
  /** exit status as a shell reports it: the code, or 128+N after signal N */
  status: number
  signal?: number
  pid?: number
  stdout?: string
  stderr?: string
}

export function launch(plan: LaunchPlan | ExecPlan, options: LaunchOptions = {}): Promise<LaunchResult> {
  const stdio = options.stdio ?? ['inherit', 'inherit', 'inherit']
  const mode = 'join' in plan ? 'exec' : 'run'
  const wrap = options.wrap ?? []
  // the prelude's shim, when it was started for this plan (same id maps, no scope to run in)
  const prelude = options.prelude && !options.prelude.used ? options.prelude : undefined
  const early = !!prelude && !wrap.length && mode === 'run' && JSON.stringify((plan as LaunchPlan).idmap) === JSON.stringify(prelude.idmap)
  if (prelude && !early) prelude.cancel()
  if (early) prelude!.used = true
  const child = early ? prelude!.child : spawnShim(mode, stdio, wrap)
  const control = child.stdio[3] as unknown as Readable & Writable
  const messages: ShimMessage[] = []
  let pending = ''
  let pid: number | undefined
  let settled = false
  let onStarted = () => {}
  let onFailed = (_msg: ShimMessage) => {}
  let onExit = (_msg: ShimMessage) => {}
  control.setEncoding('utf8')
  const onData = (chunk: string) => {
    pending += chunk
    let nl: number
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl)
      pending = pending.slice(nl + 1)
      if (!line) continue
      const msg = JSON.parse(line) as ShimMessage
      messages.push(msg)
      if (msg.type === 'pid') {
        mark('shim: container process forked')
        pid = msg.pid
        options.onStart?.(msg.pid)
        if (mode === 'exec') onStarted()
      }
      if (msg.type === 'started') onStarted()
      if (msg.type === 'error') onFailed(msg)
      if (msg.type === 'exit') onExit(msg)
    }
  }
  if (early) {
    // what the prelude's shim said so far (an id map that failed), then the rest as it comes
    control.removeAllListeners('data')
    if (prelude!.said) onData(prelude!.said)
  }
  control.on('data', onData)
  control.on('error', () => {})
  if (!early) control.write(JSON.stringify(plan) + '\n')
  else {
    // Let the loop read what the prelude's shim may have said first: writing to a shim that has
    // died fails, and the failure would destroy the socket with its last words unread.
    setImmediate(() => {
      if (!messages.some((m) => m.type === 'error')) control.write(JSON.stringify(plan) + '\n')
    })
  }

  const collect = (stream: Readable | null) => {
    if (!stream) return () => undefined
    const chunks: Buffer[] = []
    stream.on('data', (c: Buffer) => chunks.push(c))
    return () => Buffer.concat(chunks).toString('utf8')
  }
  if (options.onStdout && child.stdout) options.onStdout(child.stdout)
  const stdout = options.onStdout ? () => undefined : collect(child.stdout)
  const stderr = collect(child.stderr)
  if (child.stdin) {
    child.stdin.on('error', () => {})
    if (options.inputStream) options.inputStream.pipe(child.stdin)
    else child.stdin.end(options.input ?? '')
  }

  const forward = (sig: NodeJS.Signals) => {
    try {
      child.kill(sig)
    } catch {}
  }
  if (!options.detach) for (const sig of FORWARDED) process.on(sig, forward)

  return new Promise((resolve, reject) => {
    if (options.detach) {
      onStarted = () => {
        // A failure reported before the command ran arrives first, on the same socket.
        if (settled || messages.some((m) => m.type === 'error')) return
        settled = true
        control.destroy()
        child.stdout?.destroy()
        child.stderr?.destroy()
        child.unref()
        resolve({ status: 0, pid })
      }
      // Detached, a restart policy may keep the supervisor retrying: it is stopped here, and the
      // failure is the answer to this start.
      onFailed = (msg) => {
        if (settled || msg.type !== 'error') return
        settled = true
        try {
          child.kill('SIGKILL')
        } catch {}
        control.destroy()
        child.unref()
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
        control.destroy()
        child.unref()
        resolve({ status: msg.signal ? 128 + msg.signal : (msg.status ?? 0), signal: msg.signal, pid })
      }
    }
    const failedToSpawn = (err: Error) => {
      for (const sig of FORWARDED) process.off(sig, forward)
      reject(new SkiffError('E_SHIM_EXEC', `cannot start the shim ${shimPath()}: ${err.message}`, {
        hint: 'check that the cache directory is not mounted noexec, or set XDG_CACHE_HOME to one that is not',
        cause: err,
      }))
    }
    child.on('error', failedToSpawn)
    // a prelude's spawn failed before this plan came (its 'error' event is gone by now)
    if (early && prelude!.spawnError) failedToSpawn(prelude!.spawnError)
    const onClose = (code: number | null, signal: NodeJS.Signals | null) => {
      mark('shim exited')
      if (settled) return
      settled = true
      for (const sig of FORWARDED) process.off(sig, forward)
      const error = messages.find((m) => m.type === 'error')
      if (error && error.type === 'error') return reject(shimErrorToSkiffError(error, plan as LaunchPlan))
      const exit = messages.find((m) => m.type === 'exit')
      if (!exit || exit.type !== 'exit') {
        const why = signal ? `was killed by ${signal}` : `exited with status ${code}`
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
    // a prelude's shim that already ended (its id maps failed) does not end again
    if (early && prelude!.ended) onClose(...prelude!.ended)
    else child.on('close', onClose)
  })
}

// The shim as a child process, started by skiff's spawn addon (shims/addon/spawn.c: posix_spawn,
// a vfork) where it loads, else by the bindings child_process itself is built on (process_wrap,
// pipe_wrap, stream_wrap); its control socket (fd 3) read line by line. Does I/O (processes).
//
// Why not child_process: on the path of `skiff run`, loading it and the modules it pulls in
// (stream, net, dgram) and the first call of its cold JavaScript (a ChildProcess, a net.Socket
// per pipe, stream buffering on every read and write) cost ~10 ms on the slow machine here,
// against ~0.3 ms for these bindings (docs/architecture.md, "Start-up"). Why the addon: Node
// forks, and a fork of skiff's ~50 MB process took ~11 ms there, against ~2 ms for the vfork.
// The bindings are Node's internals; skiff carries its own Node (the single executable), and
// test/launch/shim-process.test.ts runs every case with both ways and fails on a Node that lacks them.
//
// fds 0-2 given as 'pipe' (exec's captured output, cp's tar stream) become net.Sockets as in
// child_process: those paths are not start-up's, and their users want streams.
import type { Socket } from 'node:net'
import { constants } from 'node:os'
import { getSystemErrorName } from 'node:util'
import { nativeAddon } from '../native.js'

export type StdioKind = 'inherit' | 'pipe' | 'ignore'

interface ProcessHandle {
  pid: number
  onexit: (code: number, signal: string) => void
  spawn(options: object): number
  kill(signal: number): number
  close(): void
  unref(): void
}

interface PipeHandle {
  open(fd: number): number
  onread: (buffer: ArrayBuffer | undefined) => void
  readStart(): number
  readStop(): number
  writeUtf8String(req: object, text: string): number
  close(callback?: () => void): void
}

interface StreamState {
  streamBaseState: Int32Array
  kReadBytesOrError: number
  kArrayBufferOffset: number
  WriteWrap: new () => { handle?: PipeHandle; oncomplete?: (status: number) => void }
}

interface Bindings {
  Process: new () => ProcessHandle
  Pipe: new (type: number) => PipeHandle
  socketType: number
  stream: StreamState
}

const STDIO_CODE = { inherit: -1, ignore: -2, pipe: -3 } as const

let bindings: Bindings | undefined

/** How the shim is started here: 'vfork' (the addon) or 'fork'. */
export function spawnKind(): 'vfork' | 'fork' {
  return nativeAddon() ? 'vfork' : 'fork'
}

let signalNames: Map<number, NodeJS.Signals> | undefined

/** SIGKILL for 9 (built on first use: a run that ends with a status needs none). */
function signalName(signal: number): NodeJS.Signals | null {
  signalNames ??= new Map(Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]))
  return signalNames.get(signal) ?? null
}

/** The child: its pid, the means to signal it and to let Node exit while it runs, and its end. */
interface Started {
  pid: number
  kill(signal: number): void
  unref(): void
  onexit?: (code: number | null, signal: NodeJS.Signals | null) => void
}

/**
 * Start it with fds 0-2 as given, a socket pair on fd 3 and skiff's fds `extra` (in order) as its
 * fds 4...; the handles of our ends of the pipes ([fd0, fd1, fd2, control]), or a negative errno.
 */
function start(file: string, args: string[], stdio: [StdioKind, StdioKind, StdioKind], extra: number[]): { started: Started; handles: (PipeHandle | undefined)[] } | number {
  const { Process, Pipe, socketType } = load()
  const env = Object.entries(process.env).map(([k, v]) => `${k}=${v}`)
  const kinds = [...stdio, 'pipe' as const]
  const a = nativeAddon()
  if (a) {
    const r = a.spawn(file, [file, ...args], env, [...kinds.map((k) => STDIO_CODE[k]), ...extra])
    if (typeof r === 'number') return r
    const [pid, ...ends] = r as [number, ...number[]]
    const handles = ends.map((fd) => {
      if (fd < 0) return undefined
      const pipe = new Pipe(socketType)
      pipe.open(fd)
      return pipe
    })
    let watch: object | undefined
    const started: Started = {
      pid,
      kill: (signal) => {
        try {
          process.kill(pid, signal)
        } catch {}
      },
      unref: () => watch && a.unref(watch),
    }
    watch = a.watch(pid, (code, signal) => {
      watch = undefined
      started.onexit?.(code, signal === null ? null : signalName(signal))
    })
    return { started, handles }
  }
  const proc = new Process()
  const handles = kinds.map((kind) => (kind === 'pipe' ? new Pipe(socketType) : undefined))
  const err = proc.spawn({
    file,
    args: [file, ...args],
    envPairs: env,
    stdio: [
      ...kinds.map((kind, fd) =>
        kind === 'pipe' ? { type: 'pipe', handle: handles[fd], readable: fd !== 1 && fd !== 2, writable: fd > 0 } : kind === 'ignore' ? { type: 'ignore' } : { type: 'fd', fd },
      ),
      ...extra.map((fd) => ({ type: 'fd', fd })),
    ],
    // A session of its own: a terminal's Ctrl-C reaches skiff only, which forwards it once.
    detached: true,
  })
  if (err) {
    for (const handle of handles) handle?.close()
    proc.close()
    return err
  }
  const started: Started = { pid: proc.pid, kill: (signal) => proc.kill(signal), unref: () => proc.unref() }
  proc.onexit = (code, signal) => {
    proc.close()
    started.onexit?.(signal ? null : code, signal ? (signal as NodeJS.Signals) : null)
  }
  return { started, handles }
}

function load(): Bindings {
  if (bindings) return bindings
  // process.binding warns under --pending-deprecation; skiff's own use is not the user's concern
  const node = process as unknown as { noDeprecation?: boolean; binding(name: string): Record<string, unknown> }
  const quiet = node.noDeprecation
  node.noDeprecation = true
  try {
    const binding = (name: string) => node.binding(name)
    const pipeWrap = binding('pipe_wrap') as { Pipe: Bindings['Pipe']; constants: { SOCKET: number } }
    bindings = {
      Process: (binding('process_wrap') as { Process: Bindings['Process'] }).Process,
      Pipe: pipeWrap.Pipe,
      socketType: pipeWrap.constants.SOCKET,
      stream: binding('stream_wrap') as unknown as StreamState,
    }
    return bindings
  } finally {
    node.noDeprecation = quiet
  }
}

export interface ShimChild {
  /** the shim's pid; undefined when it could not be started (see `error`) */
  readonly pid: number | undefined
  /** why it could not be started (the shim missing, or on a noexec mount) */
  readonly error: Error | undefined
  readonly stdin: Socket | null
  readonly stdout: Socket | null
  readonly stderr: Socket | null
  /** Write to its control socket; a shim that is gone loses the text, and its end says why. */
  send(text: string): void
  /** Each line it writes to the control socket, those read before the call first. */
  onLine(listener: (line: string) => void): void
  /**
   * Once it has exited and its control socket and piped output are read to the end (the
   * 'close' of child_process); at once when that is already so.
   */
  onClose(listener: (code: number | null, signal: NodeJS.Signals | null) => void): void
  kill(signal: NodeJS.Signals): void
  /** Stop reading it and let skiff exit while it runs on (a detached container's supervisor). */
  release(): void
}

/**
 * Start `file args` with fds 0-2 as given, a control socket on fd 3 and skiff's fds 3... as fds
 * 4... (`passed`: skiff's fds, in order), in a session of its own.
 */
export function spawnShimProcess(file: string, args: string[], stdio: [StdioKind, StdioKind, StdioKind], passed: number[] = []): ShimChild {
  const { stream } = load()
  const result = start(file, args, stdio, passed)
  if (typeof result === 'number') {
    const name = getSystemErrorName(result)
    const error = Object.assign(new Error(`spawn ${file} ${name}`), { code: name, errno: result, path: file })
    return {
      pid: undefined,
      error,
      stdin: null,
      stdout: null,
      stderr: null,
      send() {},
      onLine() {},
      onClose(listener) {
        listener(null, null)
      },
      kill() {},
      release() {},
    }
  }
  const { started: proc, handles } = result
  const control = handles[3]!
  const pipes = handles.slice(0, 3)

  const lines: string[] = []
  let lineListener: ((line: string) => void) | undefined
  const closeListeners: ((code: number | null, signal: NodeJS.Signals | null) => void)[] = []
  let exit: [number | null, NodeJS.Signals | null] | undefined
  let controlOpen = true
  let openStreams = 0
  let closed = false
  const maybeClose = () => {
    if (!closed && exit && !controlOpen && openStreams === 0) closed = true
    if (closed) for (const listener of closeListeners.splice(0)) listener(...exit!)
  }
  const closeControl = () => {
    if (!controlOpen) return
    controlOpen = false
    control.readStop()
    control.close()
  }

  let sockets: (Socket | null)[] = [null, null, null]
  if (pipes.some(Boolean)) {
    const { Socket } = require('node:net') as typeof import('node:net')
    sockets = pipes.map((handle, fd) => {
      if (!handle) return null
      const socket = new Socket({ handle, readable: fd > 0 } as ConstructorParameters<typeof Socket>[0])
      if (fd > 0) {
        openStreams++
        socket.on('close', () => {
          openStreams--
          maybeClose()
        })
      }
      return socket
    })
  }

  proc.onexit = (code, signal) => {
    sockets[0]?.destroy()
    exit = [code, signal]
    maybeClose()
  }

  // bytes up to a newline, which never occurs inside a UTF-8 character
  let pending = Buffer.alloc(0)
  control.onread = (buffer) => {
    const n = stream.streamBaseState[stream.kReadBytesOrError]!
    if (n === 0) return
    if (n < 0) {
      // the end (UV_EOF), or a read error, which ends it all the same
      closeControl()
      maybeClose()
      return
    }
    const chunk = Buffer.from(buffer!, stream.streamBaseState[stream.kArrayBufferOffset]!, n)
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk
    let nl: number
    while ((nl = pending.indexOf(10)) >= 0) {
      const line = pending.toString('utf8', 0, nl)
      pending = pending.subarray(nl + 1)
      if (!line) continue
      if (lineListener) lineListener(line)
      else lines.push(line)
    }
  }
  control.readStart()

  return {
    pid: proc.pid,
    error: undefined,
    stdin: sockets[0] ?? null,
    stdout: sockets[1] ?? null,
    stderr: sockets[2] ?? null,
    send(text) {
      if (!controlOpen) return
      const req = new stream.WriteWrap()
      req.handle = control
      // a failed write (the shim is gone) is told by its end, not here
      req.oncomplete = () => {}
      control.writeUtf8String(req, text)
    },
    onLine(listener) {
      lineListener = listener
      for (const line of lines.splice(0)) listener(line)
    },
    onClose(listener) {
      closeListeners.push(listener)
      maybeClose()
    },
    kill(signal) {
      if (!exit) proc.kill(constants.signals[signal])
    },
    release() {
      lineListener = undefined
      closeControl()
      for (const socket of sockets) socket?.destroy()
      if (!exit) proc.unref()
    },
  }
}

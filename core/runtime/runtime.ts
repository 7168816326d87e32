// The OCI runtime's operations (runc's CLI: create, start, state, kill, delete, run, exec, list,
// ps), on containers kept under a root directory of their own. Does I/O.
//
// A container is a directory <root>/<id> (0700): state.json (what `state` needs besides the live
// process), config.json (the bundle's, as it was at create), exec.fifo (while the container waits
// for `start`), init.pid (written by the shim before it lets the process go), seccomp.bpf. The
// process outlives skiff (the engine reaps it); everything `state` says is derived from the
// files and the process, so a skiff killed at any point leaves a container `state` tells the truth
// about and `delete` removes.
import { closeSync, constants as fsConstants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs'
import { release, userInfo } from 'node:os'
import { join, resolve } from 'node:path'
import { SkiffError, errnoCode } from '../errors.js'
import { processStartTime, writeFileAtomic } from '../lock.js'
import { ensurePrivateDir } from '../private-dir.js'
import type { ExecPlan, LaunchPlan, ProcessPlan } from '../plan.js'
import { hooks as configHooks, ociLimits, readConfig, translateConfig, type HookKind, type OciConfig, type OciResources } from './config.js'
import { freezeCgroup, isFrozen, killCgroupProcesses } from '../container/cgroup.js'
import { createHash } from 'node:crypto'

export const OCI_VERSION = '1.2.0'

export interface RuntimeContext {
  /** --root: where containers' state lives */
  root: string
  /** a warning for the user and the engine's --log (a failed poststart or poststop hook) */
  warn?: (message: string) => void
}

export type Status = 'creating' | 'created' | 'running' | 'paused' | 'stopped'

interface StateRecord {
  id: string
  bundle: string
  rootfs: string
  created: string
  owner: string
  /** the skiff process that creates it (while there is no pid yet) */
  creator: { pid: number; start: string }
  pid?: number
  pidStart?: string
  annotations?: Record<string, string>
  /** the plan's id maps denied setgroups (exec must not set groups then) */
  denySetgroups: boolean
  /** the container's cgroup, made by skiff (in the user's delegated subtree) */
  cgroup?: string
}

/** The OCI state (runtime-spec runtime.md, "State"), as `state` prints it. */
export interface OciState {
  ociVersion: string
  id: string
  status: Status
  pid: number
  bundle: string
  rootfs: string
  created: string
  owner: string
  annotations?: Record<string, string>
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_.+-]*$/

function checkId(id: string | undefined): string {
  if (!id) throw new SkiffError('E_USAGE', 'a container id is needed', { hint: 'e.g. skiff runtime state mycontainer' })
  if (!ID.test(id) || id.length > 1024) throw new SkiffError('E_USAGE', `invalid container id ${JSON.stringify(id)}`, { hint: 'use letters, digits, "_", ".", "+" and "-", starting with a letter or digit' })
  return id
}

function containerDir(ctx: RuntimeContext, id: string): string {
  return join(ctx.root, checkId(id))
}

function notFound(id: string): SkiffError {
  return new SkiffError('E_NO_SUCH_CONTAINER', `container ${JSON.stringify(id)} does not exist`, { hint: 'skiff runtime list shows the containers under this --root', exitCode: 1 })
}

function readRecord(ctx: RuntimeContext, id: string): StateRecord {
  const dir = containerDir(ctx, id)
  try {
    return JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as StateRecord
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') {
      // a create killed before its first write leaves only the directory
      if (existsSync(dir)) return { id, bundle: '', rootfs: '', created: '', owner: '', creator: { pid: 0, start: '' }, denySetgroups: false }
      throw notFound(id)
    }
    throw err
  }
}

/** The container's process: recorded by skiff, or by the shim (init.pid) when skiff died first. */
function processOf(ctx: RuntimeContext, rec: StateRecord): { pid: number; start?: string } | undefined {
  if (rec.pid) return { pid: rec.pid, start: rec.pidStart }
  try {
    const pid = Number(readFileSync(join(containerDir(ctx, rec.id), 'init.pid'), 'utf8').trim())
    return pid > 0 ? { pid } : undefined
  } catch {
    return undefined
  }
}

/** The container's status, from its files and its process. */
export function statusOf(ctx: RuntimeContext, rec: StateRecord): { status: Status; pid: number } {
  const proc = processOf(ctx, rec)
  if (!proc) {
    const creating = rec.creator.pid && processStartTime(rec.creator.pid) === rec.creator.start
    return { status: creating ? 'creating' : 'stopped', pid: 0 }
  }
  const start = processStartTime(proc.pid)
  if (!start || (proc.start && start !== proc.start)) return { status: 'stopped', pid: 0 }
  if (rec.cgroup && isFrozen(rec.cgroup)) return { status: 'paused', pid: proc.pid }
  return { status: existsSync(join(containerDir(ctx, rec.id), 'exec.fifo')) ? 'created' : 'running', pid: proc.pid }
}

export function state(ctx: RuntimeContext, id: string): OciState {
  const rec = readRecord(ctx, id)
  const { status, pid } = statusOf(ctx, rec)
  return {
    ociVersion: OCI_VERSION,
    id,
    status,
    pid,
    bundle: rec.bundle,
    rootfs: rec.rootfs,
    created: rec.created,
    owner: rec.owner,
    ...(rec.annotations && Object.keys(rec.annotations).length ? { annotations: rec.annotations } : {}),
  }
}

export function list(ctx: RuntimeContext): OciState[] {
  let names: string[]
  try {
    names = readdirSync(ctx.root)
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return []
    throw err
  }
  return names.filter((n) => ID.test(n)).sort().flatMap((n) => {
    try {
      return [state(ctx, n)]
    } catch {
      return []
    }
  })
}

/**
 * Run hooks of `kind` (those skiff itself runs, in the runtime's namespaces) with the state on
 * stdin. A failed prestart or createRuntime hook fails the operation; a failed poststart or
 * poststop hook is a warning and the rest run (runtime-spec, "Lifecycle").
 */
async function runHooks(ctx: RuntimeContext, config: OciConfig, kind: HookKind, st: OciState): Promise<void> {
  const list = configHooks(config, kind)
  if (!list.length) return
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process')
  const input = JSON.stringify(st)
  for (const h of list) {
    const r = spawnSync(h.path, (h.args ?? [h.path]).slice(1), {
      argv0: h.args?.[0] ?? h.path,
      env: Object.fromEntries((h.env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
      input,
      stdio: ['pipe', 'inherit', 'inherit'],
      ...(h.timeout ? { timeout: h.timeout * 1000 } : {}),
    })
    // a hook that does not read its state leaves the write to it EPIPE: its status is what counts
    const failed = (r.error && (r.error as NodeJS.ErrnoException).code !== 'EPIPE') || r.status !== 0
    if (failed) {
      const why = r.error && r.status === null ? ((r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT' ? `did not end within ${h.timeout} s` : r.error.message) : r.signal ? `was killed by ${r.signal}` : `exited with status ${r.status}`
      const err = new SkiffError('E_HOOK', `${kind} hook ${h.path} ${why}`, { hint: 'fix or remove the hook in config.json' })
      if (kind !== 'poststart' && kind !== 'poststop') throw err
      ctx.warn?.(err.message)
    }
  }
}

export interface CreateOptions {
  bundle: string
  pidFile?: string
  consoleSocket?: string
  preserveFds?: number
  /** run attached: the shim stays the process's parent, skiff waits for it (a terminal may go to skiff's) */
  foreground?: boolean
}

/** What create and run share: the container's directory and record, and its plan. */
async function prepare(ctx: RuntimeContext, id: string, opts: CreateOptions): Promise<{ dir: string; rec: StateRecord; config: OciConfig; plan: LaunchPlan }> {
  ensurePrivateDir(ctx.root, process.getuid!(), 'runtime root (--root)')
  const dir = containerDir(ctx, id)
  const bundle = resolve(opts.bundle)
  const config = readConfig(bundle)
  if (config.process!.terminal && !opts.consoleSocket && !opts.foreground) {
    throw new SkiffError('E_USAGE', 'process.terminal is true: --console-socket is needed to pass the terminal on', { hint: 'give --console-socket PATH (an AF_UNIX socket that receives the pty master), or set process.terminal to false' })
  }
  if (!config.process!.terminal && opts.consoleSocket) throw new SkiffError('E_USAGE', '--console-socket is for a process with a terminal, and process.terminal is false', { hint: 'leave --console-socket out, or set process.terminal to true' })
  try {
    mkdirSync(dir, { mode: 0o700 })
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') throw new SkiffError('E_CONFLICT', `container ${JSON.stringify(id)} already exists`, { hint: `skiff runtime delete ${id} first, or choose another id` })
    throw err
  }
  let cgroup: string | undefined
  try {
    const root = process.getuid!() === 0
    const { hostIdMap } = await import('../launch/identity.js')
    const { findIdmapHelpers } = await import('../host/subid.js')
    const helpers = findIdmapHelpers()
    let seccompFile: string | undefined
    let seccompFlags: number | undefined
    if (config.linux?.seccomp) {
      const seccomp = config.linux.seccomp as Record<string, unknown>
      if (seccomp.listenerPath) throw new SkiffError('E_UNSUPPORTED', 'config.json: linux.seccomp.listenerPath (SCMP_ACT_NOTIFY) is not supported', { hint: 'remove the notify rules' })
      const { compileSeccomp } = await import('../launch/seccomp.js')
      const caps = config.process!.capabilities?.bounding ?? []
      const compiled = compileSeccomp(seccomp as unknown as Parameters<typeof compileSeccomp>[0], { arch: process.arch, caps, kernel: release() })
      seccompFile = join(dir, 'seccomp.bpf')
      writeFileAtomic(seccompFile, compiled.program, 0o600, false)
      seccompFlags = compiled.flags
    }
    const plan = translateConfig({
      config,
      bundle,
      id,
      root,
      defaultIdMap: hostIdMap('host').plan,
      helpers: helpers.usable ? helpers : undefined,
      seccompFile,
      seccompFlags,
    })
    if (opts.preserveFds) plan.process.preserveFds = opts.preserveFds
    cgroup = await containerCgroup(ctx, id, config)
    if (cgroup) plan.cgroup = { path: cgroup }
    const rec: StateRecord = {
      id,
      bundle,
      rootfs: plan.rootfs!.kind === 'bind' ? plan.rootfs!.source : '',
      created: new Date().toISOString(),
      owner: ownerName(),
      creator: { pid: process.pid, start: processStartTime(process.pid) ?? '' },
      ...(config.annotations ? { annotations: config.annotations } : {}),
      denySetgroups: plan.idmap.denySetgroups,
      ...(cgroup ? { cgroup } : {}),
    }
    writeFileAtomic(join(dir, 'config.json'), JSON.stringify(config), 0o600, false)
    writeFileAtomic(join(dir, 'state.json'), JSON.stringify(rec), 0o600, false)
    return { dir, rec, config, plan }
  } catch (err) {
    if (cgroup) (await import('../cgroup/limits.js')).removeCgroup(cgroup)
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
}

/**
 * The container's cgroup, with config.json's limits, where skiff's cgroup code can make one: in the
 * subtree delegated to the user (`<delegated>/skiff/<key>`; linux.cgroupsPath names no place skiff
 * may write). A systemd scope (skiff run's way without a delegated subtree) would end with the
 * shim: limits there are refused. None at all, and no limits asked: none.
 */
async function containerCgroup(ctx: RuntimeContext, id: string, config: OciConfig): Promise<string | undefined> {
  const limits = ociLimits(config.linux?.resources)
  const { limitFiles, prepareCgroup } = await import('../cgroup/limits.js')
  const asked = Object.keys(limitFiles(limits))
  // one key per container under this --root: ids are the engine's, and may share their start
  const key = createHash('sha256').update(`${resolve(ctx.root)}\0${id}`).digest('hex')
  const choice = await prepareCgroup(key, limits, 'enabled')
  if (choice.path) return choice.path
  if (choice.scope && asked.length) {
    throw new SkiffError('E_CGROUP', `cannot enforce ${asked.join(', ')} here: the runtime face needs a cgroup v2 subtree delegated to you, and this host offers a systemd scope only`, {
      hint: 'delegate a subtree (systemd: run the engine inside a user service or scope with Delegate=yes), or leave the limits out',
    })
  }
  return undefined
}

function ownerName(): string {
  try {
    return userInfo().username
  } catch {
    return String(process.getuid!())
  }
}

function writePidFile(path: string | undefined, pid: number): void {
  if (path) writeFileAtomic(resolve(path), String(pid), 0o644, false)
}

/**
 * Start the shim on the container's plan: its process made, waiting on the fifo for `start`.
 * `waiting` resolves once it waits; `done` with the shim's end (detached: at once after that).
 * The prestart and createRuntime hooks run when the shim asks, before the createContainer hooks.
 */
async function launchOci(ctx: RuntimeContext, dir: string, rec: StateRecord, config: OciConfig, plan: LaunchPlan, o: { detach: boolean; consoleSocket?: string }) {
  // made by the shim (as the user, before any namespace), held open by the container's process
  const fifo = join(dir, 'exec.fifo')
  const runtimeHooks = configHooks(config, 'prestart').length + configHooks(config, 'createRuntime').length > 0
  plan.oci = {
    detach: o.detach,
    fifo,
    ...(o.detach ? { pidFile: join(dir, 'init.pid') } : {}),
    ...(runtimeHooks ? { runtimeHooks } : {}),
    ...(o.consoleSocket ? { consoleSocket: resolve(o.consoleSocket) } : {}),
  }
  const { launch } = await import('../launch/launch.js')
  let hookError: unknown
  let hooksRan = Promise.resolve()
  let created = () => {}
  const waiting = new Promise<void>((r) => (created = r))
  const done = launch(plan, {
    stdio: ['inherit', 'inherit', 'inherit'],
    onStart: (pid) => {
      rec.pid = pid
      rec.pidStart = processStartTime(pid)
      writeFileAtomic(join(dir, 'state.json'), JSON.stringify(rec), 0o600, false)
    },
    onMessage: (msg) => {
      if (msg.type === 'created') created()
      if (msg.type !== 'hooks') return
      hooksRan = (async () => {
        try {
          // prestart's state says created, as runc's (and runtime-tools' check) have it; createRuntime's creating
          const st: OciState = { ...state(ctx, rec.id), status: 'created' }
          await runHooks(ctx, config, 'prestart', st)
          await runHooks(ctx, config, 'createRuntime', { ...st, status: 'creating' })
          writeFifo(fifo)
        } catch (err) {
          hookError = err
          try {
            process.kill(rec.pid!, 'SIGKILL')
          } catch {}
        }
      })()
    },
  })
  // a hook's failure is the one to tell (the shim only saw its process killed)
  const outcome = done.then(
    async (r) => {
      await hooksRan
      if (hookError) throw hookError
      return r
    },
    async (err) => {
      await hooksRan
      throw hookError ?? err
    },
  )
  return { waiting, done: outcome }
}

function writeFifo(fifo: string): void {
  const fd = openSync(fifo, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK)
  try {
    writeSync(fd, '0')
  } finally {
    closeSync(fd)
  }
}

/** `create`: the container made, its process waiting for `start`. */
export async function create(ctx: RuntimeContext, id: string, opts: CreateOptions): Promise<void> {
  const { dir, rec, config, plan } = await prepare(ctx, id, opts)
  try {
    const { done } = await launchOci(ctx, dir, rec, config, plan, { detach: true, consoleSocket: opts.consoleSocket })
    await done
    writePidFile(opts.pidFile, rec.pid!)
  } catch (err) {
    await destroy(ctx, id, rec)
    throw err
  }
}

/** `start`: the created container's process runs its command. */
export async function start(ctx: RuntimeContext, id: string): Promise<void> {
  const rec = readRecord(ctx, id)
  const { status } = statusOf(ctx, rec)
  if (status !== 'created') throw new SkiffError('E_STATE', `container ${id} is ${status}, not created: only a created container can be started`, { hint: 'create it again: skiff runtime delete, then create' })
  const fifo = join(containerDir(ctx, id), 'exec.fifo')
  try {
    // non-blocking: the process holds the other end open; ENXIO means it is gone
    writeFifo(fifo)
  } catch (err) {
    throw new SkiffError('E_STATE', `container ${id} cannot be started: its process is not waiting (${errnoCode(err)})`, { hint: 'delete it and create it again' })
  }
  unlinkSync(fifo)
  const config = readConfig(containerDir(ctx, id))
  await runHooks(ctx, config, 'poststart', state(ctx, id))
}

function descendants(pid: number): number[] {
  const children = new Map<number, number[]>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)])
    } catch {}
  }
  const out: number[] = []
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c)
      walk(c)
    }
  }
  walk(pid)
  return out
}

/** The container's processes: its first and everything below it. */
export function processes(ctx: RuntimeContext, id: string): number[] {
  const rec = readRecord(ctx, id)
  const { status, pid } = statusOf(ctx, rec)
  if (status === 'stopped' || !pid) return []
  if (rec.cgroup) {
    try {
      return readFileSync(join(rec.cgroup, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number)
    } catch {}
  }
  return [pid, ...descendants(pid)]
}

function needCgroup(rec: StateRecord, verb: string): string {
  if (!rec.cgroup) {
    throw new SkiffError('E_NO_CGROUP', `container ${rec.id} has no cgroup, so it cannot be ${verb}`, {
      hint: 'containers get one where a cgroup v2 subtree is delegated to you: `skiff info` shows what this host lacks',
    })
  }
  return rec.cgroup
}

/** `pause` and `resume`: the container's cgroup frozen or thawed. */
export async function pause(ctx: RuntimeContext, id: string, on: boolean): Promise<void> {
  const rec = readRecord(ctx, id)
  const { status } = statusOf(ctx, rec)
  const want = on ? 'running' : 'paused'
  if (status !== want) throw new SkiffError('E_STATE', `container ${id} is ${status}, not ${want}`, { hint: on ? 'only a running container can be paused' : 'only a paused container can be resumed' })
  await freezeCgroup(needCgroup(rec, on ? 'paused' : 'resumed'), on)
}

/** `update --resources`: new limits (linux.resources JSON) written to the container's cgroup. */
export async function update(ctx: RuntimeContext, id: string, resources: OciResources): Promise<void> {
  const rec = readRecord(ctx, id)
  if (statusOf(ctx, rec).status === 'stopped') throw new SkiffError('E_STATE', `container ${id} is stopped`, { hint: 'update needs a live container' })
  const cg = needCgroup(rec, 'updated')
  const { limitFiles } = await import('../cgroup/limits.js')
  for (const [file, value] of Object.entries(limitFiles(ociLimits(resources)))) {
    try {
      writeFileSync(join(cg, file), value)
    } catch (err) {
      throw new SkiffError('E_CGROUP', `cannot set ${file}=${value} in ${cg}: ${(err as Error).message}`, { hint: 'check the value; the cgroup must offer that controller' })
    }
  }
}

export function kill(ctx: RuntimeContext, id: string, signal: number, all: boolean): void {
  const rec = readRecord(ctx, id)
  const { status, pid } = statusOf(ctx, rec)
  if (status === 'stopped' || !pid) throw new SkiffError('E_STATE', `container ${id} is not running`, { hint: 'skiff runtime delete removes it', exitCode: 1 })
  for (const p of all ? processes(ctx, id) : [pid]) {
    try {
      process.kill(p, signal)
    } catch (err) {
      if (p === pid && errnoCode(err) !== 'ESRCH') throw err
    }
  }
}

/** `delete`: a stopped container (any, with --force) removed, its poststop hooks run. */
export async function remove(ctx: RuntimeContext, id: string, force: boolean): Promise<void> {
  const rec = readRecord(ctx, id)
  const { status } = statusOf(ctx, rec)
  if (status !== 'stopped' && !force) {
    throw new SkiffError('E_STATE', `container ${id} is ${status}: stop it first, or delete --force`, { hint: `skiff runtime kill ${id} KILL, or skiff runtime delete --force ${id}` })
  }
  await destroy(ctx, id, rec)
}

async function destroy(ctx: RuntimeContext, id: string, rec: StateRecord): Promise<void> {
  const dir = containerDir(ctx, id)
  const proc = processOf(ctx, rec)
  if (proc && statusOf(ctx, rec).status !== 'stopped') {
    if (rec.cgroup) killCgroupProcesses(rec.cgroup)
    for (const p of [proc.pid, ...descendants(proc.pid)]) {
      try {
        process.kill(p, 'SIGKILL')
      } catch {}
    }
    // gone once it is no process (a zombie counts as gone: the engine reaps it)
    const until = Date.now() + 10_000
    while (processStartTime(proc.pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 10))
  }
  let config: OciConfig | undefined
  try {
    config = readConfig(dir)
  } catch {}
  try {
    if (config && rec.bundle) await runHooks(ctx, config, 'poststop', { ...state(ctx, id), status: 'stopped', pid: 0 })
  } finally {
    if (rec.cgroup) {
      const { removeCgroup } = await import('../cgroup/limits.js')
      // what an exec --detach left there goes too; the cgroup goes once it is empty
      killCgroupProcesses(rec.cgroup)
      for (let i = 0; i < 200 && existsSync(rec.cgroup); i++) {
        removeCgroup(rec.cgroup)
        if (existsSync(rec.cgroup)) await new Promise((r) => setTimeout(r, 10))
      }
    }
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * `run`: create and start. Detached, as the two verbs; attached, skiff's shim stays the process's
 * parent (nothing outside need reap it) and skiff waits for the exit status; the process waits on
 * the fifo all the same, so that hooks run where they would.
 */
export async function run(ctx: RuntimeContext, id: string, opts: CreateOptions & { detach: boolean }): Promise<number> {
  if (opts.detach) {
    await create(ctx, id, opts)
    await start(ctx, id)
    return 0
  }
  const { dir, rec, config, plan } = await prepare(ctx, id, { ...opts, foreground: true })
  try {
    const { waiting, done } = await launchOci(ctx, dir, rec, config, plan, { detach: false, consoleSocket: opts.consoleSocket })
    // the shim's end first: a failure before the process waited (a mount, a hook)
    const first = await Promise.race([waiting.then(() => 'created' as const), done.then(() => 'ended' as const, () => 'ended' as const)])
    if (first === 'created') {
      writePidFile(opts.pidFile, rec.pid!)
      await start(ctx, id)
    }
    return (await done).status
  } finally {
    await destroy(ctx, id, rec).catch(() => {})
  }
}

export interface ExecOptions {
  process: ProcessPlan
  detach: boolean
  pidFile?: string
  consoleSocket?: string
}

/** The container's config.process as the base of an exec's process (runc's rule without --process). */
export function containerConfig(ctx: RuntimeContext, id: string): OciConfig {
  readRecord(ctx, id)
  return readConfig(containerDir(ctx, id))
}

export async function exec(ctx: RuntimeContext, id: string, opts: ExecOptions): Promise<number> {
  const rec = readRecord(ctx, id)
  const { status, pid } = statusOf(ctx, rec)
  if (status !== 'running' && status !== 'created') throw new SkiffError('E_STATE', `container ${id} is ${status}: exec needs a running container`, { hint: 'start it first', exitCode: 1 })
  if (opts.process.terminal && !opts.consoleSocket && opts.detach) throw new SkiffError('E_USAGE', 'exec --tty --detach needs --console-socket', { hint: 'give --console-socket PATH' })
  const plan: ExecPlan = {
    version: 1,
    join: { pid },
    idmap: { denySetgroups: rec.denySetgroups },
    process: opts.process,
    ...(opts.detach ? { detach: true } : {}),
    // into the container's cgroup first, as runc's exec joins it
    ...(rec.cgroup ? { cgroup: rec.cgroup } : {}),
    ...(opts.detach || opts.consoleSocket ? { oci: { detach: opts.detach, ...(opts.consoleSocket ? { consoleSocket: resolve(opts.consoleSocket) } : {}) } } : {}),
  }
  const { launch } = await import('../launch/launch.js')
  const result = await launch(plan, {
    stdio: ['inherit', 'inherit', 'inherit'],
    onStart: (p) => writePidFile(opts.pidFile, p),
  })
  return opts.detach ? 0 : result.status
}

// skiff cp: files between the host and a container, as tar streams. Does I/O.
//
// The container's side runs inside its mount namespace as root of its user namespace — the
// shim's own tar code (shims/tar.c), in the running container's namespaces, or, for a stopped
// one, in a fresh mount namespace with its root filesystem and volumes mounted. Every path there
// resolves in the container's tree, so no symlink in it can lead to the host. The host's side is
// node-tar as the user: copied-out files belong to the user; copied-in files to the container's
// root (or, with -a, to the ids in the archive).
import { accessSync, constants, existsSync, lstatSync, statSync, symlinkSync, unlinkSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { c as tarCreate, x as tarExtract } from 'tar'
import { capabilityNumbers } from '../launch/capabilities.js'
import { readState, type ContainerRecord } from './records.js'
import { SkiffError } from '../errors.js'
import { hostIdMap } from '../launch/identity.js'
import { mountableAgain } from '../storage/driver.js'
import { launch } from '../launch/launch.js'
import type { ExecPlan, LaunchPlan, ProcessPlan } from '../plan.js'
import type { Store } from '../storage/store.js'

/** "CONTAINER:PATH" → its parts; a plain path (or "-") → undefined container. */
export function parseCpArg(arg: string): { container?: string; path: string } {
  // a path with a slash before the first colon is a host path (./a:b), as Docker reads it
  const colon = arg.indexOf(':')
  if (colon > 0 && !arg.slice(0, colon).includes('/')) return { container: arg.slice(0, colon), path: arg.slice(colon + 1) || '/' }
  return { path: arg }
}

function builtinProcess(args: string[], stdin: boolean): ProcessPlan {
  const all = capabilityNumbers(['ALL'])
  return {
    args,
    builtin: true,
    env: [],
    cwd: '/',
    uid: 0,
    gid: 0,
    additionalGids: [],
    terminal: false,
    stdin,
    noNewPrivileges: true,
    capabilities: { bounding: all, effective: all, permitted: all, inheritable: [], ambient: [] },
  }
}

/** Where the builtin runs: joined to the running container, or over its mounted root filesystem. */
function planFor(store: Store, rec: ContainerRecord, process: ProcessPlan): LaunchPlan | ExecPlan {
  const state = readState(store, rec)
  if (state.status === 'running' && state.pid) {
    return { version: 1, join: { pid: state.pid }, idmap: { denySetgroups: rec.plan.idmap.denySetgroups }, process }
  }
  // stopped: its root filesystem and its own binds and volumes, nothing else (no new pid
  // namespace, so no /proc; no device nodes)
  const userTargets = new Set(rec.mounts.filter((m) => m.Type !== 'tmpfs').map((m) => m.Destination))
  return {
    version: 1,
    idmap: hostIdMap().plan,
    namespaces: ['mount'],
    rootfs: rec.plan.rootfs && mountableAgain(rec.plan.rootfs),
    rootPropagation: 'rprivate',
    mounts: rec.plan.mounts.filter((m) => m.kind === 'bind' && userTargets.has(m.target)),
    process,
  }
}

function absolute(path: string): string {
  return path.startsWith('/') ? path : `/${path}`
}

/** Container → host (or a tar stream on stdout with DEST "-"). */
export async function copyFromContainer(store: Store, rec: ContainerRecord, src: string, dest: string, opts: { follow: boolean }): Promise<void> {
  const contents = /\/\.$/.test(src)
  const path = absolute(contents ? src.slice(0, -2) || '/' : src)
  let name = contents ? '.' : basename(path) || '.'
  let into = dest
  if (dest !== '-') {
    const target = resolve(dest)
    if (existsSync(target) && statSync(target).isDirectory()) {
      into = target
    } else {
      // DEST does not exist (or is a file): the copy takes its name, in its directory
      into = dirname(target)
      if (!existsSync(into)) {
        throw new SkiffError('E_CP_DEST', `destination directory ${into} does not exist`, { hint: 'create it first, or copy into an existing directory' })
      }
      name = basename(target)
    }
    try {
      accessSync(into, constants.W_OK)
    } catch {
      throw new SkiffError('E_CP_DEST', `cannot write in ${into}`, { hint: 'copy to a directory you may write' })
    }
  }
  // NAME "." is the directory's contents; any other name renames what PATH is
  const args = ['tar-out', path, name, ...(opts.follow ? ['follow'] : [])]
  // node-tar (preservePaths off: no absolute names, no "..", never through a symlink) would turn
  // an absolute link target relative, and drops a link whose target has ".." or is "/" with only
  // a warning: links are left to us, made after the files, as they were (Docker copies the link)
  const links: { path: string; target: string }[] = []
  const warnings: string[] = []
  let done: Promise<unknown> = Promise.resolve()
  const onStdout = (stdout: Readable) => {
    done = (dest === '-'
      ? pipeline(stdout, process.stdout, { end: false })
      : pipeline(stdout, tarExtract({
        cwd: into,
        preservePaths: false,
        filter: (_path, e) => {
          if ('type' in e && e.type === 'SymbolicLink') {
            links.push({ path: e.path, target: e.header.linkpath ?? '' })
            return false
          }
          return true
        },
        onwarn: (_code, message) => void warnings.push(String(message)),
      }))).catch((err: Error) => err)
  }
  const result = await launch(planFor(store, rec, builtinProcess(args, false)), { stdio: ['ignore', 'pipe', 'pipe'], onStdout })
  const failed = await done
  if (result.status !== 0) throw cpFailed(result.stderr)
  if (failed instanceof Error) throw new SkiffError('E_CP', `cannot write the copy in ${into}: ${failed.message}`, { hint: 'check that the destination is writable' })
  for (const l of links) placeLink(into, l.path, l.target)
  if (warnings.length) {
    throw new SkiffError('E_CP', `the copy in ${into} is incomplete: ${warnings.join('; ')}`, { hint: 'check the destination (free space, permissions) and copy again' })
  }
}

/**
 * Make symlink `rel` (a name from the archive) → `target` under `into`, as it was in the
 * container. Every directory on the way must be a real directory under `into`: a link made
 * earlier cannot lead this one out of the destination.
 */
function placeLink(into: string, rel: string, target: string): void {
  const parts = rel.split('/').filter((p) => p && p !== '.')
  if (!parts.length || parts.includes('..') || rel.startsWith('/')) {
    throw new SkiffError('E_CP', `the copy holds a link with a name outside the destination: ${rel}`, { hint: 'this container\'s files may be hostile: copy single files instead' })
  }
  let dir = into
  for (const p of parts.slice(0, -1)) {
    dir = join(dir, p)
    if (!lstatSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
      throw new SkiffError('E_CP', `cannot place the link ${rel}: ${dir} is not a directory of the copy`, { hint: 'this container\'s files may be hostile: copy single files instead' })
    }
  }
  const at = join(dir, parts[parts.length - 1]!)
  const old = lstatSync(at, { throwIfNoEntry: false })
  try {
    if (old && !old.isDirectory()) unlinkSync(at)
    symlinkSync(target, at)
  } catch (err) {
    throw new SkiffError('E_CP', `cannot create the link ${at} -> ${target}: ${(err as Error).message}`, { hint: 'check that the destination is writable' })
  }
}

/** Host (or a tar stream on stdin with SRC "-") → container. */
export async function copyToContainer(store: Store, rec: ContainerRecord, src: string, dest: string, opts: { archive: boolean }): Promise<void> {
  let input: NodeJS.ReadableStream
  const failure: { error?: Error } = {}
  if (src === '-') {
    input = await plainTar(process.stdin, failure)
  } else {
    const contents = /\/\.$/.test(src)
    const path = resolve(contents ? src.slice(0, -2) : src)
    if (!existsSync(path)) throw new SkiffError('E_CP_SOURCE', `no such file or directory: ${src}`, { hint: 'check the host path' })
    // node-tar's Pack is a Minipass stream: read as a Node stream it is the same bytes
    input = (contents
      ? tarCreate({ cwd: path, portable: false }, ['.'])
      : tarCreate({ cwd: dirname(path), portable: false }, [basename(path)])) as unknown as NodeJS.ReadableStream
  }
  const args = ['tar-in', absolute(dest), ...(opts.archive ? ['keep-owner'] : [])]
  const result = await launch(planFor(store, rec, builtinProcess(args, true)), { stdio: ['pipe', 'ignore', 'pipe'], inputStream: input })
  if (failure.error) {
    throw new SkiffError('E_CP', `cannot read the archive on stdin: ${failure.error.message}`, { hint: 'give a tar archive, plain or compressed with gzip or zstd' })
  }
  if (result.status !== 0) throw cpFailed(result.stderr)
  const warnings = (result.stderr ?? '').trim()
  if (warnings) process.stderr.write(`${warnings}\n`)
}

/**
 * A tar stream from stdin, decompressed when it is gzip or zstd (Docker and podman take compressed
 * archives; skiff took them as plain tar and extracted nothing, exit 0). bzip2 and xz, which Node
 * cannot read, are an error. A decoding failure ends the stream and is left in `failure`.
 */
async function plainTar(input: NodeJS.ReadableStream, failure: { error?: Error }): Promise<NodeJS.ReadableStream> {
  // loaded here, for the one command that needs them
  const { PassThrough, Readable } = require('node:stream') as typeof import('node:stream')
  const it = (input as Readable)[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  const first = await it.next()
  const head = first.done ? Buffer.alloc(0) : Buffer.from(first.value)
  const rest = Readable.from((async function* () {
    if (head.length) yield head
    for (;;) {
      const n = await it.next()
      if (n.done) return
      yield n.value
    }
  })())
  const magic = (bytes: number[]) => bytes.every((b, i) => head[i] === b)
  if (magic([0x42, 0x5a, 0x68]) || magic([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) {
    throw new SkiffError('E_CP', `the archive on stdin is compressed with ${head[0] === 0x42 ? 'bzip2' : 'xz'}, which skiff does not read`, {
      hint: `decompress it first (${head[0] === 0x42 ? 'bunzip2' : 'xz -d'} -c FILE | skiff cp - CONTAINER:PATH), or give it plain or gzip- or zstd-compressed`,
    })
  }
  let decoder: NodeJS.ReadWriteStream | undefined
  if (magic([0x1f, 0x8b])) decoder = (require('node:zlib') as typeof import('node:zlib')).createGunzip()
  else if (magic([0x28, 0xb5, 0x2f, 0xfd])) decoder = (await import('../storage/zstd-stream.js')).createZstdDecompress()
  if (!decoder) return rest
  const out = new PassThrough()
  const fail = (err: Error) => {
    failure.error ??= err
    out.end()
  }
  rest.on('error', fail)
  decoder.on('error', fail)
  rest.pipe(decoder).pipe(out)
  return out
}

function cpFailed(stderr: string | undefined): SkiffError {
  return new SkiffError('E_CP', `copy failed${stderr?.trim() ? `: ${stderr.trim()}` : ''}`, { hint: 'check the paths in the container (skiff exec CONTAINER ls -l PATH)' })
}

/** skiff export: the container's root filesystem, as the container sees it, as one tar. */
export async function exportContainer(store: Store, rec: ContainerRecord, out: NodeJS.WritableStream): Promise<void> {
  let done: Promise<unknown> = Promise.resolve()
  const onStdout = (stdout: Readable) => {
    done = pipeline(stdout, out as NodeJS.WritableStream, { end: out !== process.stdout }).catch((err: Error) => err)
  }
  const result = await launch(planFor(store, rec, builtinProcess(['tar-out', '/', '.', 'one-file-system'], false)), { stdio: ['ignore', 'pipe', 'pipe'], onStdout })
  const failed = await done
  if (result.status !== 0) throw cpFailed(result.stderr)
  if (failed instanceof Error) throw new SkiffError('E_EXPORT', `cannot write the archive: ${failed.message}`, { hint: 'check the output file and the free space' })
}

/**
 * Between containers and for `skiff build`: a tar stream into `rec` (running or not) at `dest`,
 * with the flags of the shim's tar-in (keep-owner, owner=U:G, mode=M, parents, keep-dest).
 */
export async function tarIntoContainer(store: Store, rec: ContainerRecord, input: NodeJS.ReadableStream, dest: string, flags: string[]): Promise<void> {
  const result = await launch(planFor(store, rec, builtinProcess(['tar-in', absolute(dest), ...flags], true)), { stdio: ['pipe', 'ignore', 'pipe'], inputStream: input })
  if (result.status !== 0) throw cpFailed(result.stderr)
}

/** `path` in `rec` as a tar stream (its top entry named `name`; "." for a directory's contents), handed to `use`. */
export async function tarFromContainer(store: Store, rec: ContainerRecord, path: string, name: string, use: (tar: Readable) => Promise<void>): Promise<void> {
  let done: Promise<unknown> = Promise.resolve()
  const onStdout = (stdout: Readable) => {
    done = use(stdout).catch((err: Error) => err)
  }
  const result = await launch(planFor(store, rec, builtinProcess(['tar-out', absolute(path), name], false)), { stdio: ['ignore', 'pipe', 'pipe'], onStdout })
  const failed = await done
  if (result.status !== 0) throw cpFailed(result.stderr)
  if (failed instanceof Error) throw failed
}

// One image layer (a tar stream: uncompressed, gzip or zstd) → a directory in overlayfs lower-dir format.
// Does I/O (writes under `dest` only).
//
// node-tar parses; the file operations are ours, because a layer is hostile input and the rules
// differ from a plain `tar -x`: absolute symlink targets are kept as they are (they resolve inside
// the container), while no entry may be written through a symlink or outside `dest`. Every path
// this layer touches is tracked in `kinds`, so "is this parent a real directory?" is answered
// from our own writes, without following anything on disk:
//
//   a -> /etc, then a/passwd            → refused: parent "a" is a symlink
//   ../../home/u/.bashrc                → refused: ".." component
//   .wh.foo                             → whiteout record for foo (applied by the shim: mknod 0/0)
//   dir/.wh..wh..opq                    → opaque record for dir (xattr user.overlay.opaque=y)
//   char/block devices, fifos           → skipped and counted (rootless cannot create devices)
import { createHash } from 'node:crypto'
import { closeSync, createReadStream, readSync, fchmodSync, fchownSync, futimesSync, linkSync, lchownSync, mkdirSync, openSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeSync, chmodSync, chownSync, constants } from 'node:fs'
import { join } from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import { Parser, type ReadEntry } from 'tar'
import { READ_CHUNK } from '../digest.js'
import { SkiffError } from '../errors.js'
import { createZstdDecompress } from './zstd-stream.js'

export interface UnpackOptions {
  /** chown entries to their ids (root of a user namespace); off for a plain user */
  preserveOwner: boolean
  /** ids at or above this have no mapping here and become 0 (single-id mapping) */
  idLimit: number
}

export interface UnpackResult {
  /** sha256 of the uncompressed stream: the layer's diffID */
  diffID: string
  /** paths (relative to dest) to turn into overlay whiteouts */
  whiteouts: string[]
  /** directories (relative) to mark opaque */
  opaque: string[]
  skippedDevices: number
  squashedOwners: number
}

type Kind = 'dir' | 'file' | 'symlink'

/** "./a//b/" → ["a", "b"]; a ".." anywhere is refused. An absolute path is taken from the root. */
export function safeComponents(path: string): string[] {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.')
  if (parts.includes('..')) {
    throw new SkiffError('E_LAYER_PATH', `layer entry ${JSON.stringify(path)} has a ".." component: it would write outside its layer`, {
      hint: 'the image is damaged or hostile; rebuild it or get it from a source you trust',
    })
  }
  return parts
}

export function isGzip(head: Buffer): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b
}

export function isZstd(head: Buffer): boolean {
  return head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528
}

/** The first `n` bytes of a stream, put back so the stream still starts with them. */
async function peek(stream: Readable, n: number): Promise<Buffer> {
  for (;;) {
    const chunk = stream.read(n) as Buffer | null
    if (chunk) {
      stream.unshift(chunk)
      return chunk
    }
    if (stream.readableEnded) {
      const rest = (stream.read() as Buffer | null) ?? Buffer.alloc(0)
      if (rest.length) stream.unshift(rest)
      return rest
    }
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        stream.off('readable', done)
        stream.off('end', done)
        stream.off('error', fail)
        resolve()
      }
      const fail = (err: Error) => reject(err)
      stream.once('readable', done)
      stream.once('end', done)
      stream.once('error', fail)
    })
  }
}

/**
 * Unpack the layer file `blob` — or a stream of it, as it is downloaded — into the (new, empty)
 * directory `dest`. The caller checks the returned diffID before it uses `dest`.
 */
export async function unpackLayer(blob: string | Readable, dest: string, opts: UnpackOptions): Promise<UnpackResult> {
  let head: Buffer = Buffer.alloc(4)
  if (typeof blob === 'string') {
    const fd = openSync(blob, 'r')
    try {
      readSync(fd, head, 0, 4, 0)
    } finally {
      closeSync(fd)
    }
  } else {
    head = await peek(blob, 4)
  }
  mkdirSync(dest, { recursive: true, mode: 0o755 })
  const hash = createHash('sha256')
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk)
      done(null, chunk)
    },
  })
  const state = new Extractor(dest, opts)
  const parser = new Parser({ strict: true, onReadEntry: (e: ReadEntry) => state.entry(e) })
  const sink = parser as unknown as NodeJS.WritableStream
  try {
    // Big chunks: each read and each inflate step is a round trip to libuv's thread pool, and
    // with the 16/64 KiB defaults those round trips, not the work, dominated (strace: futex).
    const source = typeof blob === 'string' ? createReadStream(blob, { highWaterMark: READ_CHUNK }) : blob
    if (isGzip(head)) await pipeline(source, createGunzip({ chunkSize: READ_CHUNK }), tap, sink)
    else if (isZstd(head)) await pipeline(source, createZstdDecompress(), tap, sink)
    else await pipeline(source, tap, sink)
  } catch (err) {
    if (state.error) throw state.error
    throw new SkiffError('E_LAYER_READ', `cannot read layer ${typeof blob === 'string' ? blob : 'stream'}: ${(err as Error).message}`, {
      hint: 'the layer is not a valid tar archive (truncated or corrupt); load or pull the image again',
      cause: err,
    })
  }
  if (state.error) throw state.error
  state.finish()
  return {
    diffID: `sha256:${hash.digest('hex')}`,
    whiteouts: state.whiteouts,
    opaque: state.opaque,
    skippedDevices: state.skippedDevices,
    squashedOwners: state.squashed,
  }
}


class Extractor {
  readonly kinds = new Map<string, Kind>()
  readonly whiteouts: string[] = []
  readonly opaque: string[] = []
  readonly dirTimes: [string, Date][] = []
  skippedDevices = 0
  squashed = 0
  error: SkiffError | undefined

  constructor(readonly dest: string, readonly opts: UnpackOptions) {
    this.kinds.set('', 'dir')
  }

  entry(e: ReadEntry): void {
    if (this.error) return void e.resume()
    try {
      this.handle(e)
    } catch (err) {
      this.error = err instanceof SkiffError ? err : new SkiffError('E_LAYER_WRITE', `cannot unpack ${e.path}: ${(err as Error).message}`, {
        hint: 'check free disk space and that the storage directory is on a local filesystem',
        cause: err,
      })
      e.resume()
    }
  }

  private owner(e: ReadEntry): [number, number] {
    let uid = e.uid ?? 0
    let gid = e.gid ?? 0
    if (uid >= this.opts.idLimit || gid >= this.opts.idLimit) {
      this.squashed++
      if (uid >= this.opts.idLimit) uid = 0
      if (gid >= this.opts.idLimit) gid = 0
    }
    return [uid, gid]
  }

  /** Make sure every parent of `parts` is a directory of this layer, creating missing ones. */
  private parents(parts: string[], original: string): void {
    for (let i = 1; i < parts.length; i++) {
      const rel = parts.slice(0, i).join('/')
      const kind = this.kinds.get(rel)
      if (kind === 'dir') continue
      if (kind !== undefined) {
        throw new SkiffError('E_LAYER_SYMLINK', `layer entry ${JSON.stringify(original)} goes through ${JSON.stringify(rel)}, which is not a directory (a symlink escape)`, {
          hint: 'the image is damaged or hostile; rebuild it or get it from a source you trust',
        })
      }
      mkdirSync(join(this.dest, rel), { mode: 0o755 })
      this.kinds.set(rel, 'dir')
    }
  }

  /** Remove what this layer already has at `rel` (a later entry replaces an earlier one). */
  private replace(rel: string, keepDir: boolean): void {
    const kind = this.kinds.get(rel)
    if (kind === undefined || (kind === 'dir' && keepDir)) return
    const abs = join(this.dest, rel)
    if (kind === 'dir') {
      rmSync(abs, { recursive: true, force: true })
      for (const k of [...this.kinds.keys()]) if (k.startsWith(`${rel}/`)) this.kinds.delete(k)
    } else {
      unlinkSync(abs)
    }
    this.kinds.delete(rel)
  }

  private handle(e: ReadEntry): void {
    const parts = safeComponents(e.path)
    if (parts.length === 0) return void e.resume() // "./" itself
    const name = parts[parts.length - 1]!
    const rel = parts.join('/')
    if (name.startsWith('.wh.')) {
      this.parents(parts, e.path)
      const dir = parts.slice(0, -1).join('/')
      if (name === '.wh.') throw new SkiffError('E_LAYER_PATH', `layer whiteout ${JSON.stringify(e.path)} names nothing`, { hint: 'the image is damaged; rebuild it' })
      if (name === '.wh..wh..opq') this.opaque.push(dir)
      else {
        const target = [...parts.slice(0, -1), name.slice(4)].join('/')
        safeComponents(target)
        this.replace(target, false)
        this.whiteouts.push(target)
      }
      return void e.resume()
    }
    this.parents(parts, e.path)
    const abs = join(this.dest, rel)
    const [uid, gid] = this.owner(e)
    const mode = (e.mode ?? 0o644) & 0o7777
    switch (e.type) {
      case 'Directory':
      case 'GNUDumpDir': {
        this.replace(rel, true)
        if (this.kinds.get(rel) !== 'dir') mkdirSync(abs, { mode: 0o700 })
        this.kinds.set(rel, 'dir')
        if (this.opts.preserveOwner) chownSync(abs, uid, gid)
        chmodSync(abs, mode)
        if (e.mtime) this.dirTimes.push([abs, e.mtime])
        return void e.resume()
      }
      case 'File':
      case 'OldFile':
      case 'ContiguousFile': {
        this.replace(rel, false)
        const fd = openSync(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
        this.kinds.set(rel, 'file')
        e.on('data', (chunk: Buffer) => {
          let off = 0
          while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off)
        })
        e.on('end', () => {
          try {
            // chown clears setuid/setgid bits, so the mode comes after it
            if (this.opts.preserveOwner) fchownSync(fd, uid, gid)
            fchmodSync(fd, mode)
            if (e.mtime) futimesSync(fd, e.atime ?? e.mtime, e.mtime)
          } catch (err) {
            this.error ??= new SkiffError('E_LAYER_WRITE', `cannot finish ${e.path}: ${(err as Error).message}`, { hint: 'check free disk space' })
          } finally {
            closeSync(fd)
          }
        })
        return
      }
      case 'Link': {
        const target = safeComponents(e.linkpath ?? '').join('/')
        const kind = this.kinds.get(target)
        if (kind === undefined || kind === 'dir') {
          throw new SkiffError('E_LAYER_LINK', `layer hard link ${JSON.stringify(e.path)} points at ${JSON.stringify(e.linkpath)}, which this layer does not contain`, {
            hint: 'the image is damaged or hostile; rebuild it',
          })
        }
        this.replace(rel, false)
        linkSync(join(this.dest, target), abs)
        this.kinds.set(rel, 'file')
        return void e.resume()
      }
      case 'SymbolicLink': {
        this.replace(rel, false)
        // The target is kept verbatim: it is resolved inside the container, never here.
        symlinkSync(e.linkpath ?? '', abs)
        this.kinds.set(rel, 'symlink')
        if (this.opts.preserveOwner) lchownSync(abs, uid, gid)
        return void e.resume()
      }
      case 'CharacterDevice':
      case 'BlockDevice':
      case 'FIFO':
        this.skippedDevices++
        return void e.resume()
      default:
        return void e.resume()
    }
  }

  /** Directory times last: creating entries inside a directory changes its mtime. */
  finish(): void {
    for (const [abs, mtime] of this.dirTimes.reverse()) {
      try {
        utimesSync(abs, mtime, mtime)
      } catch {}
    }
  }
}

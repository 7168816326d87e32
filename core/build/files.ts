// The steps of a build that put files in: COPY, ADD and WORKDIR. Their sources (the build
// context less .dockerignore, heredocs, downloads, another stage or image) become tar streams
// that the shim's tar-in unpacks into a container on the stage's layers (step.ts changeFiles);
// Docker's rules decide what lands where:
//   - several sources, a wildcard, a directory source or a DEST ending in / : DEST is a directory
//     (made with its parents when missing), and a directory source gives its contents
//   - one file to a DEST without a slash: DEST is the file, or a file in DEST if that is a directory
//   - ADD unpacks a local tar archive (plain, gzip, bzip2, xz, zstd) into DEST; ADD of a URL
//     downloads it (mode 600, as Docker), where the build's network allows
// Does I/O.
import { createHash, randomBytes } from 'node:crypto'
import { spawn } from 'node:child_process'
import { closeSync, createReadStream, createWriteStream, existsSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, readlinkSync, realpathSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { readImageFile } from '../image/files.js'
import { resolveUser } from '../launch/passwd.js'
import { layerDiffDir, type Store } from '../storage/store.js'
import { plainNetwork } from '../net/setup.js'
import { TarWriter } from '../storage/tar-write.js'
import type { ContainerRecord } from '../container/records.js'
import { expand, words, type Instruction } from './dockerfile.js'
import { cleanPath, excludedBy, parseIgnore, type IgnoreRule } from './ignore.js'
import { cached, changeFiles, fail, hash, pathKind, removeBuildContainer, stateImage, substitutionEnv, withLayer, type State, type StepContext } from './step.js'

/** .dockerignore of the context (none: everything is in it). */
export function readIgnore(context: string): IgnoreRule[] {
  try {
    return parseIgnore(readFileSync(join(context, '.dockerignore'), 'utf8'))
  } catch {
    return []
  }
}

const WILDCARD = /[*?[]/

/** One '/'-free part of a pattern as Go's filepath.Match reads it: * and ? within a name, [...] classes. */
function wildcardPart(part: string): RegExp {
  return new RegExp(`^${part.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`)
}

/** A context path for COPY: the path itself, or with wildcards every match (those .dockerignore leaves). */
function contextMatches(context: string, src: string, ignore: IgnoreRule[]): string[] {
  const clean = cleanPath(src)
  if (!WILDCARD.test(clean)) return clean && excludedBy(ignore, clean) ? [] : [clean]
  let found = ['']
  for (const part of clean.split('/')) {
    const re = wildcardPart(part)
    const next: string[] = []
    for (const dir of found) {
      let names: string[] = []
      try {
        names = readdirSync(join(context, dir)).sort()
      } catch {}
      for (const n of names) if (re.test(n)) next.push(dir ? `${dir}/${n}` : n)
    }
    found = next
  }
  return found.filter((p) => !excludedBy(ignore, p))
}

/**
 * A context path, refused when a symlink on it (or the path itself, which COPY follows) leads out
 * of the context: a hostile repository's `link -> /home/you` must not put `COPY link/.ssh/` in an
 * image.
 */
export function insideContext(context: string, rel: string, inst: Instruction): string {
  const path = join(context, rel)
  let real: string
  try {
    real = realpathSync(path)
  } catch {
    return path // missing: reported by the caller
  }
  const root = realpathSync(context)
  if (real !== root && !real.startsWith(`${root}/`)) {
    throw fail(inst, `${rel}: a symlink leads out of the build context (to ${real})`, 'copy files that are in the context')
  }
  return path
}

/** A host tree (a context path, a download) as tar entries named under `prefix`, hashed into `h`. */
function addTree(tar: TarWriter, root: string, rel: string, prefix: string, ignore: IgnoreRule[], h: ReturnType<typeof createHash>, epoch?: number, mode?: number, top = false): void {
  const path = join(root, rel)
  // a source named in the Dockerfile is followed when it is a symlink (to somewhere in the
  // context: insideContext checked); the links found below it are copied as links
  const st = top ? statSync(path) : lstatSync(path)
  const mtime = Math.floor(st.mtimeMs / 1000)
  const base = { mode: mode ?? st.mode & 0o7777, uid: 0, gid: 0, mtime: epoch !== undefined && mtime > epoch ? epoch : mtime }
  h.update(`${prefix}\0${base.mode}\0`)
  if (st.isDirectory()) {
    tar.entry({ ...base, name: `${prefix}/`, type: '5' })
    for (const n of readdirSync(path).sort()) {
      const childRel = rel ? `${rel}/${n}` : n
      if (excludedBy(ignore, childRel)) continue
      addTree(tar, root, childRel, prefix === '.' ? `./${n}` : `${prefix}/${n}`, ignore, h, epoch)
    }
  } else if (st.isSymbolicLink()) {
    const target = readlinkSync(path)
    h.update(target)
    tar.entry({ ...base, name: prefix, type: '2', linkname: target })
  } else if (st.isFile()) {
    h.update(readFileSync(path))
    tar.entry({ ...base, name: prefix, type: '0', size: st.size }, { path })
  }
}

/** --chown=USER[:GROUP] as numbers, names looked up in the stage's /etc/passwd and /etc/group. */
function ownerOf(store: Store, state: State, spec: string, inst: Instruction): string {
  const layers = state.layers.map((l) => layerDiffDir(store, l.diffID)).reverse()
  try {
    const [user, group] = spec.split(':')
    const passwd = readImageFile(layers, 'etc/passwd')
    const groups = readImageFile(layers, 'etc/group')
    const u = resolveUser(user!, passwd, groups)
    const gid = group === undefined ? u.gid : /^\d+$/.test(group) ? Number(group) : resolveUser(`0:${group}`, passwd, groups).gid
    return `${u.uid}:${gid}`
  } catch (err) {
    throw fail(inst, `--chown=${spec}: ${(err as Error).message}`)
  }
}

/** The first block of a file (zeros past its end) and how many bytes it had. */
function firstBlock(path: string): { head: Buffer; n: number } {
  const head = Buffer.alloc(512)
  const fd = openSync(path, 'r')
  try {
    return { head, n: readSync(fd, head, 0, 512, 0) }
  } finally {
    closeSync(fd)
  }
}

/** The compression of a file, by its first bytes; undefined: not a tar archive ADD unpacks. */
function archiveKind(path: string): 'tar' | 'gzip' | 'bzip2' | 'xz' | 'zstd' | undefined {
  const { head, n } = firstBlock(path)
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip'
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2'
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz'
  if (head.readUInt32LE(0) === 0xfd2fb528) return 'zstd'
  if (n === 512 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar'
  return undefined
}

/** import: a plain tar archive (as ADD tells one), or an empty archive (nothing, or zero blocks). */
export function isPlainTar(path: string): boolean {
  const { head, n } = firstBlock(path)
  return n === 0 || (n === 512 && head.every((b) => b === 0)) || archiveKind(path) === 'tar'
}

/** An archive as a plain tar stream (bzip2, xz and zstd through their programs). */
function plainArchive(path: string, kind: NonNullable<ReturnType<typeof archiveKind>>): Readable {
  if (kind === 'tar') return createReadStream(path)
  if (kind === 'gzip') return createReadStream(path).pipe(createGunzip())
  const program = { bzip2: 'bzip2', xz: 'xz', zstd: 'zstd' }[kind]
  const child = spawn(program, ['-d', '-c', path], { stdio: ['ignore', 'pipe', 'inherit'] })
  child.on('error', (err) => child.stdout.destroy(err))
  return child.stdout
}

/** ADD URL: the file, downloaded into `dir`; its name from the URL. */
async function download(url: string, dir: string, inst: Instruction, checksum?: string): Promise<{ path: string; name: string; mtime?: number }> {
  const { get } = await import('../image/http.js')
  let res
  try {
    res = await get(url, { headers: { 'user-agent': 'skiff' } })
  } catch (err) {
    throw fail(inst, `cannot download ${url}: ${(err as Error).message}`, 'check the URL and the network (skiff build --network)')
  }
  if (res.status !== 200) throw fail(inst, `${url} answered ${res.status}`, 'check the URL')
  const name = decodeURIComponent(new URL(url).pathname.split('/').filter(Boolean).pop() ?? '') || 'download'
  const path = join(dir, `dl-${randomBytes(6).toString('hex')}`)
  const sum = createHash('sha256')
  res.body.on('data', (c: Buffer) => sum.update(c))
  await pipeline(res.body, createWriteStream(path, { mode: 0o600 }))
  const got = `sha256:${sum.digest('hex')}`
  if (checksum && checksum !== got) throw fail(inst, `${url} has checksum ${got}, --checksum says ${checksum}`, 'the file changed, or the checksum is wrong')
  const modified = Date.parse(res.headers.get('last-modified') ?? '')
  return { path, name, mtime: Number.isFinite(modified) ? Math.floor(modified / 1000) : undefined }
}

/** One tar-in into the container: a stream, where it goes, how. */
interface Put {
  input: () => Readable
  dest: string
  flags: string[]
}

export async function copyStep(store: Store, state: State, inst: Instruction, ctx: StepContext): Promise<State> {
  const env = substitutionEnv(state)
  const items = inst.json ? inst.json.map((w) => expand(w, env, ctx.esc)) : words(inst.args, env, ctx.esc)
  if (items.length < 2) throw fail(inst, `${inst.name} needs a source and a destination`)
  let dest = items[items.length - 1]!
  // the heredocs' markers stand for their files
  const sources = items.slice(0, -1).filter((s) => !/^<<-?["']?[A-Za-z_][A-Za-z0-9_]*["']?$/.test(s))
  if (!dest.startsWith('/')) dest = `${(state.config.WorkingDir || '/').replace(/\/$/, '')}/${dest}`
  const isAdd = inst.name === 'ADD'
  const from = inst.flags.from?.[0] !== undefined ? expand(inst.flags.from[0]!, { ...ctx.globalArgs, ...env }, ctx.esc) : undefined
  const flags = ['keep-owner', 'parents', 'keep-dest']
  if (inst.flags.chown) flags.push(`owner=${ownerOf(store, state, expand(inst.flags.chown[0]!, env, ctx.esc), inst)}`)
  const chmod = inst.flags.chmod?.[0]
  if (chmod !== undefined && !/^[0-7]{3,4}$/.test(chmod)) throw fail(inst, `--chmod=${chmod}: an octal mode is expected, e.g. 755`)
  if (chmod) flags.push(`mode=${chmod}`)
  for (const f of Object.keys(inst.flags)) {
    if (!['from', 'chown', 'chmod', 'checksum', 'link'].includes(f) || (f === 'checksum' && !isAdd)) throw fail(inst, `${inst.name} --${f} is not supported`)
  }
  const staging = join(store.root, 'tmp', `build-${process.pid}-${randomBytes(6).toString('hex')}`)
  mkdirSync(staging, { mode: 0o700 })
  try {
    if (from !== undefined) return await copyFrom(store, state, inst, ctx, from, sources, dest, flags)
    const h = createHash('sha256')
    const puts: Put[] = []
    let dirMode = dest.endsWith('/') || sources.length + inst.heredocs.length > 1
    // archives (ADD) go in one by one, into DEST as a directory; the rest in one tar
    const files: { root: string; rel: string; name?: string; mode?: number; mtime?: number }[] = []
    for (const s of sources) {
      if (isAdd && /^https?:\/\//.test(s)) {
        if ((ctx.network ?? '') === 'none') throw fail(inst, `cannot download ${s}: the build's network is none`, 'build with a network, or put the file in the context')
        const d = await download(s, staging, inst, inst.flags.checksum?.[0])
        const name = dirMode ? d.name : dest.split('/').pop()!
        files.push({ root: staging, rel: d.path.split('/').pop()!, name, mode: 0o600, mtime: d.mtime })
        continue
      }
      if (isAdd && /^[a-z]+:\/\//.test(s)) throw fail(inst, `ADD of ${s}: only http and https URLs are fetched`)
      const m = contextMatches(ctx.context, s, ctx.ignore)
      if (!m.length || !existsSync(join(ctx.context, m[0]!))) {
        const rule = excludedBy(ctx.ignore, cleanPath(s))
        throw fail(inst, `${s}: not found in the build context${rule ? ` (excluded by .dockerignore: ${rule.pattern})` : ''}`, 'paths are relative to the context directory; check .dockerignore')
      }
      if (m.length > 1 || WILDCARD.test(s)) dirMode = true
      for (const rel of m) {
        const path = insideContext(ctx.context, rel, inst)
        const kind = isAdd && statSync(path).isFile() ? archiveKind(path) : undefined
        if (kind) {
          h.update(`archive\0${rel}\0`).update(readFileSync(path))
          puts.push({ input: () => plainArchive(path, kind), dest: dest.replace(/\/?$/, '/'), flags: ['keep-owner', 'keep-dest', ...flags.filter((f) => f.startsWith('owner=') || f.startsWith('mode='))] })
          continue
        }
        if (statSync(path).isDirectory()) dirMode = true
        files.push({ root: ctx.context, rel })
      }
    }
    if (files.length || inst.heredocs.length) {
      const tarPath = join(staging, 'sources.tar')
      const fd = openSync(tarPath, 'w', 0o600)
      try {
        const tar = new TarWriter(fd)
        // a directory DEST made here: root's, 755, now (SOURCE_DATE_EPOCH when set)
        const now = ctx.epoch ?? Math.floor(Date.now() / 1000)
        if (dirMode) tar.entry({ name: './', type: '5', mode: 0o755, uid: 0, gid: 0, mtime: now })
        for (const f of files) {
          const isDir = statSync(join(f.root, f.rel)).isDirectory()
          const base = f.name ?? f.rel.split('/').pop()!
          const name = isDir ? '.' : dirMode ? `./${base}` : base
          addTree(tar, f.root, f.rel, name, ctx.ignore, h, f.mtime ?? ctx.epoch, f.mode, true)
        }
        for (const d of inst.heredocs) {
          const content = Buffer.from(d.quoted ? d.content : expand(d.content, env, ctx.esc))
          h.update(content)
          tar.entry({ name: dirMode ? `./${d.name}` : d.name, type: '0', mode: 0o644, uid: 0, gid: 0, mtime: now }, content)
        }
        tar.end()
      } finally {
        closeSync(fd)
      }
      puts.unshift({ input: () => createReadStream(tarPath), dest, flags })
    }
    // an archive's DEST is a directory: made first
    if (puts.some((p) => p.dest.endsWith('/')) && !files.length) puts.unshift({ input: () => emptyDirTar(staging), dest, flags: ['parents', 'keep-dest'] })
    const key = hash(state.key, inst.original, h.digest('hex'), JSON.stringify(flags))
    const hit = cached(store, key, ctx)
    if (hit) {
      ctx.log('--> Using cache')
      return withLayer(state, inst, key, hit)
    }
    const { tarIntoContainer } = await import('../container/cp.js')
    return await changeFiles(store, state, inst, key, ctx, async (rec) => {
      for (const p of puts) await tarIntoContainer(store, rec, p.input(), p.dest, p.flags)
    })
  } finally {
    rmSync(staging, { recursive: true, force: true })
  }
}

/** A tar of one directory entry "./" (mode 755): tar-in with parents and keep-dest makes DEST. */
function emptyDirTar(dir: string): Readable {
  const path = join(dir, `dir-${randomBytes(4).toString('hex')}.tar`)
  const fd = openSync(path, 'w', 0o600)
  try {
    const tar = new TarWriter(fd)
    tar.entry({ name: './', type: '5', mode: 0o755, uid: 0, gid: 0, mtime: Math.floor(Date.now() / 1000) })
    tar.end()
  } finally {
    closeSync(fd)
  }
  return createReadStream(path)
}

/** COPY --from=STAGE|IMAGE: the sources read out of a container of that stage or image. */
/**
 * The paths of a stage's (or image's) tree that a wildcard pattern matches, read through its
 * layers as overlay shows them: a whiteout hides a name, an opaque directory what is below it.
 */
function globInState(store: Store, state: State, pattern: string): string[] {
  const layers = [...state.layers].reverse().map((l) => {
    const dir = join(layerDiffDir(store, l.diffID), '..')
    let opaque: string[] = []
    try {
      opaque = (JSON.parse(readFileSync(join(dir, 'layer.json'), 'utf8')) as { opaque?: string[] }).opaque ?? []
    } catch {}
    return { diff: layerDiffDir(store, l.diffID), opaque: new Set(opaque) }
  })
  const names = (rel: string): string[] => {
    const seen = new Map<string, boolean>()
    for (const l of layers) {
      let entries: string[] = []
      try {
        entries = readdirSync(join(l.diff, rel))
      } catch {}
      for (const n of entries) {
        if (seen.has(n)) continue
        const st = lstatSync(join(l.diff, rel, n))
        seen.set(n, !(st.isCharacterDevice() && st.rdev === 0))
      }
      if (l.opaque.has(rel)) break
    }
    return [...seen].filter(([, shown]) => shown).map(([n]) => n).sort()
  }
  let found = ['']
  for (const part of cleanPath(pattern).split('/')) {
    const re = wildcardPart(part)
    found = found.flatMap((dir) => names(dir).filter((n) => re.test(n)).map((n) => (dir ? `${dir}/${n}` : n)))
  }
  return found
}

async function copyFrom(store: Store, state: State, inst: Instruction, ctx: StepContext, from: string, sources: string[], dest: string, flags: string[]): Promise<State> {
  const fromState = ctx.stageState(from) ?? (await ctx.imageState(from))
  const dirMode = dest.endsWith('/') || sources.length > 1 || sources.some((s) => WILDCARD.test(s))
  for (const s of sources) {
    if (WILDCARD.test(s) ? !globInState(store, fromState, s).length : pathKind(store, fromState, s) === 'none') throw fail(inst, `${s}: not found in ${from}`)
  }
  sources = sources.flatMap((s) => (WILDCARD.test(s) ? globInState(store, fromState, s) : [s]))
  const key = hash(state.key, inst.original, fromState.key, JSON.stringify(flags))
  const hit = cached(store, key, ctx)
  if (hit) {
    ctx.log('--> Using cache')
    return withLayer(state, inst, key, hit)
  }
  const srcImage = await stateImage(store, fromState, ctx.epoch)
  const { createContainer } = await import('../container/create.js')
  const { tarFromContainer, tarIntoContainer } = await import('../container/cp.js')
  const { record: srcRec } = await createContainer({ image: srcImage, args: ['true'], env: [], tty: false, interactive: false, rm: false, pull: 'never', logDriver: 'none', net: plainNetwork('none'), emptyRoot: true })
  try {
    return await changeFiles(store, state, inst, key, ctx, async (rec: ContainerRecord) => {
      for (const s of sources) {
        const path = `/${cleanPath(s)}`
        const isDir = pathKind(store, fromState, path) === 'dir'
        const base = path.split('/').pop()!
        // a directory gives its contents; a file keeps its name in a directory DEST
        const target = dirMode && !isDir ? `${dest.replace(/\/$/, '')}/${base}` : dest
        await tarFromContainer(store, srcRec, path, isDir ? '.' : base, (tar) => tarIntoContainer(store, rec, tar, target, flags))
      }
    })
  } finally {
    await removeBuildContainer(store, srcRec.id, ctx.worker)
  }
}

/** WORKDIR: Docker makes the directory even when no later step uses it (root's, mode 755). */
export async function workdirStep(store: Store, state: State, inst: Instruction, ctx: StepContext, dir: string): Promise<State> {
  const kind = pathKind(store, state, dir)
  if (kind !== 'none') return state
  const key = hash(state.key, 'WORKDIR', dir)
  const hit = cached(store, key, ctx)
  if (hit) return withLayer(state, inst, key, hit)
  const staging = join(store.root, 'tmp', `build-${process.pid}-${randomBytes(6).toString('hex')}`)
  mkdirSync(staging, { mode: 0o700 })
  try {
    const { tarIntoContainer } = await import('../container/cp.js')
    return await changeFiles(store, state, inst, key, ctx, (rec) => tarIntoContainer(store, rec, emptyDirTar(staging), dir, ['parents', 'keep-dest']))
  } finally {
    rmSync(staging, { recursive: true, force: true })
  }
}

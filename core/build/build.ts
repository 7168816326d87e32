// skiff build: a Dockerfile's stages built into images of the store, without root. Does I/O.
//
// A stage is its base image's layers and config, changed instruction by instruction. RUN runs in
// a real container on the stage's layers (with the stage's env, user, workdir and shell, and the
// build's network); COPY and ADD unpack a tar of their sources into a container that is created
// and not started (the shim's tar-in, in its mount namespace); either way the container's upper
// directory becomes the layer (core/storage/layer-pack.ts, inside the user namespace), gzipped into
// a blob and unpacked into the store as every layer is. Instructions that change only the config
// make no layer.
//
// The cache: each step's key is the hash of its parent's key and what the step depends on (its
// text after substitution, the build args in use, and for COPY/ADD the sources' contents). A key
// seen before gives its layer back (build-cache/<key>.json) while the layer is still in the store.
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, openSync, closeSync } from 'node:fs'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { createGzip } from 'node:zlib'
import { randomBytes } from 'node:crypto'
import { SkiffError } from '../errors.js'
import { writeFileAtomic } from '../lock.js'
import { normalizeReference } from '../reference.js'
import { blobPath, findImage, hasLayer, layerDiffDir, saveImage, type ImageRecord, type OciImageConfig, type StoredLayer, type Store } from '../storage/store.js'
import { TarWriter } from '../storage/tar-write.js'
import { runSelfInUserns } from '../launch/in-userns.js'
import { readImageFile } from '../image/files.js'
import { resolveUser } from '../launch/passwd.js'
import { isoTime } from '../clock.js'
import { expand, pairs, parseDockerfile, words, type Instruction } from './dockerfile.js'
import { cleanPath, excludedBy, parseIgnore, type IgnoreRule } from './ignore.js'

export interface BuildOptions {
  /** the context directory */
  context: string
  dockerfile: string
  tags: string[]
  buildArgs: Record<string, string>
  target?: string
  noCache: boolean
  pull: boolean
  network?: string
  labels: Record<string, string>
  quiet: boolean
  /** SOURCE_DATE_EPOCH: no file or image time later than it */
  epoch?: number
  log: (line: string) => void
}

type Config = NonNullable<OciImageConfig['config']> & { Shell?: string[]; Healthcheck?: unknown; OnBuild?: string[] }

interface Stage {
  name?: string
  index: number
  from: string
  instructions: Instruction[]
}

interface State {
  config: Config
  layers: StoredLayer[]
  history: { created: string; created_by: string; empty_layer?: boolean; comment?: string }[]
  /** the cache key so far */
  key: string
  /** ARGs of this stage, with values (in RUN's environment and substitution) */
  args: Record<string, string>
  base: { os?: string; architecture?: string }
  /**
   * when the last step that made a layer made it (the cache keeps it): steps after it and the
   * image take this time, so a build that finds every step in the cache gives the same image
   */
  created: string
}

/** Docker's predefined ARGs: usable without an ARG line. */
const PREDEFINED = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy']

const hash = (...parts: string[]) => createHash('sha256').update(parts.join('\0')).digest('hex')

function fail(inst: Instruction, message: string, hint = 'see https://docs.docker.com/reference/dockerfile/'): SkiffError {
  return new SkiffError('E_BUILD', `${inst.original.slice(0, 80)} (line ${inst.line}): ${message}`, { hint })
}

function envMap(list: string[] | null | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const e of list ?? []) {
    const eq = e.indexOf('=')
    if (eq > 0) out[e.slice(0, eq)] = e.slice(eq + 1)
  }
  return out
}

function setEnv(config: Config, key: string, value: string): void {
  config.Env = [...(config.Env ?? []).filter((e) => !e.startsWith(`${key}=`)), `${key}=${value}`]
}

/** The stages, and the global ARGs before the first FROM. */
function splitStages(instructions: Instruction[]): { globals: Instruction[]; stages: Stage[] } {
  const globals: Instruction[] = []
  const stages: Stage[] = []
  for (const inst of instructions) {
    if (inst.name === 'FROM') {
      stages.push({ index: stages.length, from: inst.args, instructions: [inst] })
    } else if (!stages.length) {
      if (inst.name !== 'ARG') throw fail(inst, 'only ARG may come before the first FROM')
      globals.push(inst)
    } else {
      stages[stages.length - 1]!.instructions.push(inst)
    }
  }
  if (!stages.length) throw new SkiffError('E_DOCKERFILE', 'the Dockerfile has no FROM', { hint: 'start it with FROM IMAGE (or FROM scratch)' })
  return { globals, stages }
}

export async function build(store: Store, opts: BuildOptions): Promise<string> {
  const df = parseDockerfile(opts.dockerfile)
  const esc = df.escape
  const { globals, stages } = splitStages(df.instructions)
  // the global ARGs, for FROM lines
  const globalArgs: Record<string, string> = {}
  const used = new Set<string>()
  for (const g of globals) {
    for (const [k, v] of pairs(g, globalArgs, esc)) {
      globalArgs[k] = opts.buildArgs[k] ?? (v === undefined ? '' : v)
      if (k in opts.buildArgs) used.add(k)
      if (v === undefined && !(k in opts.buildArgs)) delete globalArgs[k]
    }
  }
  // stage names: FROM image AS name
  for (const s of stages) {
    const w = words(s.from, globalArgs, esc)
    if (w.length === 3 && w[1]!.toLowerCase() === 'as') s.name = w[2]!.toLowerCase()
    else if (w.length !== 1) throw fail(s.instructions[0]!, 'expected FROM IMAGE [AS NAME]')
    s.from = w[0]!
  }
  const targetIndex = opts.target === undefined ? stages.length - 1 : stages.findIndex((s) => s.name === opts.target!.toLowerCase())
  if (targetIndex < 0) throw new SkiffError('E_BUILD', `--target ${opts.target}: no stage of that name`, { hint: `the stages: ${stages.map((s) => s.name ?? s.index).join(', ')}` })
  const stageRef = (ref: string) => stages.find((s) => s.name === ref.toLowerCase()) ?? (/^\d+$/.test(ref) ? stages[Number(ref)] : undefined)

  // the stages the target needs (FROM stage, COPY --from=stage), in order
  const needed = new Set<number>()
  const need = (i: number) => {
    if (needed.has(i)) return
    needed.add(i)
    const s = stages[i]!
    const base = stageRef(s.from)
    if (base && base.index < i) need(base.index)
    for (const inst of s.instructions) {
      const from = inst.flags.from?.[0]
      const ref = from !== undefined ? stageRef(expand(from, globalArgs, esc)) : undefined
      if (ref && ref.index < i) need(ref.index)
    }
  }
  need(targetIndex)
  const total = [...needed].reduce((n, i) => n + stages[i]!.instructions.length, 0)
  let step = 0
  const built = new Map<number, State>()
  const ignore = readIgnore(opts.context)
  for (const i of [...needed].sort((a, b) => a - b)) {
    const s = stages[i]!
    let state: State | undefined
    for (const inst of s.instructions) {
      step++
      opts.log(`STEP ${step}/${total}: ${inst.original}`)
      if (inst.name === 'FROM') {
        state = await fromStage(store, s, stageRef(s.from)?.index !== undefined && stageRef(s.from)!.index < i ? built.get(stageRef(s.from)!.index) : undefined, opts)
        state.args = {}
        continue
      }
      state = await runInstruction(store, state!, inst, { ...opts, esc, globalArgs, used, ignore, stageState: (ref) => {
        const st = stageRef(ref)
        return st && st.index < i ? built.get(st.index) : undefined
      } })
    }
    built.set(i, state!)
  }
  const unused = Object.keys(opts.buildArgs).filter((k) => !used.has(k) && !PREDEFINED.includes(k))
  if (unused.length) opts.log(`[Warning] one or more build args were not consumed: ${unused.join(', ')}`)
  const final = built.get(targetIndex)!
  for (const [k, v] of Object.entries(opts.labels)) final.config.Labels = { ...final.config.Labels, [k]: v }
  const id = await commitState(store, final, opts.tags.map((t) => normalizeReference(t)), opts.epoch)
  return id
}

async function fromStage(store: Store, s: Stage, parent: State | undefined, opts: BuildOptions): Promise<State> {
  if (parent) return { ...structuredClone(parent), history: [...parent.history] }
  if (s.from === 'scratch') return { config: {}, layers: [], history: [], key: hash('scratch'), args: {}, base: { os: 'linux', architecture: hostArch() }, created: new Date(0).toISOString() }
  let img: ImageRecord
  try {
    if (opts.pull) throw Object.assign(new Error('pull'), { code: 'E_NO_IMAGE' })
    img = await findImage(store, s.from)
  } catch (err) {
    if ((err as SkiffError).code !== 'E_NO_IMAGE') throw err
    const { pullImage } = await import('../image/pull.js')
    const { plainProgress } = await import('../image/pull-progress.js')
    const r = await pullImage(s.from, { tlsVerify: true, progress: plainProgress((t) => process.stderr.write(t)) })
    img = await findImage(store, r.id)
  }
  const c = img.config
  return {
    config: structuredClone(c.config ?? {}) as Config,
    layers: [...img.layers],
    history: ((c.history ?? []) as State['history']).slice(),
    key: hash('image', img.id),
    args: {},
    base: { os: c.os, architecture: c.architecture },
    created: c.created ?? new Date(0).toISOString(),
  }
}

/** A build container's network: as run --network, nothing published, the host's DNS. */
function netOptions(network: string | undefined): import('../net/setup.js').NetworkOptions {
  return { network, publish: [], publishAll: false, dns: { servers: [], search: [], options: [] }, addHosts: [] }
}

function hostArch(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch
}

interface StepContext extends BuildOptions {
  esc: string
  globalArgs: Record<string, string>
  used: Set<string>
  ignore: IgnoreRule[]
  stageState: (ref: string) => State | undefined
}

/** The variables substitution sees: the stage's ENV, then its ARGs over them (as Docker). */
function substitutionEnv(state: State): Record<string, string> {
  return { ...envMap(state.config.Env), ...state.args }
}

async function runInstruction(store: Store, state: State, inst: Instruction, ctx: StepContext): Promise<State> {
  const env = substitutionEnv(state)
  const now = state.created
  const meta = (change: (c: Config) => void): State => {
    const next = { ...state, config: structuredClone(state.config) }
    change(next.config)
    next.key = hash(state.key, inst.original, JSON.stringify(next.config))
    next.history = [...state.history, { created: now, created_by: inst.original, empty_layer: true, comment: 'skiff build' }]
    return next
  }
  switch (inst.name) {
    case 'ARG': {
      const next = { ...state, args: { ...state.args } }
      for (const [k, v] of pairs(inst, env, ctx.esc)) {
        const given = ctx.buildArgs[k] ?? (v === undefined ? ctx.globalArgs[k] : v)
        if (k in ctx.buildArgs) ctx.used.add(k)
        if (given !== undefined) next.args[k] = given
      }
      next.key = hash(state.key, inst.original, JSON.stringify(next.args))
      return next
    }
    case 'ENV':
      return meta((c) => {
        for (const [k, v] of pairs(inst, env, ctx.esc)) {
          if (v === undefined) throw fail(inst, `ENV ${k} needs a value (ENV ${k}=VALUE)`)
          setEnv(c, k, v)
          env[k] = v
        }
      })
    case 'LABEL':
      return meta((c) => {
        for (const [k, v] of pairs(inst, env, ctx.esc)) c.Labels = { ...c.Labels, [k]: v ?? '' }
      })
    case 'WORKDIR':
      return meta((c) => {
        const dir = expand(inst.args.trim(), env, ctx.esc)
        c.WorkingDir = dir.startsWith('/') ? dir : `${c.WorkingDir || '/'}/${dir}`.replace(/\/+/g, '/')
      })
    case 'USER':
      return meta((c) => void (c.User = expand(inst.args.trim(), env, ctx.esc)))
    case 'EXPOSE':
      return meta((c) => {
        for (const p of words(inst.args, env, ctx.esc)) c.ExposedPorts = { ...c.ExposedPorts, [p.includes('/') ? p : `${p}/tcp`]: {} }
      })
    case 'VOLUME':
      return meta((c) => {
        for (const v of inst.json ?? words(inst.args, env, ctx.esc)) c.Volumes = { ...c.Volumes, [v]: {} }
      })
    case 'CMD':
      return meta((c) => void (c.Cmd = inst.json ?? [...shell(state), inst.args]))
    case 'ENTRYPOINT':
      return meta((c) => {
        c.Entrypoint = inst.json ?? [...shell(state), inst.args]
        // Docker: a new ENTRYPOINT drops the CMD set before it
        c.Cmd = null
      })
    case 'SHELL':
      if (!inst.json) throw fail(inst, 'SHELL takes the JSON form: SHELL ["/bin/sh", "-c"]')
      return meta((c) => void (c.Shell = inst.json))
    case 'STOPSIGNAL':
      return meta((c) => void (c.StopSignal = expand(inst.args.trim(), env, ctx.esc)))
    case 'HEALTHCHECK':
      return meta((c) => {
        const test = /^NONE$/i.test(inst.args.trim()) ? ['NONE'] : inst.json ? ['CMD', ...inst.json] : ['CMD-SHELL', inst.args.replace(/^CMD\s+/i, '')]
        const dur = (f: string) => (inst.flags[f] ? parseDuration(inst.flags[f]![0]!) : undefined)
        c.Healthcheck = { Test: test, Interval: dur('interval'), Timeout: dur('timeout'), StartPeriod: dur('start-period'), Retries: inst.flags.retries ? Number(inst.flags.retries[0]) : undefined }
      })
    case 'ONBUILD':
      return meta((c) => void (c.OnBuild = [...(c.OnBuild ?? []), inst.args.trim()]))
    case 'MAINTAINER':
      return meta((c) => void (c.Labels = { ...c.Labels, maintainer: inst.args.trim() }))
    case 'RUN':
      return runStep(store, state, inst, ctx)
    case 'COPY':
    case 'ADD':
      return copyStep(store, state, inst, ctx)
    default:
      throw fail(inst, `unknown instruction ${inst.name}`)
  }
}

function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text)
  if (!m) throw new SkiffError('E_DOCKERFILE', `bad duration ${text}`, { hint: 'e.g. 30s, 1m, 500ms' })
  return Math.round(Number(m[1]) * { ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 }[m[2] as 'ms']!)
}

function shell(state: State): string[] {
  return state.config.Shell ?? ['/bin/sh', '-c']
}

/** Save the state as an image record (no names: an intermediate one) so a container can be made from it. */
async function stateImage(store: Store, state: State, epoch?: number): Promise<string> {
  return commitState(store, state, [], epoch, true)
}

async function commitState(store: Store, state: State, names: string[], epoch?: number, intermediate = false): Promise<string> {
  const created = epoch !== undefined ? new Date(epoch * 1000).toISOString() : state.created
  const config: OciImageConfig = {
    architecture: state.base.architecture ?? hostArch(),
    os: state.base.os ?? 'linux',
    created,
    config: state.config,
    rootfs: { type: 'layers', diff_ids: state.layers.map((l) => l.diffID) },
    history: state.history,
  }
  const text = JSON.stringify(config)
  const id = `sha256:${createHash('sha256').update(text).digest('hex')}`
  const path = blobPath(store, id)
  if (!existsSync(path)) writeFileAtomic(path, text)
  const rec: ImageRecord = { id, names, created, loaded: isoTime(), config, layers: state.layers }
  if (intermediate) rec.intermediate = true
  await saveImage(store, rec, names)
  return id
}

/** What the cache holds for a key: the layer the step made (none: it changed nothing). */
interface CacheEntry {
  layer?: StoredLayer
  created: string
}

function cacheFile(store: Store, key: string): string {
  return join(store.root, 'build-cache', `${key}.json`)
}

function cached(store: Store, key: string, ctx: StepContext): CacheEntry | undefined {
  if (ctx.noCache) return undefined
  try {
    const e = JSON.parse(readFileSync(cacheFile(store, key), 'utf8')) as CacheEntry
    if (e.layer && (!hasLayer(store, e.layer.diffID) || !existsSync(blobPath(store, e.layer.digest)))) return undefined
    return e
  } catch {
    return undefined
  }
}

function remember(store: Store, key: string, entry: CacheEntry): void {
  mkdirSync(join(store.root, 'build-cache'), { recursive: true, mode: 0o700 })
  writeFileAtomic(cacheFile(store, key), JSON.stringify(entry))
}

function withLayer(state: State, inst: Instruction, key: string, entry: CacheEntry): State {
  return {
    ...state,
    key,
    created: entry.created,
    layers: entry.layer ? [...state.layers, entry.layer] : state.layers,
    history: [...state.history, { created: entry.created, created_by: inst.original, comment: 'skiff build', ...(entry.layer ? {} : { empty_layer: true }) }],
  }
}

async function runStep(store: Store, state: State, inst: Instruction, ctx: StepContext): Promise<State> {
  let argv: string[]
  if (inst.json) argv = inst.json
  else if (inst.heredocs.length && /^<<-?["']?[A-Za-z_]/.test(inst.args.trim()) && inst.args.trim().split(/\s+/).length === 1) {
    // RUN <<EOF ... EOF: the heredoc is the script
    argv = [...shell(state), inst.heredocs[0]!.content]
  } else if (inst.heredocs.length) {
    // RUN cmd <<EOF: the shell reads the heredoc itself
    const h = inst.heredocs.map((d) => `${d.content}${d.name}\n`).join('')
    argv = [...shell(state), `${inst.args}\n${h}`]
  } else argv = [...shell(state), inst.args]
  const argEnv = Object.entries(state.args).map(([k, v]) => `${k}=${v}`)
  const network = inst.flags.network?.[0] ?? ctx.network
  const key = hash(state.key, 'RUN', JSON.stringify(argv), JSON.stringify(argEnv), network ?? '')
  const hit = cached(store, key, ctx)
  if (hit) {
    ctx.log('--> Using cache')
    return withLayer(state, inst, key, hit)
  }
  if (state.layers.length === 0) throw fail(inst, 'RUN needs an image with files (FROM scratch has no shell)')
  const image = await stateImage(store, state, ctx.epoch)
  const { createContainer } = await import('../container/create.js')
  const { startContainer } = await import('../container/start.js')
  const { record } = await createContainer({
    image,
    args: argv,
    entrypoint: '',
    env: argEnv,
    tty: false,
    interactive: false,
    rm: false,
    pull: 'never',
    logDriver: 'none',
    net: netOptions(network),
    user: state.config.User || undefined,
  })
  try {
    const status = await startContainer(store, record, { detach: false })
    if (status !== 0) {
      throw fail(inst, `the command exited with status ${status}`, 'its output is above; fix the command (or the image it runs in) and build again')
    }
    const entry = await layerOf(store, record.id, state, record.plan.mounts.map((m) => m.target), ctx.epoch)
    remember(store, key, entry)
    return withLayer(state, inst, key, entry)
  } finally {
    await removeBuildContainer(store, record.id)
  }
}

async function removeBuildContainer(store: Store, id: string): Promise<void> {
  const { getContainer } = await import('../container/records.js')
  const { removeContainers } = await import('../container/stop.js')
  const c = getContainer(store, id)
  if (c) await removeContainers(store, [c], true)
}

/** The container's upper directory as a layer: packed and unpacked in the user namespace, gzipped into a blob. */
async function layerOf(store: Store, id: string, state: State, mountTargets: string[], epoch?: number): Promise<CacheEntry> {
  const out = join(store.root, 'tmp', `build-${process.pid}-${randomBytes(6).toString('hex')}.tar`)
  try {
    const job = {
      op: 'pack',
      upper: join(store.root, 'containers', id, 'upper'),
      lowers: state.layers.map((l) => layerDiffDir(store, l.diffID)).reverse(),
      exclude: mountTargets.map((t) => cleanPath(t)),
      out,
      layers: join(store.root, 'layers'),
      epoch,
    }
    const { stdout } = await runSelfInUserns(['__storage'], JSON.stringify([job]))
    const [result] = JSON.parse(stdout || '[]') as { diffID?: string }[]
    if (!result?.diffID) return { created: isoTime() }
    // the blob: gzip, hashed as it is written
    const tmp = `${out}.gz`
    const digest = createHash('sha256')
    let size = 0
    const sink = createWriteStream(tmp, { mode: 0o600 })
    const gzip = createGzip({ level: 6 })
    gzip.on('data', (c: Buffer) => {
      digest.update(c)
      size += c.length
    })
    await pipeline(createReadStream(out), gzip, sink)
    const blob = `sha256:${digest.digest('hex')}`
    renameSync(tmp, blobPath(store, blob))
    return { layer: { digest: blob, diffID: result.diffID, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size }, created: isoTime() }
  } finally {
    rmSync(out, { force: true })
    rmSync(`${out}.gz`, { force: true })
  }
}

/** .dockerignore of the context (Dockerfile.dockerignore is not read). */
function readIgnore(context: string): IgnoreRule[] {
  try {
    return parseIgnore(readFileSync(join(context, '.dockerignore'), 'utf8'))
  } catch {
    return []
  }
}

/** A context path's files for COPY: the path itself, or with wildcards every match. */
function contextMatches(context: string, src: string, ignore: IgnoreRule[]): string[] {
  const clean = cleanPath(src)
  if (!/[*?[]/.test(clean)) return clean && excludedBy(ignore, clean) ? [] : [clean]
  const parts = clean.split('/')
  let found = ['']
  for (const part of parts) {
    const re = new RegExp(`^${part.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`)
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

/** The context's files under `rel` as tar entries (named under `prefix`), hashed into `h`. */
function addContextTree(tar: TarWriter, context: string, rel: string, prefix: string, ignore: IgnoreRule[], h: ReturnType<typeof createHash>, epoch?: number): void {
  const path = join(context, rel)
  const st = lstatSync(path)
  const mtime = Math.floor(st.mtimeMs / 1000)
  const base = { mode: st.mode & 0o7777, uid: 0, gid: 0, mtime: epoch !== undefined && mtime > epoch ? epoch : mtime }
  h.update(`${prefix}\0${st.mode}\0`)
  if (st.isDirectory()) {
    tar.entry({ ...base, name: `${prefix}/`, type: '5' })
    for (const n of readdirSync(path).sort()) {
      const childRel = rel ? `${rel}/${n}` : n
      if (excludedBy(ignore, childRel)) continue
      addContextTree(tar, context, childRel, prefix === '.' ? `./${n}` : `${prefix}/${n}`, ignore, h, epoch)
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

async function copyStep(store: Store, state: State, inst: Instruction, ctx: StepContext): Promise<State> {
  const env = substitutionEnv(state)
  let items = inst.json ?? words(inst.args, env, ctx.esc)
  if (inst.json) items = items.map((w) => expand(w, env, ctx.esc))
  const heredocs = inst.heredocs
  if (items.length < 2) throw fail(inst, `${inst.name} needs a source and a destination`)
  let dest = items[items.length - 1]!
  // the heredocs' markers stand for their files
  const sources = items.slice(0, -1).filter((s) => !/^<<-?["']?[A-Za-z_][A-Za-z0-9_]*["']?$/.test(s))
  if (!dest.startsWith('/')) dest = `${(state.config.WorkingDir || '/').replace(/\/$/, '')}/${dest}`
  const from = inst.flags.from?.[0] !== undefined ? expand(inst.flags.from[0]!, { ...ctx.globalArgs, ...env }, ctx.esc) : undefined
  const flags = ['keep-owner', 'parents', 'keep-dest']
  if (inst.flags.chown) flags.push(`owner=${ownerOf(store, state, expand(inst.flags.chown[0]!, env, ctx.esc), inst)}`)
  if (inst.flags.chmod) {
    if (!/^[0-7]{3,4}$/.test(inst.flags.chmod[0]!)) throw fail(inst, `--chmod=${inst.flags.chmod[0]}: an octal mode is expected, e.g. 755`)
    flags.push(`mode=${inst.flags.chmod[0]}`)
  }
  const tmp = join(store.root, 'tmp', `build-${process.pid}-${randomBytes(6).toString('hex')}.tar`)
  try {
    let key: string
    let put: (rec: import('../container/records.js').ContainerRecord) => Promise<void>
    const { tarIntoContainer, tarFromContainer } = await import('../container/cp.js')
    if (from !== undefined) {
      // from an earlier stage, or an image
      const fromState = ctx.stageState(from) ?? (await fromStage(store, { index: -1, from, instructions: [] }, undefined, ctx))
      if (sources.some((s) => /[*?[]/.test(s))) throw fail(inst, 'wildcards in COPY --from are not supported yet', 'name the files or directories')
      const dirMode = dest.endsWith('/') || sources.length > 1
      key = hash(state.key, inst.original, fromState.key, JSON.stringify(flags))
      const hit = cached(store, key, ctx)
      if (hit) {
        ctx.log('--> Using cache')
        return withLayer(state, inst, key, hit)
      }
      const srcImage = await stateImage(store, fromState, ctx.epoch)
      const { createContainer } = await import('../container/create.js')
      const { record: srcRec } = await createContainer({ image: srcImage, args: ['true'], env: [], tty: false, interactive: false, rm: false, pull: 'never', logDriver: 'none', net: netOptions('none') })
      put = async (rec) => {
        try {
          for (const s of sources) {
            const path = `/${cleanPath(s)}`
            await tarFromContainer(store, srcRec, path, dirMode || (await isDirIn(store, srcRec, path)) ? '.' : path.split('/').pop()!, async (tar) => {
              const target = dirMode && !(await isDirIn(store, srcRec, path)) ? `${dest.replace(/\/$/, '')}/${path.split('/').pop()}` : dest
              await tarIntoContainer(store, rec, tar, target, flags)
            })
          }
        } finally {
          await removeBuildContainer(store, srcRec.id)
        }
      }
    } else {
      // from the build context (and heredocs)
      const h = createHash('sha256')
      const fd = openSync(tmp, 'w', 0o600)
      let dirMode = dest.endsWith('/') || sources.length + heredocs.length > 1
      try {
        const tar = new TarWriter(fd)
        const matched: string[] = []
        for (const s of sources) {
          const m = contextMatches(ctx.context, s, ctx.ignore)
          if (!m.length || !existsSync(join(ctx.context, m[0]!))) {
            const rule = excludedBy(ctx.ignore, cleanPath(s))
            throw fail(inst, `${s}: not found in the build context${rule ? ` (excluded by .dockerignore: ${rule.pattern})` : ''}`, 'paths are relative to the context directory; check .dockerignore')
          }
          if (m.length > 1 || /[*?[]/.test(s)) dirMode = true
          matched.push(...m)
        }
        if (matched.length === 1 && !heredocs.length && lstatSync(join(ctx.context, matched[0]!)).isDirectory()) dirMode = true
        if (dirMode) tar.entry({ name: './', type: '5', mode: 0o755, uid: 0, gid: 0, mtime: ctx.epoch ?? Math.floor(Date.now() / 1000) })
        for (const rel of matched) {
          const st = lstatSync(join(ctx.context, rel))
          const name = st.isDirectory() ? '.' : dirMode ? `./${rel.split('/').pop()}` : rel.split('/').pop()!
          if (st.isDirectory() && !dirMode) throw fail(inst, 'internal: a directory source needs a directory destination')
          addContextTree(tar, ctx.context, rel, name, ctx.ignore, h, ctx.epoch)
        }
        for (const d of heredocs) {
          const content = Buffer.from(d.quoted ? d.content : expand(d.content, env, ctx.esc))
          h.update(content)
          tar.entry({ name: dirMode ? `./${d.name}` : d.name, type: '0', mode: 0o644, uid: 0, gid: 0, mtime: ctx.epoch ?? 0 }, content)
        }
        tar.end()
      } finally {
        closeSync(fd)
      }
      key = hash(state.key, inst.original, h.digest('hex'), JSON.stringify(flags))
      const hit = cached(store, key, ctx)
      if (hit) {
        ctx.log('--> Using cache')
        return withLayer(state, inst, key, hit)
      }
      put = (rec) => tarIntoContainer(store, rec, createReadStream(tmp), dest, flags)
    }
    if (state.layers.length === 0) throw fail(inst, `${inst.name} into FROM scratch is not supported yet`, 'start from an image with a root directory (e.g. busybox) for now')
    const image = await stateImage(store, state, ctx.epoch)
    const { createContainer } = await import('../container/create.js')
    const { record } = await createContainer({ image, args: ['true'], env: [], tty: false, interactive: false, rm: false, pull: 'never', logDriver: 'none', net: netOptions('none') })
    try {
      await put(record)
      const entry = await layerOf(store, record.id, state, record.plan.mounts.map((m) => m.target), ctx.epoch)
      remember(store, key, entry)
      return withLayer(state, inst, key, entry)
    } finally {
      await removeBuildContainer(store, record.id)
    }
  } finally {
    rmSync(tmp, { force: true })
  }
}

/** Whether `path` is a directory in a (stopped) container: asked by a tar of it, cheaply. */
async function isDirIn(store: Store, rec: import('../container/records.js').ContainerRecord, path: string): Promise<boolean> {
  const layers = rec.plan.rootfs?.kind === 'overlay' ? rec.plan.rootfs.lowerdirs.map((d) => join((rec.plan.rootfs as { layersDir: string }).layersDir, d)) : []
  for (const l of layers) {
    const st = lstatSync(join(l, path), { throwIfNoEntry: false })
    if (st) return st.isDirectory()
  }
  void store
  return false
}

/** --chown=USER[:GROUP] as numbers, names looked up in the stage's /etc/passwd and /etc/group. */
function ownerOf(store: Store, state: State, spec: string, inst: Instruction): string {
  const layers = state.layers.map((l) => layerDiffDir(store, l.diffID)).reverse()
  try {
    const [user, group] = spec.split(':')
    const u = resolveUser(user!, readImageFile(layers, 'etc/passwd'), readImageFile(layers, 'etc/group'))
    const gid = group === undefined ? u.gid : /^\d+$/.test(group) ? Number(group) : resolveUser(`0:${group}`, readImageFile(layers, 'etc/passwd'), readImageFile(layers, 'etc/group')).gid
    return `${u.uid}:${gid}`
  } catch (err) {
    throw fail(inst, `--chown=${spec}: ${(err as Error).message}`)
  }
}

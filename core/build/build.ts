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
import { SkiffError } from '../errors.js'
import { normalizeReference } from '../reference.js'
import { findImage, type ImageRecord, type Store } from '../storage/store.js'
import { plainNetwork } from '../net/setup.js'
import { hostArch } from '../platform.js'
import { findLocalImage } from '../image/registries.js'
import { usernsWorker, type UsernsWorker } from '../launch/in-userns.js'
import { expand, pairs, parseDockerfile, words, type Instruction } from './dockerfile.js'
import { copyStep, readIgnore, workdirStep } from './files.js'
import {
  cached, commitState, fail, hash, imageToState, layerOf, remember, removeBuildContainer, setEnv, stateImage, substitutionEnv, withLayer,
  type BuildOptions, type Config, type State, type StepContext,
} from './step.js'

export type { BuildOptions } from './step.js'

interface Stage {
  name?: string
  index: number
  from: string
  instructions: Instruction[]
}

/** Docker's predefined ARGs: usable without an ARG line. */
const PREDEFINED = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy']

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
    const platform = s.instructions[0]!.flags.platform?.[0]
    if (platform !== undefined) {
      const want = expand(platform, { BUILDPLATFORM: `linux/${hostArch()}`, TARGETPLATFORM: `linux/${hostArch()}`, ...globalArgs }, esc)
      if (want !== `linux/${hostArch()}`) throw fail(s.instructions[0]!, `--platform=${want}: skiff builds for this machine's platform only (linux/${hostArch()})`, 'drop --platform, or build on such a machine')
    }
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
  // one storage worker for every step that makes a layer, started by the first (a build that
  // finds every step in the cache starts none)
  let started: UsernsWorker | undefined
  const worker: UsernsWorker = {
    run: (jobs) => (started ??= usernsWorker()).run(jobs),
    close: async () => started?.close(),
  }
  try {
    for (const i of [...needed].sort((a, b) => a - b)) {
      const s = stages[i]!
      const ctx: StepContext = {
        ...opts, esc, globalArgs, used, ignore,
        stageState: (ref) => {
          const st = stageRef(ref)
          return st && st.index < i ? built.get(st.index) : undefined
        },
        imageState: (ref) => fromStage(store, { index: -1, from: ref, instructions: [] }, undefined, opts),
        worker,
      }
      let state: State | undefined
      for (const inst of s.instructions) {
        step++
        opts.log(`STEP ${step}/${total}: ${inst.original}`)
        if (inst.name === 'FROM') {
          const base = stageRef(s.from)
          state = await fromStage(store, s, base && base.index < i ? built.get(base.index) : undefined, opts)
          state = await onBuild(store, state, ctx)
          continue
        }
        state = await runInstruction(store, state!, inst, ctx)
      }
      built.set(i, state!)
    }
    const unused = Object.keys(opts.buildArgs).filter((k) => !used.has(k) && !PREDEFINED.includes(k))
    if (unused.length) opts.log(`[Warning] one or more build args were not consumed: ${unused.join(', ')}`)
    const final = built.get(targetIndex)!
    for (const [k, v] of Object.entries(opts.labels)) final.config.Labels = { ...final.config.Labels, [k]: v }
    return await commitState(store, final, opts.tags.map((t) => normalizeReference(t)), opts.epoch)
  } finally {
    await worker.close()
  }
}

/** The ONBUILD triggers of the base image run first, as Docker runs them; the image keeps none. */
async function onBuild(store: Store, state: State, ctx: StepContext): Promise<State> {
  const triggers = state.config.OnBuild ?? []
  if (!triggers.length) return state
  let next: State = { ...state, config: { ...state.config, OnBuild: undefined } }
  for (const inst of parseDockerfile(triggers.join('\n')).instructions) {
    if (['ONBUILD', 'FROM', 'MAINTAINER'].includes(inst.name)) throw fail(inst, `ONBUILD ${inst.name} is not allowed`)
    ctx.log(`--> ONBUILD ${inst.original}`)
    next = await runInstruction(store, next, inst, ctx)
  }
  return next
}

async function fromStage(store: Store, s: Stage, parent: State | undefined, opts: BuildOptions): Promise<State> {
  // a stage's ARGs are its own; the one it builds on keeps its ENV
  if (parent) return { ...structuredClone(parent), history: [...parent.history], args: {} }
  if (s.from === 'scratch') return { config: {}, layers: [], history: [], key: hash('scratch'), args: {}, base: { os: 'linux', architecture: hostArch() }, created: new Date(0).toISOString() }
  let img: ImageRecord
  try {
    if (opts.pull) throw Object.assign(new Error('pull'), { code: 'E_NO_IMAGE' })
    img = await findLocalImage(store, s.from)
  } catch (err) {
    if ((err as SkiffError).code !== 'E_NO_IMAGE') throw err
    const { pullImage } = await import('../image/pull.js')
    const { plainProgress } = await import('../image/pull-progress.js')
    const r = await pullImage(s.from, { tlsVerify: true, progress: plainProgress((t) => process.stderr.write(t)) })
    img = await findImage(store, r.id)
  }
  return imageToState(img)
}

/**
 * An instruction that changes only the image's config (ENV, LABEL, WORKDIR's setting, USER,
 * EXPOSE, VOLUME, CMD, ENTRYPOINT, SHELL, STOPSIGNAL, HEALTHCHECK, ONBUILD, MAINTAINER): the next
 * state, with its history line. Also what `commit -c` and `import -c` apply.
 */
export function configChange(state: State, inst: Instruction, esc: string): State {
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
    case 'ENV':
      return meta((c) => {
        for (const [k, v] of pairs(inst, env, esc)) {
          if (v === undefined) throw fail(inst, `ENV ${k} needs a value (ENV ${k}=VALUE)`)
          setEnv(c, k, v)
          env[k] = v
        }
      })
    case 'LABEL':
      return meta((c) => {
        for (const [k, v] of pairs(inst, env, esc)) c.Labels = { ...c.Labels, [k]: v ?? '' }
      })
    case 'WORKDIR':
      return meta((c) => {
        const given = expand(inst.args.trim(), env, esc)
        c.WorkingDir = (given.startsWith('/') ? given : `${c.WorkingDir || '/'}/${given}`).replace(/\/+/g, '/')
      })
    case 'USER':
      return meta((c) => void (c.User = expand(inst.args.trim(), env, esc)))
    case 'EXPOSE':
      return meta((c) => {
        for (const p of words(inst.args, env, esc)) c.ExposedPorts = { ...c.ExposedPorts, [p.includes('/') ? p : `${p}/tcp`]: {} }
      })
    case 'VOLUME':
      return meta((c) => {
        for (const v of inst.json ?? words(inst.args, env, esc)) c.Volumes = { ...c.Volumes, [v]: {} }
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
      return meta((c) => void (c.StopSignal = expand(inst.args.trim(), env, esc)))
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
    default:
      throw fail(inst, `${inst.name} cannot change an image's config`, 'here: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR, STOPSIGNAL, SHELL, HEALTHCHECK')
  }
}

async function runInstruction(store: Store, state: State, inst: Instruction, ctx: StepContext): Promise<State> {
  switch (inst.name) {
    case 'ARG': {
      const env = substitutionEnv(state)
      const next = { ...state, args: { ...state.args } }
      for (const [k, v] of pairs(inst, env, ctx.esc)) {
        const given = ctx.buildArgs[k] ?? (v === undefined ? ctx.globalArgs[k] : v)
        if (k in ctx.buildArgs) ctx.used.add(k)
        if (given !== undefined) next.args[k] = given
      }
      next.key = hash(state.key, inst.original, JSON.stringify(next.args))
      return next
    }
    case 'WORKDIR': {
      const next = configChange(state, inst, ctx.esc)
      // the directory is made (a layer) when the stage's files lack it
      const made = await workdirStep(store, { ...state, config: next.config }, inst, ctx, next.config.WorkingDir!)
      return made.layers === state.layers ? next : made
    }
    case 'RUN':
      return runStep(store, state, inst, ctx)
    case 'COPY':
    case 'ADD':
      return copyStep(store, state, inst, ctx)
    default:
      if (!CONFIG_INSTRUCTIONS.includes(inst.name)) throw fail(inst, `unknown instruction ${inst.name}`)
      return configChange(state, inst, ctx.esc)
  }
}

const CONFIG_INSTRUCTIONS = ['ENV', 'LABEL', 'WORKDIR', 'USER', 'EXPOSE', 'VOLUME', 'CMD', 'ENTRYPOINT', 'SHELL', 'STOPSIGNAL', 'HEALTHCHECK', 'ONBUILD', 'MAINTAINER']

function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text)
  if (!m) throw new SkiffError('E_DOCKERFILE', `bad duration ${text}`, { hint: 'e.g. 30s, 1m, 500ms' })
  return Math.round(Number(m[1]) * { ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 }[m[2] as 'ms']!)
}

function shell(state: State): string[] {
  return state.config.Shell ?? ['/bin/sh', '-c']
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
  for (const f of Object.keys(inst.flags)) if (f !== 'network' && f !== 'mount') throw fail(inst, `RUN --${f} is not supported yet`, 'drop the flag (RUN --network and --mount are supported)')
  const argEnv = Object.entries(state.args).map(([k, v]) => `${k}=${v}`)
  const network = inst.flags.network?.[0] ?? ctx.network
  const { runMounts } = await import('./run-mounts.js')
  const mounts = runMounts(store, inst, ctx.context)
  const key = hash(state.key, 'RUN', JSON.stringify(argv), JSON.stringify(argEnv), network ?? '', mounts.key)
  const hit = cached(store, key, ctx)
  if (hit) {
    ctx.log('--> Using cache')
    return withLayer(state, inst, key, hit)
  }
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
    net: plainNetwork(network),
    user: state.config.User || undefined,
    emptyRoot: true,
    mountRequests: mounts.mounts,
  })
  // its output goes on as it comes (not with -q), and its last lines stay for an error
  let tail = ''
  const output = (chunk: Buffer) => {
    if (!ctx.quiet) process.stderr.write(chunk)
    tail = (tail + chunk.toString('utf8')).slice(-4096)
  }
  try {
    const status = await startContainer(store, record, { detach: false, output })
    if (status !== 0) {
      const last = tail.trimEnd().split('\n').slice(-5).join('\n')
      throw fail(inst, `the command exited with status ${status}${last ? `; its last lines:\n${last}` : ' and printed nothing'}`, 'fix the command (or the image it runs in) and build again', !!last)
    }
    const entry = await layerOf(store, record.id, state, record.plan.mounts.map((m) => m.target), { epoch: ctx.epoch, worker: ctx.worker })
    remember(store, key, entry)
    return withLayer(state, inst, key, entry)
  } finally {
    await removeBuildContainer(store, record.id, ctx.worker)
  }
}


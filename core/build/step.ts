// What the steps of a build share: the state a stage is in, the build cache, intermediate and
// final images, and the containers whose upper directory becomes a layer. Does I/O.
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream, existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { createGzip } from 'node:zlib'
import { SkiffError } from '../errors.js'
import { writeFileAtomic } from '../lock.js'
import { isoTime } from '../clock.js'
import { runSelfInUserns, type UsernsWorker } from '../launch/in-userns.js'
import { plainNetwork } from '../net/setup.js'
import { hostArch } from '../platform.js'
import { blobPath, hasLayer, layerDiffDir, saveImage, type ImageRecord, type OciImageConfig, type StoredLayer, type Store } from '../storage/store.js'
import type { ContainerRecord } from '../container/records.js'
import type { Instruction } from './dockerfile.js'
import { cleanPath, type IgnoreRule } from './ignore.js'
import { mark } from '../trace.js'

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

export type Config = NonNullable<OciImageConfig['config']> & { Shell?: string[]; Healthcheck?: unknown; OnBuild?: string[] }

export interface State {
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

export const hash = (...parts: string[]) => createHash('sha256').update(parts.join('\0')).digest('hex')

/** `output`: the message ends with lines the command printed (kept as lines). */
export function fail(inst: Instruction, message: string, hint = 'see https://docs.docker.com/reference/dockerfile/', output = false): SkiffError {
  return new SkiffError('E_BUILD', `${inst.original.slice(0, 80).replace(/\s*\n\s*/g, ' ')} (line ${inst.line}): ${message}`, { hint, output })
}

export function envMap(list: string[] | null | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const e of list ?? []) {
    const eq = e.indexOf('=')
    if (eq > 0) out[e.slice(0, eq)] = e.slice(eq + 1)
  }
  return out
}

export function setEnv(config: Config, key: string, value: string): void {
  config.Env = [...(config.Env ?? []).filter((e) => !e.startsWith(`${key}=`)), `${key}=${value}`]
}

/** A build container's network: as run --network, nothing published, the host's DNS. */



export interface StepContext extends BuildOptions {
  esc: string
  globalArgs: Record<string, string>
  used: Set<string>
  ignore: IgnoreRule[]
  stageState: (ref: string) => State | undefined
  /** an image (pulled when missing) as the state a stage starts from */
  imageState: (ref: string) => Promise<State>
  /** the build's storage worker in the user namespace, one for all its steps */
  worker: UsernsWorker
}

/** The variables substitution sees: the stage's ENV, then its ARGs over them (as Docker). */
export function substitutionEnv(state: State): Record<string, string> {
  return { ...envMap(state.config.Env), ...state.args }
}

/** Save the state as an image record (no names: an intermediate one) so a container can be made from it. */
export async function stateImage(store: Store, state: State, epoch?: number): Promise<string> {
  return commitState(store, state, [], epoch, true)
}

export async function commitState(store: Store, state: State, names: string[], epoch?: number, intermediate = false, author?: string): Promise<string> {
  const created = epoch !== undefined ? new Date(epoch * 1000).toISOString() : state.created
  const config: OciImageConfig = {
    ...(author ? { author } : {}),
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
  // an image already here (the base image itself, unchanged) stays as it is, names and all
  if (intermediate && existsSync(join(store.root, 'images', `${id.slice(7)}.json`))) return id
  const rec: ImageRecord = { id, names, created, loaded: isoTime(), config, layers: state.layers }
  if (intermediate) rec.intermediate = true
  await saveImage(store, rec, names)
  return id
}

/** What the cache holds for a key: the layer the step made (none: it changed nothing). */
export interface CacheEntry {
  layer?: StoredLayer
  created: string
}

export function cacheFile(store: Store, key: string): string {
  return join(store.root, 'build-cache', `${key}.json`)
}

export function cached(store: Store, key: string, ctx: StepContext): CacheEntry | undefined {
  if (ctx.noCache) return undefined
  try {
    const e = JSON.parse(readFileSync(cacheFile(store, key), 'utf8')) as CacheEntry
    if (e.layer && (!hasLayer(store, e.layer.diffID) || !existsSync(blobPath(store, e.layer.digest)))) return undefined
    return e
  } catch {
    return undefined
  }
}

export function remember(store: Store, key: string, entry: CacheEntry): void {
  mkdirSync(join(store.root, 'build-cache'), { recursive: true, mode: 0o700 })
  writeFileAtomic(cacheFile(store, key), JSON.stringify(entry))
}

export function withLayer(state: State, inst: Instruction, key: string, entry: CacheEntry): State {
  return {
    ...state,
    key,
    created: entry.created,
    layers: entry.layer ? [...state.layers, entry.layer] : state.layers,
    history: [...state.history, { created: entry.created, created_by: inst.original, comment: 'skiff build', ...(entry.layer ? {} : { empty_layer: true }) }],
  }
}

export async function removeBuildContainer(store: Store, id: string, worker?: UsernsWorker): Promise<void> {
  const { getContainer } = await import('../container/records.js')
  const { removeContainers } = await import('../container/stop.js')
  const c = getContainer(store, id)
  mark('build: removing the container')
  if (c) await removeContainers(store, [c], true, worker && ((jobs) => worker.run(jobs)))
  mark('build: container removed')
}

/** The container's upper directory as a layer: packed and unpacked in the user namespace, gzipped into a blob. */
export async function layerOf(store: Store, id: string, state: State, mountTargets: string[], o: { epoch?: number; worker?: UsernsWorker; keepUpper?: boolean } = {}): Promise<CacheEntry> {
  const epoch = o.epoch
  const driver = (JSON.parse(readFileSync(join(store.root, 'containers', id, 'container.json'), 'utf8')) as { driver?: string }).driver
  if (driver === 'copy') {
    throw new SkiffError('E_BUILD_DRIVER', "the copy storage driver keeps no container's changes apart from its image: nothing to make a layer of", {
      hint: 'skiff build and commit need the overlay or fuse-overlayfs driver (skiff info says which this machine can use)',
    })
  }
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
      keepUpper: o.keepUpper,
    }
    mark('build: packing the layer')
    const stdout = o.worker ? await o.worker.run([job]) : (await runSelfInUserns(['__storage'], JSON.stringify([job]))).stdout
    mark('build: layer packed and unpacked')
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
    mark('build: layer gzipped')
    return { layer: { digest: blob, diffID: result.diffID, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size }, created: isoTime() }
  } finally {
    rmSync(out, { force: true })
    rmSync(`${out}.gz`, { force: true })
  }
}


/**
 * A step that changes files through a container created (not started) on the state's layers:
 * `put` fills it (the shim's tar-in), its upper directory becomes the step's layer.
 */
export async function changeFiles(store: Store, state: State, inst: Instruction, key: string, ctx: StepContext, put: (rec: ContainerRecord) => Promise<void>): Promise<State> {
  const image = await stateImage(store, state, ctx.epoch)
  mark('build: intermediate image saved')
  const { createContainer } = await import('../container/create.js')
  const { record } = await createContainer({ image, args: ['true'], env: [], tty: false, interactive: false, rm: false, pull: 'never', logDriver: 'none', net: plainNetwork('none'), emptyRoot: true })
  mark('build: container created')
  try {
    await put(record)
    mark('build: files put in')
    const entry = await layerOf(store, record.id, state, record.plan.mounts.map((m) => m.target), { epoch: ctx.epoch, worker: ctx.worker })
    remember(store, key, entry)
    return withLayer(state, inst, key, entry)
  } finally {
    await removeBuildContainer(store, record.id, ctx.worker)
  }
}

/** What `path` is in the state's layers (the top one that has it; a whiteout hides it): a directory? */
export function pathKind(store: Store, state: State, path: string): 'dir' | 'other' | 'none' {
  const rel = cleanPath(path)
  if (!rel) return 'dir'
  for (const l of [...state.layers].reverse()) {
    const st = lstatSync(join(layerDiffDir(store, l.diffID), rel), { throwIfNoEntry: false })
    if (!st) continue
    if (st.isCharacterDevice() && st.rdev === 0) return 'none'
    return st.isDirectory() ? 'dir' : 'other'
  }
  return 'none'
}

/** An image of the store as the state a stage (or commit) starts from. */
export function imageToState(img: ImageRecord): State {
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

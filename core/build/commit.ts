// skiff commit (a container's changes as a new image) and skiff import (a tar of a root
// filesystem as an image), with Dockerfile instructions (-c) applied to the config. Does I/O.
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream, existsSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { Readable } from 'node:stream'
import { PassThrough } from 'node:stream'
import { createGunzip, createGzip } from 'node:zlib'
import { SkiffError } from '../errors.js'
import { isoTime } from '../clock.js'
import { makeEvent, recordEvent } from '../events.js'
import { normalizeReference } from '../reference.js'
import { runSelfInUserns } from '../launch/in-userns.js'
import { blobPath, findImage, layerDir, type Store } from '../storage/store.js'
import type { Container } from '../container/records.js'
import { configChange } from './build.js'
import { parseDockerfile } from './dockerfile.js'
import { commitState, hash, imageToState, layerOf, type State } from './step.js'
import { isPlainTar } from './files.js'
import { hostArch } from '../platform.js'

const COMMIT_CHANGES = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'ONBUILD', 'USER', 'VOLUME', 'WORKDIR', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL']

export interface ImageChanges {
  /** -c/--change: Dockerfile instructions for the config */
  changes: string[]
  message?: string
  author?: string
}

/** -c lines applied to the state's config, as Docker does (an instruction that makes files is an error). */
function applyChanges(state: State, changes: string[]): State {
  let next = state
  for (const c of changes) {
    for (const inst of parseDockerfile(c).instructions) {
      if (!COMMIT_CHANGES.includes(inst.name)) {
        throw new SkiffError('E_USAGE', `--change ${JSON.stringify(c)}: ${inst.name} cannot be applied here`, { hint: `use one of ${COMMIT_CHANGES.join(', ')}` })
      }
      // the config only: the image's history gets one line, the commit's
      next = { ...configChange(next, inst, '\\'), history: next.history }
    }
  }
  return next
}

function lastHistory(state: State, entry: State['history'][number]): State {
  return { ...state, history: [...state.history, entry] }
}

export async function commitContainer(store: Store, c: Container, name: string | undefined, opts: ImageChanges & { pause: boolean }): Promise<string> {
  const names = name ? [normalizeReference(name)] : []
  const image = await findImage(store, c.imageId).catch(() => {
    throw new SkiffError('E_NO_IMAGE', `the image of ${c.name} (${c.imageId.slice(7, 19)}) is gone`, { hint: 'a container whose image was removed cannot be committed' })
  })
  let state = imageToState(image)
  // the container's own settings, as docker commit keeps them
  state.config = {
    ...state.config,
    Env: c.config.Env,
    Cmd: c.config.Cmd,
    Entrypoint: c.config.Entrypoint,
    WorkingDir: c.config.WorkingDir,
    User: c.config.User,
    Labels: c.config.Labels,
    StopSignal: c.config.StopSignal || state.config.StopSignal,
  }
  state = applyChanges(state, opts.changes)
  if (!existsSync(join(store.root, 'containers', c.id, 'upper'))) {
    throw new SkiffError('E_COMMIT', `${c.name} has no upper layer to commit (storage driver ${c.driver})`, { hint: 'containers of the copy driver cannot be committed; use skiff export and skiff import' })
  }
  const { pauseContainer, unpauseContainer } = await import('../container/cgroup.js')
  const pause = opts.pause && c.state.status === 'running' && !c.state.paused
  if (pause) await pauseContainer(store, c)
  let entry
  try {
    // the container goes on: its upper directory stays, the layer is unpacked from the archive
    entry = await layerOf(store, c.id, state, c.plan.mounts.map((m) => m.target), { keepUpper: true })
  } finally {
    if (pause) await unpauseContainer(store, c)
  }
  const created = isoTime()
  state = lastHistory({ ...state, created, layers: entry.layer ? [...state.layers, entry.layer] : state.layers }, {
    created,
    created_by: [...(c.config.Entrypoint ?? []), ...c.config.Cmd].join(' '),
    ...(opts.message ? { comment: opts.message } : {}),
    ...(entry.layer ? {} : { empty_layer: true }),
  })
  const id = await commitState(store, state, names, undefined, false, opts.author)
  recordEvent(store.root, makeEvent('container', 'commit', c.id, { name: c.name, image: c.image }))
  return id
}

/**
 * skiff import: a tar of a root filesystem (plain or gzip; a file, a URL or stdin) as a one-layer
 * image. The layer is unpacked as any other, inside the user namespace.
 */
export async function importImage(store: Store, input: Readable, name: string | undefined, opts: ImageChanges): Promise<string> {
  const names = name ? [normalizeReference(name)] : []
  const base = join(store.root, 'tmp', `import-${process.pid}-${randomBytes(6).toString('hex')}`)
  const plainPath = `${base}.tar`
  const gzPath = `${base}.tar.gz`
  try {
    // first bytes: gzip or plain
    const head = await new Promise<Buffer>((resolve, reject) => {
      input.once('error', reject)
      input.once('readable', () => resolve((input.read(2) as Buffer | null) ?? Buffer.alloc(0)))
    })
    const rest = new PassThrough()
    rest.write(head)
    input.pipe(rest)
    const plain = head[0] === 0x1f && head[1] === 0x8b ? rest.pipe(createGunzip()) : rest
    const diff = createHash('sha256')
    plain.on('data', (c: Buffer) => diff.update(c))
    try {
      await pipeline(plain, createWriteStream(plainPath, { mode: 0o600 }))
    } catch (err) {
      throw new SkiffError('E_IMPORT', `cannot read the archive: ${(err as Error).message}`, { hint: 'give a tar archive of a root filesystem, plain or gzip-compressed' })
    }
    if (!isPlainTar(plainPath)) {
      throw new SkiffError('E_IMPORT', 'not a tar archive (its first block is no tar header)', { hint: 'give a tar archive of a root filesystem, plain or gzip-compressed (e.g. from skiff export or tar -C DIR -c .)' })
    }
    const diffID = `sha256:${diff.digest('hex')}`
    const digest = createHash('sha256')
    let size = 0
    const gz = createGzip()
    gz.on('data', (c: Buffer) => {
      digest.update(c)
      size += c.length
    })
    await pipeline(createReadStream(plainPath), gz, createWriteStream(gzPath, { mode: 0o600 }))
    const blob = `sha256:${digest.digest('hex')}`
    renameSync(gzPath, blobPath(store, blob))
    const job = { op: 'unpack', blob: blobPath(store, blob), diffID, dest: layerDir(store, diffID), staging: `${base}.layer` }
    await runSelfInUserns(['__storage'], JSON.stringify([job]))
    const created = isoTime()
    let state: State = {
      config: {},
      layers: [{ digest: blob, diffID, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size }],
      history: [{ created, created_by: 'skiff import', ...(opts.message ? { comment: opts.message } : {}) }],
      key: hash('import', diffID),
      args: {},
      base: { os: 'linux', architecture: hostArch() },
      created,
    }
    state = applyChanges(state, opts.changes)
    const id = await commitState(store, state, names, undefined, false, opts.author)
    recordEvent(store.root, makeEvent('image', 'import', id, { name: names[0] ?? '' }))
    return id
  } finally {
    for (const f of [plainPath, gzPath]) rmSync(f, { force: true })
  }
}

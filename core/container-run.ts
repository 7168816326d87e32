// skiff run: image + options → a container process, waited for. Does I/O (store, files, shim).
import { randomBytes } from 'node:crypto'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fallbackIdMap, hostIdMap, warnIdMapOnce } from './identity.js'
import { readImageFile } from './image-files.js'
import { launch } from './launch.js'
import { resolveUser } from './passwd.js'
import { resolvePaths } from './paths.js'
import { planLaunch, type ImageRunConfig, type RunOptions } from './spec.js'
import { findImage, layerDiffDir, openStore, type Store } from './store.js'
import { SkiffError } from './errors.js'
import { mark } from './trace.js'
import { writeContainer, type ContainerRecord } from './containers.js'

export interface ContainerRunOptions extends RunOptions {
  image: string
  user?: string
  rm: boolean
  /** Docker's --pull: always, missing (default), never */
  pull?: 'always' | 'missing' | 'never'
  pullOptions?: { tlsVerify: boolean; platform?: string }
}

/** The image, pulled first when the policy says so (and only then is the registry code loaded). */
async function imageFor(store: Store, opts: ContainerRunOptions) {
  const pull = async () => {
    const { pullImage } = await import('./image-pull.js')
    const { plainProgress, terminalProgress } = await import('./pull-progress.js')
    const progress = process.stderr.isTTY ? terminalProgress(process.stderr) : plainProgress((s) => process.stderr.write(s))
    const r = await pullImage(opts.image, { tlsVerify: opts.pullOptions?.tlsVerify ?? true, platform: opts.pullOptions?.platform, progress })
    for (const w of r.warnings) process.stderr.write(`skiff: warning: ${w}\n`)
    return findImage(store, r.id)
  }
  if (opts.pull === 'always') return pull()
  try {
    return await findImage(store, opts.image)
  } catch (err) {
    if ((err as SkiffError).code !== 'E_NO_IMAGE' || opts.pull === 'never') throw err
    return pull()
  }
}

/** Runs the container in the foreground; resolves to its exit status (128+N after signal N). */
export async function runContainer(opts: ContainerRunOptions): Promise<number> {
  mark('modules loaded')
  const paths = resolvePaths()
  const store = await openStore(paths)
  const image = await imageFor(store, opts)
  mark('image found')
  const config: ImageRunConfig = image.config.config ?? {}
  let decision = hostIdMap()
  mark('id map planned')

  if (image.layers.length === 0) {
    throw new SkiffError('E_NO_LAYERS', `image ${opts.image} has no layers: there is nothing to run`, { hint: 'load an image with a root filesystem' })
  }
  // Overlay lists lower layers top-most first; the image lists them base first.
  const layerDirs = image.layers.map((l) => layerDiffDir(store, l.diffID)).reverse()
  const layersDir = join(paths.storage, 'layers')
  const user = resolveUser(
    opts.user ?? config.User ?? '',
    readImageFile(layerDirs, 'etc/passwd'),
    readImageFile(layerDirs, 'etc/group'),
  )

  mark('user resolved')
  const id = randomBytes(32).toString('hex')
  const dir = join(paths.storage, 'containers', id)
  const hostname = opts.hostname || id.slice(0, 12)
  // the upper directory's root is the container's /: it must be traversable by every user
  mkdirSync(join(dir, 'upper'), { recursive: true, mode: 0o755 })
  mkdirSync(join(dir, 'work'), { mode: 0o700 })
  mkdirSync(join(dir, 'merged'), { mode: 0o700 })
  const hosts = join(dir, 'hosts')
  const hostnameFile = join(dir, 'hostname')
  writeFileSync(hosts, `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${hostname}\n`)
  writeFileSync(hostnameFile, `${hostname}\n`)

  const planFor = (idmap: typeof decision.plan) => planLaunch({
    config,
    options: { ...opts, hostname },
    id,
    user,
    idmap,
    rootfs: {
      kind: 'overlay',
      layersDir,
      lowerdirs: layerDirs.map((d) => relative(layersDir, d)),
      upperdir: join(dir, 'upper'),
      workdir: join(dir, 'work'),
      target: join(dir, 'merged'),
      options: ['userxattr'],
    },
    etcFiles: { hosts, hostname: hostnameFile },
    hostEnv: process.env,
    cleanup: opts.rm ? [dir] : undefined,
  })
  try {
    let plan = planFor(decision.plan)
    mark('container prepared, plan made')
    warnIdMapOnce(decision)
    // Kept containers get a record (`skiff ps -a`, `skiff rm`); --rm ones leave nothing.
    const record: ContainerRecord | undefined = opts.rm
      ? undefined
      : { id, image: opts.image, imageId: image.id, command: plan.process.args, created: new Date().toISOString(), status: 'running', pid: process.pid }
    if (record) writeContainer(store, record)
    const finish = (status: number) => {
      if (record) writeContainer(store, { ...record, status: 'exited', exitCode: status, finishedAt: new Date().toISOString(), pid: undefined })
      return status
    }
    // Without -i the container's stdin is empty, as in Docker; with -t the shim still needs the
    // terminal on fd 0 for its size and raw mode (it reads from it only with -i).
    const stdio = [opts.interactive || opts.tty ? 'inherit' : 'ignore', 'inherit', 'inherit'] as const
    try {
      return finish((await launch(plan, { stdio: [...stdio] })).status)
    } catch (err) {
      // A helper that cannot work here: run with the mapping that needs none, and say why.
      if ((err as SkiffError).code !== 'E_IDMAP_HELPER') {
        finish((err as SkiffError).exitCode ?? 125)
        throw err
      }
      decision = fallbackIdMap((err as SkiffError).message)
      plan = planFor(decision.plan)
      warnIdMapOnce(decision)
      return finish((await launch(plan, { stdio: [...stdio] })).status)
    }
  } finally {
    // The shim's waiter removes what mapped ids own; this catches a failure before it could.
    if (opts.rm) rmSync(dir, { recursive: true, force: true })
  }
}

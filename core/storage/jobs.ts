// Storage work done inside the user namespace (`skiff __storage`): unpack layers, remove trees
// owned by mapped ids. Does I/O. The jobs arrive as JSON on stdin; results go to stdout.
import { spawnSync } from 'node:child_process'
import { existsSync, lstatSync, lutimesSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { SkiffError } from '../errors.js'
import { unpackLayer } from './layer-unpack.js'
import { materializeLayers } from './rootfs-copy.js'
import { packLayer, type PackJob } from './layer-pack.js'
import { sha256File } from '../digest.js'

export type StorageJob =
  /** blob "-": the layer arrives on stdin as it is downloaded (one such job per worker) */
  | { op: 'unpack'; blob: string; diffID: string; dest: string; staging: string }
  | { op: 'remove'; path: string }
  /** the copying driver: `layers` (layer dirs, base first) copied into `dest` */
  | { op: 'materialize'; layers: string[]; dest: string }
  /**
   * save --format squashfs: `layers` (base first) copied into `dest`, `config` written there as
   * .skiff/config.json, `argv` (mksquashfs dest OUT ...) run on it, then `dest` removed
   */
  | { op: 'squashfs'; layers: string[]; dest: string; config: string; argv: string[] }
  /** skiff build: a container's upper directory → a layer archive (out) and, unpacked, a layer in `layers` */
  | (PackJob & { layers: string })

export interface StorageResult {
  diffID?: string
  skippedDevices?: number
  squashedOwners?: number
}

/** How many ids from 0 up have a mapping here (/proc/self/uid_map and gid_map). */
export function mappedIdLimit(uidMap: string, gidMap: string): number {
  const limit = (text: string) => {
    let n = 0
    for (const line of text.trim().split('\n')) {
      const [inside, , count] = line.trim().split(/\s+/).map(Number)
      if (inside === n && count) n += count // contiguous from 0
    }
    return n
  }
  return Math.min(limit(uidMap), limit(gidMap))
}

/** NUL-separated records for `skiff-shim fsops` (see shims/README.md). */
export function fsopsRecords(whiteouts: string[], opaque: string[]): Buffer {
  const fields: string[] = []
  for (const w of whiteouts) fields.push('whiteout', w)
  for (const d of opaque) fields.push('xattr', d || '.', 'user.overlay.opaque', Buffer.from('y').toString('hex'))
  return Buffer.from(fields.map((f) => `${f}\0`).join(''))
}

export async function runStorageJobs(jobs: StorageJob[]): Promise<StorageResult[]> {
  process.umask(0) // modes come from the layer, not from our umask
  const root = process.getuid?.() === 0
  const idLimit = root ? mappedIdLimit(readFileSync('/proc/self/uid_map', 'utf8'), readFileSync('/proc/self/gid_map', 'utf8')) : 0
  const results: StorageResult[] = []
  for (const job of jobs) {
    if (job.op === 'materialize') {
      materializeLayers(job.layers, job.dest)
      results.push({})
      continue
    }
    if (job.op === 'squashfs') {
      try {
        materializeLayers(job.layers, job.dest)
        mkdirSync(join(job.dest, '.skiff'), { mode: 0o755 })
        writeFileSync(join(job.dest, '.skiff', 'config.json'), job.config, { mode: 0o644 })
        const r = spawnSync(job.argv[0]!, job.argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
        if (r.status !== 0) {
          const out = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().split('\n').slice(-3).join('; ')
          throw new SkiffError('E_SQUASHFS', `mksquashfs failed (${r.error?.message ?? `status ${r.status}`}): ${out}`, { hint: 'see its message; a full disk or an unwritable output directory are the usual causes' })
        }
      } finally {
        rmSync(job.dest, { recursive: true, force: true })
      }
      results.push({})
      continue
    }
    if (job.op === 'remove') {
      rmSync(job.path, { recursive: true, force: true })
      results.push({})
      continue
    }
    if (job.op === 'pack') {
      const { entries, opaque, drop } = packLayer(job)
      if (!entries) {
        results.push({})
        continue
      }
      const { digest: diffID } = await sha256File(job.out)
      results.push(job.keepUpper ? await unpack({ op: 'unpack', blob: job.out, diffID, dest: join(job.layers, diffID.slice(7)), staging: `${job.out}.layer` }, root, idLimit) : placeUpper(job, diffID, opaque, drop))
      continue
    }
    results.push(await unpack(job, root, idLimit))
  }
  return results
}

/** A layer archive unpacked into the store (dest), through staging; nothing when it is there. */
async function unpack(job: Extract<StorageJob, { op: 'unpack' }>, root: boolean, idLimit: number): Promise<StorageResult> {
  if (existsSync(join(job.dest, 'diff'))) {
    return { diffID: job.diffID }
  }
  try {
    const r = await unpackLayer(job.blob === '-' ? process.stdin : job.blob, join(job.staging, 'diff'), { preserveOwner: root, idLimit: Math.max(idLimit, 1) })
    if (r.diffID !== job.diffID) {
      throw new SkiffError('E_DIFFID', `layer ${job.blob} unpacks to ${r.diffID}, but the image config says ${job.diffID}`, {
        hint: 'the image is damaged (or was altered); load or pull it again from a trusted source',
      })
    }
    if (r.whiteouts.length > 0 || r.opaque.length > 0) {
      const shim = process.env.SKIFF_SHIM
      if (!shim) throw new SkiffError('E_NO_SHIM', 'SKIFF_SHIM is not set in the storage worker', { hint: 'this is a bug in skiff' })
      const ops = spawnSync(shim, ['fsops', join(job.staging, 'diff')], { input: fsopsRecords(r.whiteouts, r.opaque), encoding: 'utf8' })
      if (ops.status !== 0) {
        const msg = (ops.stdout || ops.stderr || '').trim()
        throw new SkiffError('E_FSOPS', `cannot write whiteouts of layer ${job.diffID}: ${msg}`, {
          hint: 'whiteouts need Linux 5.8+ (mknod of 0/0 in a user namespace) and a local filesystem for storage',
        })
      }
    }
    writeFileSync(join(job.staging, 'layer.json'), JSON.stringify({ diffID: job.diffID, opaque: r.opaque }), { mode: 0o644 })
    try {
      renameSync(job.staging, job.dest)
    } catch (err) {
      // another load put the same layer in place first: ours is a duplicate
      if (!existsSync(join(job.dest, 'diff'))) throw err
      rmSync(job.staging, { recursive: true, force: true })
    }
    return { diffID: job.diffID, skippedDevices: r.skippedDevices, squashedOwners: r.squashedOwners }
  } catch (err) {
    rmSync(job.staging, { recursive: true, force: true })
    throw err
  }
}

/**
 * The packed upper directory becomes the layer's tree itself (no unpack of what was just packed):
 * what the archive left out goes first, times are capped as in the archive, and it moves into
 * the store beside its layer.json, as an unpacked layer is. A layer already stored stays.
 */
function placeUpper(job: PackJob & { layers: string }, diffID: string, opaque: string[], drop: string[]): StorageResult {
  const dest = join(job.layers, diffID.slice(7))
  if (existsSync(join(dest, 'diff'))) return { diffID }
  for (const rel of drop) rmSync(join(job.upper, rel), { recursive: true, force: true })
  if (job.epoch !== undefined) capTimes(job.upper, job.epoch)
  const staging = `${job.out}.layer`
  mkdirSync(staging, { mode: 0o755 })
  renameSync(job.upper, join(staging, 'diff'))
  writeFileSync(join(staging, 'layer.json'), JSON.stringify({ diffID, opaque }), { mode: 0o644 })
  try {
    renameSync(staging, dest)
  } catch (err) {
    if (!existsSync(join(dest, 'diff'))) throw err
    rmSync(staging, { recursive: true, force: true })
  }
  return { diffID }
}

/** No mtime in the tree later than `epoch` (SOURCE_DATE_EPOCH), links included. */
function capTimes(dir: string, epoch: number): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    const st = lstatSync(path)
    if (st.isDirectory()) capTimes(path, epoch)
    if (st.mtimeMs / 1000 > epoch) lutimesSync(path, epoch, epoch)
  }
  if (lstatSync(dir).mtimeMs / 1000 > epoch) lutimesSync(dir, epoch, epoch)
}

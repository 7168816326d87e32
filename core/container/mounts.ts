// Mount requests (-v, --mount, --tmpfs) → the shim's mount operations and Docker's Mounts list,
// creating named volumes and missing -v host directories. Does I/O.
import { existsSync, mkdirSync, statSync } from 'node:fs'
import { SkiffError } from '../errors.js'
import type { MountRequest } from '../launch/mount-spec.js'
import type { MountFlag, MountOp } from '../plan.js'
import type { Store } from '../storage/store.js'
import { ensureVolume } from '../storage/volumes.js'

export interface MountInfo {
  Type: 'bind' | 'volume' | 'tmpfs'
  Name?: string
  Source: string
  Destination: string
  RW: boolean
  /** an anonymous volume made for this container */
  Anonymous?: boolean
}

export function resolveMounts(store: Store, reqs: MountRequest[]): { ops: MountOp[]; info: MountInfo[] } {
  const ops: MountOp[] = []
  const info: MountInfo[] = []
  for (const r of reqs) {
    const flags: MountFlag[] = [...r.flags, ...(r.readonly ? ['ro' as const] : [])]
    if (r.type === 'tmpfs') {
      const data = [`mode=${(r.mode ?? 0o1777).toString(8)}`, ...(r.size ? [`size=${r.size}`] : [])].join(',')
      ops.push({ kind: 'mount', source: 'tmpfs', target: r.target, fstype: 'tmpfs', flags, data })
      info.push({ Type: 'tmpfs', Source: '', Destination: r.target, RW: !r.readonly })
      continue
    }
    let source = r.source
    let name: string | undefined
    let anonymous = false
    if (r.type === 'volume') {
      const { volume } = ensureVolume(store, r.source)
      source = volume.Mountpoint
      name = volume.Name
      anonymous = !!volume.Anonymous
    } else if (!existsSync(source)) {
      if (r.mustExist) {
        throw new SkiffError('E_MOUNT_SOURCE', `bind source path does not exist: ${source}`, { hint: 'create it first, or use -v, which creates a missing directory' })
      }
      // -v creates a missing host directory, as Docker does
      try {
        mkdirSync(source, { recursive: true, mode: 0o755 })
      } catch (err) {
        throw new SkiffError('E_MOUNT_SOURCE', `cannot create the bind source ${source}: ${(err as Error).message.replace(/^[A-Z]+: /, '')}`, {
          hint: 'create it yourself where you may write, or bind a directory that exists',
          cause: err,
        })
      }
    } else {
      try {
        statSync(source)
      } catch (err) {
        throw new SkiffError('E_MOUNT_SOURCE', `cannot use ${source}: ${(err as Error).message}`, { hint: 'check the path and its permissions' })
      }
    }
    ops.push({ kind: 'bind', source, target: r.target, flags: ['rec', ...flags] })
    info.push({ Type: r.type, ...(name ? { Name: name } : {}), Source: source, Destination: r.target, RW: !r.readonly, ...(anonymous ? { Anonymous: true } : {}) })
  }
  return { ops, info }
}

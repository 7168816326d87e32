// What this machine offers for rootless containers (`skiff info`): runs the probes of
// core/probe-*.ts concurrently and returns their items in a fixed order. Does I/O.
//
// Cheap by design: file reads and stats, a few `--version` runs, and (when the caller wires it)
// one real user namespace through the shim, all at once. A probe that throws becomes a warning
// item of its own; it never hides the others.
import { existsSync, realpathSync } from 'node:fs'
import { release, userInfo } from 'node:os'
import { join } from 'node:path'
import { gatherCgroups, judgeCgroups } from './cgroup.js'
import { gatherDir, gatherRuntime, gatherUnionFs, judgeCache, judgeDevFuse, judgeFuseOverlayfs, judgeOverlay, judgeRuntime, judgeStorage, judgeStorageDriver, skiffDirs } from './fs.js'
import { gatherIdFacts, judgeHelpers, judgeIdMapping, judgeSubids } from './ids.js'
import { apparmorTargets, judgeKernel, judgeUserns, readUsernsKnobs, type TryUserns, type UsernsTrial } from './kernel.js'
import { readMountinfo } from './mounts.js'
import { gatherNet, judgeDevNetTun, judgeNetHelpers, judgePing, judgePorts } from './net.js'
import type { HostContext, ProbeItem, Section } from './types.js'

export type { ProbeItem, Section, Status } from './types.js'
export type { TryUserns, UsernsTrialResult } from './kernel.js'

export interface ProbeOptions {
  env?: NodeJS.ProcessEnv
  /**
   * Creates a user namespace for real (through the shim, with skiff's id maps) and resolves with
   * what it saw, or rejects with the error. Without it, the sysctl knobs decide.
   */
  tryUserns?: TryUserns
  /**
   * The shim's path, or a glob of its cached copies, for the AppArmor profile; default: the
   * cache's shim-* (where the single executable writes it).
   */
  shimForProfile?: string
  /** The storage driver containers would get now, and why (runs the overlay probe); or rejects. */
  storageDriver?: () => Promise<{ driver: string; reason: string }>
}

/** The storage item, with why the default storage was moved to this node. */
function withNote(item: ProbeItem, note: string | undefined): ProbeItem {
  if (!note) return item
  return { ...item, status: item.status === 'ok' ? 'warning' : item.status, value: `${item.value}; ${note}`, fix: item.fix ?? 'export SKIFF_ROOT=/a/local/disk/skiff to keep them where you choose', details: { ...item.details, note } }
}

/** The facts every probe shares, read once. */
export function hostContext(env: NodeJS.ProcessEnv = process.env): HostContext {
  const uid = process.getuid!()
  const gid = process.getgid!()
  let user = String(uid)
  try {
    user = userInfo().username
  } catch {
    // no passwd entry (a uid from a batch system): subordinate ranges can still be listed by uid
  }
  return {
    uid,
    gid,
    groups: [...new Set([gid, ...(process.getgroups?.() ?? [])])],
    user,
    env,
    kernelRelease: release(),
    mounts: readMountinfo(),
    systemd: existsSync('/run/systemd/system'),
  }
}

function defaultShimGlob(cache: string): string {
  let dir = cache
  try {
    dir = realpathSync(cache)
  } catch {}
  return join(dir, 'shim-*')
}

/** A probe that threw: reported, never fatal. */
function broken(id: string, name: string, section: Section, err: unknown): ProbeItem {
  const message = err instanceof Error ? err.message : String(err)
  return { id, name, section, status: 'warning', value: `probe failed: ${message}`, fix: 'a bug in skiff: please report it with this line', details: { error: message } }
}

async function guard(id: string, name: string, section: Section, run: () => ProbeItem[] | Promise<ProbeItem[]>): Promise<ProbeItem[]> {
  try {
    return await run()
  } catch (err) {
    return [broken(id, name, section, err)]
  }
}

export async function probeHost(opts: ProbeOptions = {}): Promise<ProbeItem[]> {
  const ctx = hostContext(opts.env ?? process.env)
  const dirs = skiffDirs(ctx)
  const tryUserns = opts.tryUserns
  const trial: Promise<UsernsTrial | undefined> = tryUserns
    ? Promise.resolve().then(tryUserns).then(
        (r) => ({ ok: true as const, ...r }),
        (err: Error & { hint?: string }) => ({ ok: false as const, error: err?.message ?? String(err), hint: err?.hint }),
      )
    : Promise.resolve(undefined)
  const ids = gatherIdFacts(ctx)

  const groups = await Promise.all([
    guard('kernel', 'kernel', 'host', async () => {
      const t = await trial
      return [judgeKernel(ctx.kernelRelease), judgeUserns(readUsernsKnobs(), t, apparmorTargets(opts.shimForProfile ?? defaultShimGlob(dirs.cache)), ctx)]
    }),
    guard('subordinateIds', 'ids', 'ids', async () => {
      const [f, t] = await Promise.all([ids, trial])
      const planned = judgeIdMapping(f, ctx)
      return [judgeSubids(f.subids, ctx), judgeHelpers(f, ctx, t, planned.details.mode === 'subordinate'), judgeIdMapping(f, ctx, t)]
    }),
    guard('storage', 'storage', 'storage', async () => {
      const union = await gatherUnionFs(ctx)
      return [
        withNote(judgeStorage(gatherDir(dirs.storage, ctx.mounts), ctx), dirs.storageNote),
        judgeRuntime(gatherRuntime(dirs.runtime, ctx), ctx),
        judgeCache(gatherDir(dirs.cache, ctx.mounts), ctx),
        judgeOverlay(union, ctx),
        judgeFuseOverlayfs(union, ctx),
        judgeDevFuse(union, ctx),
        ...(opts.storageDriver ? [await judgeStorageDriver(opts.storageDriver)] : []),
      ]
    }),
    guard('network', 'network', 'network', async () => {
      const net = await gatherNet(ctx)
      return [...judgeNetHelpers(net), judgeDevNetTun(net), judgePing(net, ctx), judgePorts(net, ctx)]
    }),
    guard('cgroups', 'cgroups', 'cgroups', () => [judgeCgroups(gatherCgroups(ctx), ctx)]),
  ])
  return groups.flat()
}

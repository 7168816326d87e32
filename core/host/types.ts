// The shape of one `skiff info` finding and the facts every host probe shares. Pure types.
//
// A probe module (core/probe-*.ts) gathers facts with I/O and turns them into items with a pure
// `judge…` function, so each verdict is table-tested without the machine it describes.
// core/host/probe.ts runs the probes concurrently and orders their items.
import type { MountEntry } from './mounts.js'

/**
 * - ok: works as a rootless runtime needs it
 * - warning: works with less (a fallback, an optional helper missing, limits not enforceable)
 * - error: rootless containers cannot run here until this is fixed
 */
export type Status = 'ok' | 'warning' | 'error'

/** Groups items in the text output; part of the JSON too. */
export type Section = 'host' | 'ids' | 'storage' | 'network' | 'cgroups'

export interface ProbeItem {
  /** stable key of the item in `skiff info --format json` (camelCase, never renamed) */
  id: string
  /** label in the text output */
  name: string
  section: Section
  status: Status
  /** one line for people */
  value: string
  /** what to run or change, when status is not ok; a command can be copied as it is */
  fix?: string
  /** the facts behind the verdict, as data (stable keys per item id) */
  details: Record<string, unknown>
}

/** Facts read once and shared by the probes. */
export interface HostContext {
  uid: number
  gid: number
  /** supplementary groups, with gid */
  groups: number[]
  /** login name, or the uid as text when the uid has no passwd entry (batch systems) */
  user: string
  env: NodeJS.ProcessEnv
  /** uname -r */
  kernelRelease: string
  /** /proc/self/mountinfo */
  mounts: MountEntry[]
  /** systemd is the init system (/run/systemd/system exists) */
  systemd: boolean
}

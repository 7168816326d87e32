// --device and --privileged's devices: host device nodes the user can open, bound into the
// container (a user namespace cannot make device nodes, and no cgroup device filter exists
// without privilege: what the user can open on the host is what the container gets). Does I/O
// (stats the host's /dev).
import { accessSync, constants, lstatSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { SkiffError } from '../errors.js'

/** A CDI device kind: vendor.com/class. */
export const CDI_KIND_RE = /^[a-z0-9][a-z0-9.-]*\/[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

/** Whether --device's value names a CDI device (vendor.com/class=name, core/launch/cdi.ts) rather than a host path. */
export function isCdiName(text: string): boolean {
  const eq = text.indexOf('=')
  return eq > 0 && !text.startsWith('/') && CDI_KIND_RE.test(text.slice(0, eq))
}

export interface DeviceBind {
  host: string
  container: string
  /** without w: only where the user cannot write it anyway (the host's permissions keep it so) */
  readOnly: boolean
}

/**
 * HOST[:CONTAINER][:PERMS], PERMS of r, w, m (Docker's). The host path must be a device node the
 * user can open as asked; `r` alone only for a device the user cannot write (nothing else could
 * keep it read-only: see below); `m` means nothing here (no device node can be made).
 *   parseDevice('/dev/fuse')            → { host: '/dev/fuse', container: '/dev/fuse', readOnly: false }
 *   parseDevice('/dev/sda:/dev/xvda:r') → at /dev/xvda, where the user may only read it
 */
export function parseDevice(spec: string): DeviceBind {
  const parts = spec.split(':')
  let perms = 'rwm'
  if (parts.length > 1 && /^[rwm]+$/.test(parts[parts.length - 1]!)) perms = parts.pop()!
  if (parts.length > 2 || !parts[0]) throw new SkiffError('E_USAGE', `--device ${spec}: expected HOST[:CONTAINER][:PERMS]`, { hint: 'e.g. --device /dev/fuse, --device /dev/sdb:/dev/xvdb:r' })
  const [host, container = parts[0]!] = parts as [string, string?]
  if (!host.startsWith('/') || !container.startsWith('/')) throw new SkiffError('E_USAGE', `--device ${spec}: paths must be absolute`, { hint: 'e.g. --device /dev/fuse' })
  let st
  try {
    st = statSync(host)
  } catch {
    throw new SkiffError('E_USAGE', `--device ${spec}: ${host} does not exist`, { hint: 'name a device node of this host (ls -l /dev)' })
  }
  if (!st.isCharacterDevice() && !st.isBlockDevice()) throw new SkiffError('E_USAGE', `--device ${spec}: ${host} is not a device node`, { hint: 'bind other files with -v' })
  const readOnly = !perms.includes('w')
  if (readOnly && canWrite(host)) {
    // a read-only bind does not stop a device node from being opened for writing, and the cgroup
    // device filter that would is not an unprivileged user's to set
    throw new SkiffError('E_USAGE', `--device ${spec}: skiff cannot keep a device you can write to read-only in a container`, {
      hint: 'give it with rw (the default), or leave it out',
    })
  }
  try {
    accessSync(host, (perms.includes('r') ? constants.R_OK : 0) | (readOnly ? 0 : constants.W_OK))
  } catch {
    throw new SkiffError('E_USAGE', `--device ${spec}: you cannot open ${host}${readOnly ? ' for reading' : ' for reading and writing'} on this host`, {
      hint: 'a rootless container gets only devices its user can open: ask for read-only (:r), or have the device made accessible to you (a group, a udev rule)',
    })
  }
  return { host, container, readOnly }
}

function canWrite(path: string): boolean {
  try {
    accessSync(path, constants.W_OK)
    return true
  } catch {
    return false
  }
}

const SKIP = new Set(['/dev/pts', '/dev/shm', '/dev/mqueue', '/dev/hugepages', '/dev/fd'])

/** --privileged: every device node under the host's /dev the user can open for reading. */
export function openableDevices(dir = '/dev'): DeviceBind[] {
  const out: DeviceBind[] = []
  let names: string[] = []
  try {
    names = readdirSync(dir)
  } catch {
    return out
  }
  for (const n of names) {
    const p = join(dir, n)
    if (SKIP.has(p)) continue
    let st
    try {
      st = lstatSync(p)
    } catch {
      continue
    }
    if (st.isDirectory()) out.push(...openableDevices(p))
    else if (st.isCharacterDevice() || st.isBlockDevice()) {
      try {
        accessSync(p, constants.R_OK)
      } catch {
        continue
      }
      out.push({ host: p, container: p, readOnly: !canWrite(p) })
    }
  }
  return out
}

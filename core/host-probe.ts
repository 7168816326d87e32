// What this machine offers for rootless containers, each item with a fix when it falls short.
// Does I/O (reads /proc, /etc, stats files); parsers of /proc text are pure and exported.
import { accessSync, constants, readFileSync, statSync, statfsSync } from 'node:fs'
import { release, userInfo } from 'node:os'
import { join } from 'node:path'
import { resolvePaths } from './paths.js'
import { findIdmapHelpers, readSubids } from './subid.js'

export type Status = 'ok' | 'warning' | 'missing'

export interface ProbeItem {
  name: string
  status: Status
  value: string
  fix?: string
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

/** "6.18.44-fc" → [6, 18]. */
export function kernelVersion(text: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(text)
  return m ? [Number(m[1]), Number(m[2])] : [0, 0]
}

export function atLeast(v: [number, number], major: number, minor: number): boolean {
  return v[0] > major || (v[0] === major && v[1] >= minor)
}

export interface MountEntry {
  mountPoint: string
  fstype: string
  superOptions: string
}

/** /proc/self/mountinfo → entries (fields after the " - " separator give type and options). */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = []
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ')
    if (sep < 0) continue
    const left = line.slice(0, sep).split(' ')
    const right = line.slice(sep + 3).split(' ')
    out.push({ mountPoint: left[4]!.replace(/\\040/g, ' '), fstype: right[0]!, superOptions: right[2] ?? '' })
  }
  return out
}

/** /proc/self/cgroup → the v2 path ("0::/user.slice/...") and the v1 controller names. */
export function parseProcCgroup(text: string): { v2Path?: string; v1Controllers: string[] } {
  let v2Path: string | undefined
  const v1Controllers: string[] = []
  for (const line of text.split('\n')) {
    const [id, ctrls, path] = line.split(':')
    if (path === undefined) continue
    if (id === '0' && ctrls === '') v2Path = path
    else if (ctrls) v1Controllers.push(...ctrls.split(',').filter((c) => !c.startsWith('name=')))
  }
  return { v2Path, v1Controllers }
}

const FS_TYPES: Record<number, string> = {
  0xef53: 'ext4', 0x58465342: 'xfs', 0x9123683e: 'btrfs', 0x01021994: 'tmpfs', 0x794c7630: 'overlay',
  0x6969: 'nfs', 0x0bd00bd0: 'lustre', 0x47504653: 'gpfs', 0xff534d42: 'cifs', 0x65735546: 'fuse',
  0x2fc12fc1: 'zfs', 0x5346544e: 'ntfs', 0x73717368: 'squashfs', 0x01161970: 'gfs2', 0x19830326: 'beegfs',
}
const NETWORK_FS = new Set(['nfs', 'lustre', 'gpfs', 'cifs', 'gfs2', 'beegfs'])

export function fsTypeName(magic: number): string {
  return FS_TYPES[magic >>> 0] ?? `0x${(magic >>> 0).toString(16)}`
}

/** The filesystem type of `path` or of its nearest existing parent. */
function fsType(path: string): string {
  for (let p = path; p; p = p.slice(0, p.lastIndexOf('/'))) {
    try {
      return fsTypeName(statfsSync(p).type)
    } catch {
      continue
    }
  }
  return 'unknown'
}

function which(cmd: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/bin', '/usr/sbin', '/bin', '/sbin']) {
    if (!dir) continue
    const p = join(dir, cmd)
    try {
      accessSync(p, constants.X_OK)
      return p
    } catch {}
  }
  return undefined
}

function usableDevice(path: string): boolean {
  try {
    accessSync(path, constants.R_OK | constants.W_OK)
    return true
  } catch {
    return false
  }
}

export function probeHost(): ProbeItem[] {
  const items: ProbeItem[] = []
  const uid = process.getuid!()
  const gid = process.getgid!()
  let user = String(uid)
  try {
    user = userInfo().username
  } catch {}
  const kernel = release()
  const kv = kernelVersion(kernel)
  items.push({ name: 'kernel', status: atLeast(kv, 5, 11) ? 'ok' : 'warning', value: kernel, fix: atLeast(kv, 5, 11) ? undefined : 'Linux 5.11 or newer is needed for overlayfs in a user namespace' })

  const maxNs = read('/proc/sys/user/max_user_namespaces')?.trim()
  const clone = read('/proc/sys/kernel/unprivileged_userns_clone')?.trim()
  const apparmor = read('/proc/sys/kernel/apparmor_restrict_unprivileged_userns')?.trim()
  if (maxNs === '0') {
    items.push({ name: 'user namespaces', status: 'missing', value: 'disabled (user.max_user_namespaces=0)', fix: 'sudo sysctl -w user.max_user_namespaces=15000 (and in /etc/sysctl.d/ to keep it)' })
  } else if (clone === '0') {
    items.push({ name: 'user namespaces', status: 'missing', value: 'disabled (kernel.unprivileged_userns_clone=0)', fix: 'sudo sysctl -w kernel.unprivileged_userns_clone=1' })
  } else if (apparmor === '1') {
    items.push({
      name: 'user namespaces',
      status: 'warning',
      value: 'restricted by AppArmor (kernel.apparmor_restrict_unprivileged_userns=1)',
      fix: `allow skiff: write /etc/apparmor.d/skiff with\n  abi <abi/4.0>,\n  include <tunables/global>\n  profile skiff ${process.execPath} flags=(unconfined) {\n    userns,\n  }\n  then: sudo apparmor_parser -r /etc/apparmor.d/skiff`,
    })
  } else {
    items.push({ name: 'user namespaces', status: 'ok', value: `enabled (max ${maxNs ?? 'unknown'})` })
  }

  const subids = readSubids({ name: user, uid })
  const count = (r: { count: number }[]) => r.reduce((n, x) => n + x.count, 0)
  const rangesOk = subids.uid.length > 0 && subids.gid.length > 0
  items.push({
    name: 'subordinate ids',
    status: uid === 0 || rangesOk ? 'ok' : 'warning',
    value: uid === 0 ? 'not needed (root)' : `${count(subids.uid)} uids, ${count(subids.gid)} gids for ${user}`,
    fix: uid === 0 || rangesOk ? undefined : `sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${user} (LDAP users: subid: sss in /etc/nsswitch.conf); without it only your own id is mapped`,
  })
  const helpers = findIdmapHelpers()
  const setuid = (p?: string) => {
    try {
      const st = statSync(p!)
      return (st.mode & 0o4000) !== 0 && st.uid === 0
    } catch {
      return false
    }
  }
  const helpersOk = helpers.usable && setuid(helpers.newuidmap) && setuid(helpers.newgidmap)
  items.push({
    name: 'newuidmap/newgidmap',
    status: uid === 0 || helpersOk ? 'ok' : 'warning',
    value: helpers.usable ? `${helpers.newuidmap}, ${helpers.newgidmap}${helpersOk ? ' (setuid root)' : ' (not setuid root: file capabilities not checked)'}` : (helpers.reason ?? 'missing'),
    fix: uid === 0 || helpersOk ? undefined : 'Debian/Ubuntu: sudo apt install uidmap; Fedora/RHEL: sudo dnf install shadow-utils',
  })
  items.push({ name: 'id mapping', status: 'ok', value: uid === 0 ? 'all ids onto themselves (root)' : helpersOk && rangesOk ? `0 → ${uid}, 1.. → subordinate ranges` : `single: 0 → ${uid} only` })

  items.push({ name: 'overlay in user namespace', status: atLeast(kv, 5, 11) ? 'ok' : 'missing', value: atLeast(kv, 5, 11) ? 'kernel supports it (>= 5.11)' : 'no (kernel older than 5.11)', fix: atLeast(kv, 5, 11) ? undefined : 'upgrade the kernel, or install fuse-overlayfs (support arrives with the storage drivers)' })
  const fuse = which('fuse-overlayfs')
  items.push({ name: 'fuse-overlayfs', status: fuse ? 'ok' : 'warning', value: fuse ?? 'not installed', fix: fuse ? undefined : 'apt install fuse-overlayfs (a fallback for kernels without overlay in user namespaces)' })
  items.push({ name: '/dev/fuse', status: usableDevice('/dev/fuse') ? 'ok' : 'warning', value: usableDevice('/dev/fuse') ? 'usable' : 'not usable by this user', fix: usableDevice('/dev/fuse') ? undefined : 'sudo chmod 0666 /dev/fuse (distributions ship it so)' })
  for (const tool of ['pasta', 'slirp4netns']) {
    const p = which(tool)
    items.push({ name: tool, status: p ? 'ok' : 'warning', value: p ?? 'not installed', fix: p ? undefined : `apt install ${tool === 'pasta' ? 'passt' : 'slirp4netns'} (user-mode networking)` })
  }
  items.push({ name: '/dev/net/tun', status: usableDevice('/dev/net/tun') ? 'ok' : 'warning', value: usableDevice('/dev/net/tun') ? 'usable' : 'not usable by this user', fix: usableDevice('/dev/net/tun') ? undefined : 'sudo chmod 0666 /dev/net/tun' })

  const mounts = parseMountinfo(read('/proc/self/mountinfo') ?? '')
  const cg = parseProcCgroup(read('/proc/self/cgroup') ?? '')
  const v2 = mounts.find((m) => m.fstype === 'cgroup2')
  const v1 = mounts.some((m) => m.fstype === 'cgroup')
  const version = v2 && !v1 ? 'v2' : v2 && v1 ? 'hybrid (v1 controllers, v2 tree without them)' : v1 ? 'v1' : 'none'
  let delegated: string[] = []
  if (v2 && cg.v2Path !== undefined) {
    const dir = join(v2.mountPoint, cg.v2Path)
    const controllers = (read(join(dir, 'cgroup.controllers')) ?? '').trim().split(/\s+/).filter(Boolean)
    let writable = false
    try {
      accessSync(dir, constants.W_OK)
      writable = true
    } catch {}
    if (writable) delegated = controllers
  }
  items.push({
    name: 'cgroups',
    status: delegated.includes('memory') && delegated.includes('pids') ? 'ok' : 'warning',
    value: `${version}; delegated controllers: ${delegated.length ? delegated.join(' ') : 'none'}`,
    fix: delegated.includes('memory') ? undefined : 'resource limits unavailable; with systemd: /etc/systemd/system/user@.service.d/delegate.conf with [Service] Delegate=cpu cpuset io memory pids, then systemctl daemon-reload and log in again',
  })

  const paths = resolvePaths()
  const storageFs = fsType(paths.storage)
  items.push({
    name: 'storage',
    status: NETWORK_FS.has(storageFs) ? 'warning' : 'ok',
    value: `${paths.storage} (${storageFs})`,
    fix: NETWORK_FS.has(storageFs) ? `overlay upper directories fail on ${storageFs}: set SKIFF_ROOT to node-local disk (e.g. /tmp/$USER/skiff)` : undefined,
  })
  const xdg = process.env.XDG_RUNTIME_DIR
  let xdgOk = false
  try {
    xdgOk = !!xdg && statSync(xdg).uid === uid
  } catch {}
  items.push({
    name: 'runtime',
    status: xdg && !xdgOk ? 'warning' : 'ok',
    value: `${paths.runtime} (${fsType(paths.runtime)})`,
    fix: xdg && !xdgOk ? `XDG_RUNTIME_DIR=${xdg} is not yours (after su/sudo?): skiff uses ${paths.runtime}; log in directly (ssh, machinectl shell) for a proper one` : undefined,
  })
  items.push({ name: 'cache', status: 'ok', value: paths.cache })

  const ping = (read('/proc/sys/net/ipv4/ping_group_range') ?? '').trim().split(/\s+/).map(Number)
  const pingOk = ping.length === 2 && gid >= ping[0]! && gid <= ping[1]!
  items.push({ name: 'ping', status: pingOk ? 'ok' : 'warning', value: pingOk ? 'allowed' : `not allowed for gid ${gid} (net.ipv4.ping_group_range=${ping.join(' ')})`, fix: pingOk ? undefined : `sudo sysctl -w net.ipv4.ping_group_range="0 2147483647"` })
  const low = (read('/proc/sys/net/ipv4/ip_unprivileged_port_start') ?? '').trim()
  items.push({ name: 'unprivileged ports from', status: 'ok', value: low || 'unknown' })
  return items
}

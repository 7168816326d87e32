// -v/--volume, --mount and --tmpfs → mount requests. Pure.
//
//   parseVolume('/srv/data:/data:ro') → { type: 'bind', source: '/srv/data', target: '/data', readonly: true }
//   parseVolume('cache:/var/cache')   → { type: 'volume', source: 'cache', target: '/var/cache', readonly: false }
//   parseVolume('/scratch')           → { type: 'volume', source: '', target: '/scratch', ... } (anonymous)
//   parseMount('type=tmpfs,dst=/run,tmpfs-size=1m') → { type: 'tmpfs', target: '/run', size: 1048576, ... }
import { isAbsolute, normalize, resolve } from 'node:path'
import { SkiffError } from '../errors.js'

export interface MountRequest {
  type: 'bind' | 'volume' | 'tmpfs'
  /** bind: an absolute host path; volume: a name ('' for an anonymous volume) */
  source: string
  /** absolute path inside the container */
  target: string
  readonly: boolean
  /** tmpfs: bytes (0: the kernel's default, half of RAM) and mode */
  size?: number
  mode?: number
  /** nosuid, nodev, noexec asked for */
  flags: ('nosuid' | 'nodev' | 'noexec')[]
  /** --mount type=bind: a missing source is an error (-v creates it, as Docker does) */
  mustExist?: boolean
}

export const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

function usage(flag: string, spec: string, why: string, hint: string): SkiffError {
  return new SkiffError('E_USAGE', `${flag} ${spec}: ${why}`, { hint })
}

function target(flag: string, spec: string, path: string | undefined): string {
  if (!path || !path.startsWith('/')) {
    throw usage(flag, spec, `the container path ${JSON.stringify(path ?? '')} is not absolute`, 'container paths start with /, e.g. -v /srv/data:/data')
  }
  return normalize(path)
}

const OPTION_FLAGS = ['nosuid', 'nodev', 'noexec'] as const

/** Docker's -v: [SOURCE:]TARGET[:OPTIONS]; a SOURCE starting with / or . is a host path, else a volume name. */
export function parseVolume(spec: string, cwd = process.cwd()): MountRequest {
  const parts = spec.split(':')
  if (parts.length > 3 || parts.some((p) => p === '') && !(parts.length === 1)) {
    throw usage('-v', spec, 'expected [SOURCE:]TARGET[:OPTIONS]', 'e.g. -v /srv/data:/data:ro, -v mydata:/data, -v /data')
  }
  const [a, b, c] = parts
  const [src, dst, opts] = parts.length === 1 ? ['', a, ''] : [a!, b, c ?? '']
  const req: MountRequest = { type: 'volume', source: '', target: target('-v', spec, dst), readonly: false, flags: [] }
  if (src) {
    if (src.startsWith('/') || src.startsWith('.')) {
      req.type = 'bind'
      // relative paths are resolved against the current directory (as Podman does; Docker refuses them)
      req.source = isAbsolute(src) ? normalize(src) : resolve(cwd, src)
    } else if (VOLUME_NAME.test(src)) {
      req.source = src
    } else {
      throw usage('-v', spec, `${JSON.stringify(src)} is neither a path nor a volume name`, 'host paths start with / or ./; volume names use a-z, A-Z, 0-9, _ . -')
    }
  }
  for (const o of opts ? opts.split(',') : []) {
    if (o === 'ro' || o === 'readonly') req.readonly = true
    else if (o === 'rw') req.readonly = false
    else if ((OPTION_FLAGS as readonly string[]).includes(o)) req.flags.push(o as MountRequest['flags'][number])
    // SELinux relabeling and propagation have no meaning for a rootless bind here
    else if (!['z', 'Z', 'rprivate', 'private', 'rslave', 'slave', 'rbind', 'bind', 'U', 'O'].includes(o)) {
      throw usage('-v', spec, `unknown option ${JSON.stringify(o)}`, 'options: ro, rw, nosuid, nodev, noexec (z and Z are accepted and ignored)')
    }
  }
  return req
}

/** "64m", "1g", "1048576" → bytes */
function size(flag: string, spec: string, text: string): number {
  const m = /^(\d+)([kmg]?)b?$/i.exec(text)
  if (!m) throw usage(flag, spec, `size ${JSON.stringify(text)} is not a size`, 'e.g. 64m, 1g or a number of bytes')
  return Number(m[1]) * { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g']
}

/** Docker's --mount type=bind|volume|tmpfs,source=,target=,readonly,... */
export function parseMount(spec: string, cwd = process.cwd()): MountRequest {
  const kv = new Map<string, string>()
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=')
    kv.set((eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase(), eq < 0 ? 'true' : part.slice(eq + 1))
  }
  const type = kv.get('type') ?? 'volume'
  if (type !== 'bind' && type !== 'volume' && type !== 'tmpfs') {
    throw usage('--mount', spec, `type ${JSON.stringify(type)} is not bind, volume or tmpfs`, 'e.g. --mount type=bind,source=/srv,target=/srv,readonly')
  }
  const src = kv.get('source') ?? kv.get('src') ?? ''
  const dst = kv.get('target') ?? kv.get('destination') ?? kv.get('dst')
  const ro = kv.get('readonly') ?? kv.get('ro')
  const req: MountRequest = { type, source: '', target: target('--mount', spec, dst), readonly: ro !== undefined && ro !== 'false' && ro !== '0', flags: [] }
  if (type === 'bind') {
    if (!src) throw usage('--mount', spec, 'a bind mount needs source=', 'e.g. --mount type=bind,source=/srv/data,target=/data')
    req.source = isAbsolute(src) ? normalize(src) : resolve(cwd, src)
    req.mustExist = true
  } else if (type === 'volume') {
    if (src && !VOLUME_NAME.test(src)) throw usage('--mount', spec, `${JSON.stringify(src)} is not a volume name`, 'volume names use a-z, A-Z, 0-9, _ . -')
    req.source = src
  } else {
    if (src) throw usage('--mount', spec, 'a tmpfs has no source', 'leave source= out')
    if (kv.has('tmpfs-size')) req.size = size('--mount', spec, kv.get('tmpfs-size')!)
    if (kv.has('tmpfs-mode')) req.mode = parseInt(kv.get('tmpfs-mode')!, 8)
  }
  for (const k of kv.keys()) {
    if (!['type', 'source', 'src', 'target', 'destination', 'dst', 'readonly', 'ro', 'tmpfs-size', 'tmpfs-mode', 'bind-propagation', 'consistency', 'volume-nocopy'].includes(k)) {
      throw usage('--mount', spec, `unknown key ${JSON.stringify(k)}`, 'keys: type, source, target, readonly, tmpfs-size, tmpfs-mode')
    }
  }
  return req
}

/** Docker's --tmpfs /path[:options] (size=, mode=, ro, nosuid, nodev, noexec). */
export function parseTmpfs(spec: string): MountRequest {
  const [path, opts] = [spec.slice(0, spec.indexOf(':') < 0 ? spec.length : spec.indexOf(':')), spec.includes(':') ? spec.slice(spec.indexOf(':') + 1) : '']
  const req: MountRequest = { type: 'tmpfs', source: '', target: target('--tmpfs', spec, path), readonly: false, flags: ['nosuid', 'nodev'] }
  for (const o of opts ? opts.split(',') : []) {
    if (o.startsWith('size=')) req.size = size('--tmpfs', spec, o.slice(5))
    else if (o.startsWith('mode=')) req.mode = parseInt(o.slice(5), 8)
    else if (o === 'ro') req.readonly = true
    else if (o === 'rw') req.readonly = false
    else if ((OPTION_FLAGS as readonly string[]).includes(o)) {
      if (!req.flags.includes(o as MountRequest['flags'][number])) req.flags.push(o as MountRequest['flags'][number])
    } else if (o !== 'exec' && o !== 'suid' && o !== 'dev') {
      throw usage('--tmpfs', spec, `unknown option ${JSON.stringify(o)}`, 'options: size=64m, mode=1777, ro, noexec, nosuid, nodev')
    } else {
      req.flags = req.flags.filter((f) => f !== `no${o}`)
    }
  }
  return req
}

/** Two mounts on one container path are an error, as in Docker. */
export function checkTargets(reqs: MountRequest[]): MountRequest[] {
  const seen = new Map<string, string>()
  const out: MountRequest[] = []
  for (const r of reqs) {
    const same = JSON.stringify(r)
    const before = seen.get(r.target)
    // the very same mount given twice is one mount (podman takes it so); two different ones on a path are an error
    if (before === same) continue
    if (before !== undefined) throw new SkiffError('E_USAGE', `two mounts on ${r.target}`, { hint: 'give each -v, --mount and --tmpfs its own container path' })
    seen.set(r.target, same)
    out.push(r)
  }
  return out
}

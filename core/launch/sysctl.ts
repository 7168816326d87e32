// --sysctl KEY=VALUE: the namespaced sysctls a container may set, as Docker allows them. Pure.
import { SkiffError } from '../errors.js'

const IPC = new Set(['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced'])

/**
 * KEY=VALUE pairs → KEY → VALUE, each checked: IPC ones (kernel.msg*, kernel.sem, kernel.shm*,
 * fs.mqueue.*) always, net.* only with a network namespace of the container's own.
 *   parseSysctls(['net.ipv4.ip_forward=1'], true) → { 'net.ipv4.ip_forward': '1' }
 */
export function parseSysctls(specs: string[], ownNetwork: boolean): Record<string, string> {
  const out: Record<string, string> = {}
  for (const spec of specs) {
    const i = spec.indexOf('=')
    const key = (i < 0 ? spec : spec.slice(0, i)).replace(/\//g, '.')
    if (i < 0 || !key || !/^[a-z0-9_.-]+$/i.test(key)) throw new SkiffError('E_USAGE', `--sysctl ${spec}: expected KEY=VALUE`, { hint: 'e.g. --sysctl net.ipv4.ip_forward=1' })
    if (key.startsWith('net.')) {
      if (!ownNetwork) throw new SkiffError('E_USAGE', `--sysctl ${key}: the container shares another network namespace (--network host or container:)`, { hint: 'net.* sysctls are for a container with a network of its own' })
    } else if (!IPC.has(key) && !key.startsWith('fs.mqueue.')) {
      throw new SkiffError('E_USAGE', `--sysctl ${key}: not a sysctl a container can have of its own`, { hint: 'skiff takes the namespaced ones, as Docker: net.*, kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*' })
    }
    out[key] = spec.slice(i + 1)
  }
  return out
}

/** /proc/sys path of a sysctl key (dots are separators; a key already written with / is the same). */
export function sysctlPath(key: string): string {
  return `/proc/sys/${key.replace(/\./g, '/')}`
}

// Linux capability names ↔ numbers, the default set a container gets, and --cap-add/--cap-drop.
// Pure.
import { SkiffError } from '../errors.js'

/** Capability numbers from linux/capability.h. */
export const CAPABILITIES: Record<string, number> = {
  CAP_CHOWN: 0, CAP_DAC_OVERRIDE: 1, CAP_DAC_READ_SEARCH: 2, CAP_FOWNER: 3, CAP_FSETID: 4,
  CAP_KILL: 5, CAP_SETGID: 6, CAP_SETUID: 7, CAP_SETPCAP: 8, CAP_LINUX_IMMUTABLE: 9,
  CAP_NET_BIND_SERVICE: 10, CAP_NET_BROADCAST: 11, CAP_NET_ADMIN: 12, CAP_NET_RAW: 13,
  CAP_IPC_LOCK: 14, CAP_IPC_OWNER: 15, CAP_SYS_MODULE: 16, CAP_SYS_RAWIO: 17, CAP_SYS_CHROOT: 18,
  CAP_SYS_PTRACE: 19, CAP_SYS_PACCT: 20, CAP_SYS_ADMIN: 21, CAP_SYS_BOOT: 22, CAP_SYS_NICE: 23,
  CAP_SYS_RESOURCE: 24, CAP_SYS_TIME: 25, CAP_SYS_TTY_CONFIG: 26, CAP_MKNOD: 27, CAP_LEASE: 28,
  CAP_AUDIT_WRITE: 29, CAP_AUDIT_CONTROL: 30, CAP_SETFCAP: 31, CAP_MAC_OVERRIDE: 32,
  CAP_MAC_ADMIN: 33, CAP_SYSLOG: 34, CAP_WAKE_ALARM: 35, CAP_BLOCK_SUSPEND: 36, CAP_AUDIT_READ: 37,
  CAP_PERFMON: 38, CAP_BPF: 39, CAP_CHECKPOINT_RESTORE: 40,
}

/** Docker's default set (moby oci/caps/defaults.go); CapEff 0x00000000a80425fb for root. */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
]

/** 'chown', 'CAP_CHOWN' and 'cap_chown' all name CAP_CHOWN; 'ALL' expands. Unknown names throw. */
export function capabilityNumbers(names: string[]): number[] {
  const out = new Set<number>()
  for (const raw of names) {
    const upper = raw.toUpperCase()
    if (upper === 'ALL') {
      for (const n of Object.values(CAPABILITIES)) out.add(n)
      continue
    }
    const name = upper.startsWith('CAP_') ? upper : `CAP_${upper}`
    const n = CAPABILITIES[name]
    if (n === undefined) {
      throw new SkiffError('E_USAGE', `unknown capability ${JSON.stringify(raw)}`, {
        hint: `capabilities are named as in capabilities(7), with or without CAP_ (e.g. NET_ADMIN, CAP_SYS_PTRACE), or ALL`,
      })
    }
    out.add(n)
  }
  return [...out].sort((a, b) => a - b)
}

/** The mask as /proc/PID/status prints it (CapEff: 00000000a80425fb). */
export function capabilityMask(numbers: number[]): string {
  let mask = 0n
  for (const n of numbers) mask |= 1n << BigInt(n)
  return mask.toString(16).padStart(16, '0')
}

/**
 * The set a container's root gets, as Docker computes it: the default set, with --cap-add and
 * without --cap-drop; ALL in --cap-add starts from every capability, ALL in --cap-drop from none
 * (then --cap-add's are added).
 *   capabilitySet(['NET_ADMIN'], ['MKNOD']) → the defaults + CAP_NET_ADMIN - CAP_MKNOD
 */
export function capabilitySet(add: string[], drop: string[]): number[] {
  const adds = capabilityNumbers(add)
  const drops = capabilityNumbers(drop)
  const has = (list: string[]) => list.some((c) => c.toUpperCase() === 'ALL')
  const start = has(drop) ? [] : has(add) ? capabilityNumbers(['ALL']) : capabilityNumbers(DEFAULT_CAPABILITIES)
  const out = new Set(start)
  if (!has(drop)) for (const n of drops) out.delete(n)
  for (const n of adds) if (has(drop) || !drops.includes(n)) out.add(n)
  return [...out].sort((a, b) => a - b)
}

/** Capability numbers → names (CAP_…), for inspect. */
export function capabilityNames(numbers: number[]): string[] {
  const byNumber = new Map(Object.entries(CAPABILITIES).map(([k, v]) => [v, k]))
  return numbers.map((n) => byNumber.get(n) ?? String(n))
}

// --ulimit NAME=SOFT[:HARD], as Docker spells it → the process's resource limits. Pure.
import { SkiffError } from '../errors.js'

/** RLIMIT_* numbers (asm-generic/resource.h: the same on every architecture skiff builds for). */
export const RLIMITS: Record<string, number> = {
  cpu: 0, fsize: 1, data: 2, stack: 3, core: 4, rss: 5, nproc: 6, nofile: 7, memlock: 8, as: 9,
  locks: 10, sigpending: 11, msgqueue: 12, nice: 13, rtprio: 14, rttime: 15,
}

/** Their names in /proc/PID/limits, to compare with the limits skiff itself runs under. */
export const LIMITS_FILE_NAMES: Record<string, string> = {
  cpu: 'Max cpu time', fsize: 'Max file size', data: 'Max data size', stack: 'Max stack size', core: 'Max core file size',
  rss: 'Max resident set', nproc: 'Max processes', nofile: 'Max open files', memlock: 'Max locked memory', as: 'Max address space',
  locks: 'Max file locks', sigpending: 'Max pending signals', msgqueue: 'Max msgqueue size', nice: 'Max nice priority',
  rtprio: 'Max realtime priority', rttime: 'Max realtime timeout',
}

/** A limit in the plan: -1 is unlimited. */
export interface Rlimit {
  name: string
  type: number
  soft: number
  hard: number
}

function value(text: string, spec: string): number {
  if (text === 'unlimited' || text === '-1') return -1
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new SkiffError('E_USAGE', `--ulimit ${spec}: ${JSON.stringify(text)} is not a number`, { hint: 'e.g. --ulimit nofile=1024:2048, --ulimit core=0, --ulimit memlock=unlimited' })
  }
  return Number(text)
}

/**
 *   parseUlimit('nofile=1024:2048') → { name: 'nofile', type: 7, soft: 1024, hard: 2048 }
 *   parseUlimit('core=0')           → soft and hard 0
 */
export function parseUlimit(spec: string): Rlimit {
  const m = /^([a-z]+)=([^:]+)(?::(.+))?$/.exec(spec)
  const type = m ? RLIMITS[m[1]!] : undefined
  if (!m || type === undefined) {
    throw new SkiffError('E_USAGE', `--ulimit ${spec}: expected NAME=SOFT[:HARD] with NAME one of ${Object.keys(RLIMITS).join(', ')}`, { hint: 'e.g. --ulimit nofile=1024:2048' })
  }
  const soft = value(m[2]!, spec)
  const hard = m[3] === undefined ? soft : value(m[3], spec)
  if (hard !== -1 && (soft === -1 || soft > hard)) throw new SkiffError('E_USAGE', `--ulimit ${spec}: the soft limit is above the hard one`, { hint: 'give SOFT:HARD with SOFT ≤ HARD' })
  return { name: m[1]!, type, soft, hard }
}

/**
 * The limits skiff runs under (/proc/self/limits text): a container cannot raise a hard limit
 * above them (that needs CAP_SYS_RESOURCE outside the user namespace), so such a --ulimit is an
 * error now, not a failure in the container's start.
 */
export function checkUlimits(limits: Rlimit[], procLimits: string): void {
  for (const l of limits) {
    const line = procLimits.split('\n').find((x) => x.startsWith(LIMITS_FILE_NAMES[l.name]!))
    const fields = line?.slice(26).trim().split(/\s+/)
    const hostHard = fields?.[1]
    if (!hostHard || hostHard === 'unlimited') continue
    if (l.hard === -1 || l.hard > Number(hostHard)) {
      throw new SkiffError('E_USAGE', `--ulimit ${l.name}: the hard limit ${l.hard === -1 ? 'unlimited' : l.hard} is above this session's ${hostHard}, which an unprivileged container cannot raise`, {
        hint: `ask for at most ${hostHard} (ulimit -H${l.name === 'nofile' ? 'n' : ''} shows it), or have the limit raised for your login (limits.conf)`,
      })
    }
  }
}

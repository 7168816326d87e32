// A seccomp profile in Docker's JSON format → a classic BPF program for the shim to load. Pure.
//
// The program: the architecture of the call first (an architecture the profile does not name is
// killed, as libseccomp does), then for each architecture a binary search over the syscall
// number, down to runs of numbers with one verdict: a return, or the argument checks of the
// rules that name that syscall. About nine comparisons for any call, where a list of rules in
// order costs one per rule before it. A number that names no syscall this kernel's headers know
// (a syscall newer than skiff) is answered ENOSYS, so that libc falls back to an older call; a
// known syscall the profile does not allow gets the profile's default (EPERM in skiff's).
import { SkiffError } from '../errors.js'
import { SYSCALL_TABLES } from './seccomp-syscalls.js'

export interface SeccompArg { index: number; value: number; valueTwo?: number; op: string }
export interface SeccompFilter { caps?: string[]; arches?: string[]; minKernel?: string }
export interface SeccompRule {
  names?: string[]
  name?: string
  action: string
  errnoRet?: number
  args?: SeccompArg[] | null
  includes?: SeccompFilter
  excludes?: SeccompFilter
}
export interface SeccompProfile {
  defaultAction: string
  defaultErrnoRet?: number
  architectures?: string[]
  archMap?: { architecture: string; subArchitectures?: string[] }[]
  syscalls?: SeccompRule[]
  flags?: string[]
}

/** What the compiler needs of the container and the host. */
export interface SeccompTarget {
  /** the host: Node's process.arch ('x64', 'arm64') */
  arch: string
  /** capability names the container's root holds (CAP_SYS_ADMIN, ...) */
  caps: string[]
  /** the host kernel's release ("6.1.0-18-amd64") */
  kernel: string
}

type Abi = keyof typeof SYSCALL_TABLES

/** The ABIs skiff filters: audit arch, syscall table, number base, argument width. */
const ABIS: Record<Abi, { audit: number; scmp: string; base: number; wide: boolean }> = {
  x86_64: { audit: 0xc000003e, scmp: 'SCMP_ARCH_X86_64', base: 0, wide: true },
  x32: { audit: 0xc000003e, scmp: 'SCMP_ARCH_X32', base: 0x40000000, wide: false },
  i386: { audit: 0x40000003, scmp: 'SCMP_ARCH_X86', base: 0, wide: false },
  aarch64: { audit: 0xc00000b7, scmp: 'SCMP_ARCH_AARCH64', base: 0, wide: true },
}
/** Node's arch → the native ABI, its companions, and the arch name Docker's "arches" filters use. */
const HOSTS: Record<string, { native: Abi; others: Abi[]; goArch: string }> = {
  x64: { native: 'x86_64', others: ['i386', 'x32'], goArch: 'amd64' },
  arm64: { native: 'aarch64', others: [], goArch: 'arm64' },
}

const RET = { KILL_PROCESS: 0x80000000, KILL_THREAD: 0, TRAP: 0x00030000, ERRNO: 0x00050000, TRACE: 0x7ff00000, LOG: 0x7ffc0000, ALLOW: 0x7fff0000 }
const ENOSYS = 38
const EPERM = 1
// classic BPF opcodes (linux/filter.h)
const LD_ABS = 0x20, JEQ = 0x15, JGT = 0x25, JGE = 0x35, JA = 0x05, AND = 0x54, RETK = 0x06
const MAX_INSNS = 4096
/** seccomp_data: nr at 0, arch at 4, args[i] at 16 + 8i (low word first: little-endian hosts) */
const ARG_LO = (i: number): number => 16 + 8 * i

interface Insn { code: number; jt: number; jf: number; k: number }
const insn = (code: number, k: number, jt = 0, jf = 0): Insn => ({ code, jt, jf, k: k >>> 0 })
const ret = (k: number): Insn => insn(RETK, k)

function bad(message: string): SkiffError {
  return new SkiffError('E_USAGE', `seccomp profile: ${message}`, { hint: "a profile is Docker's JSON format (moby's profiles/seccomp/default.json is an example)" })
}

/** A rule's action as a seccomp return value. */
function actionValue(action: string, errno: number | undefined, fallbackErrno: number): number {
  switch (action) {
    case 'SCMP_ACT_ALLOW': return RET.ALLOW
    case 'SCMP_ACT_ERRNO': return RET.ERRNO | ((errno ?? fallbackErrno) & 0xffff)
    case 'SCMP_ACT_KILL': case 'SCMP_ACT_KILL_THREAD': return RET.KILL_THREAD
    case 'SCMP_ACT_KILL_PROCESS': return RET.KILL_PROCESS
    case 'SCMP_ACT_TRAP': return RET.TRAP
    case 'SCMP_ACT_TRACE': return RET.TRACE | ((errno ?? 0) & 0xffff)
    case 'SCMP_ACT_LOG': return RET.LOG
    case 'SCMP_ACT_NOTIFY': throw bad('SCMP_ACT_NOTIFY needs a listener, which skiff does not provide')
    default: throw bad(`unknown action ${JSON.stringify(action)}`)
  }
}

function kernelAtLeast(release: string, min: string): boolean {
  const have = release.split(/[.-]/).map(Number)
  const want = min.split('.').map(Number)
  for (let i = 0; i < want.length; i++) {
    const h = have[i] ?? 0, w = want[i] ?? 0
    if (!Number.isFinite(w)) throw bad(`minKernel ${JSON.stringify(min)} is not a version`)
    if (h !== w) return h > w
  }
  return true
}

/** Docker's `includes`: all it names hold (every cap held, the host's arch listed, the kernel new enough). */
function included(f: SeccompFilter | undefined, target: SeccompTarget, goArch: string): boolean {
  return (f?.caps ?? []).every((c) => target.caps.includes(c)) && (!f?.arches?.length || f.arches.includes(goArch)) && (!f?.minKernel || kernelAtLeast(target.kernel, f.minKernel))
}

/** Docker's `excludes`: any of what it names holds (a cap held, the host's arch listed, the kernel as new). */
function excluded(f: SeccompFilter | undefined, target: SeccompTarget, goArch: string): boolean {
  return (f?.caps ?? []).some((c) => target.caps.includes(c)) || (f?.arches ?? []).includes(goArch) || (!!f?.minKernel && kernelAtLeast(target.kernel, f.minKernel))
}

/** A condition on one argument: code that falls through when it holds and jumps to `fail` when not. */
function argCheck(arg: SeccompArg, wide: boolean): { code: Insn[]; fails: number[] } {
  if (!Number.isInteger(arg.index) || arg.index < 0 || arg.index > 5) throw bad(`argument index ${arg.index} (0 to 5)`)
  const split = (v: number | undefined, name: string): [number, number] => {
    if (v === undefined) return [0, 0]
    if (!Number.isSafeInteger(v) || v < 0) throw bad(`${name} ${v} is not a number from 0 to 2^53`)
    return [Math.floor(v / 2 ** 32), v % 2 ** 32]
  }
  let [vhi, vlo] = split(arg.value, 'value')
  let [thi, tlo] = split(arg.valueTwo, 'valueTwo')
  if (!wide) [vhi, thi] = [0, 0] // a 32-bit ABI's arguments are 32 bits (the kernel zero-extends them)
  const lo = ARG_LO(arg.index), hi = lo + 4
  const code: Insn[] = []
  const fails: number[] = []
  const jump = (c: number, k: number, onTrue: 'fail' | 'next' | number, onFalse: 'fail' | 'next' | number): void => {
    const i = code.length
    code.push(insn(c, k))
    for (const [field, to] of [['jt', onTrue], ['jf', onFalse]] as const) {
      if (to === 'fail') fails.push(i * 2 + (field === 'jt' ? 0 : 1))
      else if (typeof to === 'number') code[i]![field] = to
    }
  }
  // 64 bits as two words: the high words decide unless they are equal
  switch (arg.op) {
    case 'SCMP_CMP_EQ': case 'SCMP_CMP_MASKED_EQ': case 'SCMP_CMP_NE': {
      const masked = arg.op === 'SCMP_CMP_MASKED_EQ'
      const [mhi, mlo, dhi, dlo] = masked ? [vhi, vlo, thi, tlo] : [0xffffffff, 0xffffffff, vhi, vlo]
      const ne = arg.op === 'SCMP_CMP_NE'
      if (wide) {
        code.push(insn(LD_ABS, hi))
        if (masked) code.push(insn(AND, mhi))
        jump(JEQ, dhi, 'next', ne ? masked ? 3 : 2 : 'fail')
      }
      code.push(insn(LD_ABS, lo))
      if (masked) code.push(insn(AND, mlo))
      jump(JEQ, dlo, ne ? 'fail' : 'next', ne ? 'next' : 'fail')
      break
    }
    case 'SCMP_CMP_GT': case 'SCMP_CMP_GE': case 'SCMP_CMP_LT': case 'SCMP_CMP_LE': {
      const greater = arg.op === 'SCMP_CMP_GT' || arg.op === 'SCMP_CMP_GE'
      if (wide) {
        code.push(insn(LD_ABS, hi))
        // hi above: GT/GE hold, LT/LE fail; hi below: the reverse; equal: the low words decide
        if (greater) jump(JGT, vhi, 3, 'next')
        else jump(JGE, vhi, 'next', 3)
        jump(JEQ, vhi, 'next', 'fail')
      }
      code.push(insn(LD_ABS, lo))
      if (arg.op === 'SCMP_CMP_GT') jump(JGT, vlo, 'next', 'fail')
      else if (arg.op === 'SCMP_CMP_GE') jump(JGE, vlo, 'next', 'fail')
      else if (arg.op === 'SCMP_CMP_LT') jump(JGE, vlo, 'fail', 'next')
      else jump(JGT, vlo, 'fail', 'next')
      break
    }
    default:
      throw bad(`unknown operator ${JSON.stringify(arg.op)}`)
  }
  return { code, fails }
}

/** A syscall's verdict: one return, or rules with argument checks tried in order, then `otherwise`. */
type Verdict = { ret: number } | { checks: { args: SeccompArg[]; ret: number }[]; otherwise: number }

function verdictCode(v: Verdict, wide: boolean): Insn[] {
  if ('ret' in v) return [ret(v.ret)]
  const out: Insn[] = []
  for (const rule of v.checks) {
    const block: Insn[] = []
    const fails: [number, number][] = []
    for (const arg of rule.args) {
      const { code, fails: f } = argCheck(arg, wide)
      for (const at of f) fails.push([block.length + (at >> 1), at & 1])
      block.push(...code)
    }
    block.push(ret(rule.ret))
    // a failed check goes to the next rule, right after this block's return
    for (const [i, field] of fails) block[i]![field ? 'jf' : 'jt'] = block.length - i - 1
    out.push(...block)
  }
  out.push(ret(v.otherwise))
  return out
}

/** Runs of numbers [from, next run's from) with one verdict → a search tree, A holding the number. */
function searchTree(runs: { from: number; verdict: Verdict }[], wide: boolean): Insn[] {
  if (runs.length === 1) return verdictCode(runs[0]!.verdict, wide)
  const mid = runs.length >> 1
  const left = searchTree(runs.slice(0, mid), wide)
  const right = searchTree(runs.slice(mid), wide)
  // a conditional jump reaches 255 instructions: past that, through an unconditional one
  if (left.length <= 255) return [insn(JGE, runs[mid]!.from, left.length, 0), ...left, ...right]
  return [insn(JGE, runs[mid]!.from, 0, 1), insn(JA, left.length), ...left, ...right]
}

/** The verdict of every number of an ABI, as runs; numbers past its table's last are ENOSYS. */
function abiRuns(abi: Abi, rules: SeccompRule[], profile: SeccompProfile, target: SeccompTarget, goArch: string): { from: number; verdict: Verdict }[] {
  const { base } = ABIS[abi]
  const names = SYSCALL_TABLES[abi].split(' ')
  const deflt = actionValue(profile.defaultAction, profile.defaultErrnoRet, EPERM)
  // what a number no syscall has gets: ENOSYS, unless the profile allows by default
  const unknown = deflt === RET.ALLOW || deflt === RET.LOG ? deflt : RET.ERRNO | ENOSYS
  const applies = rules.filter((r) => included(r.includes, target, goArch) && !excluded(r.excludes, target, goArch))
  const byName = new Map<string, SeccompRule[]>()
  for (const r of applies) {
    for (const n of r.names ?? (r.name ? [r.name] : [])) {
      const list = byName.get(n)
      if (list) list.push(r)
      else byName.set(n, [r])
    }
  }
  const plain = new Map<number, Verdict>()
  const simple = (value: number): Verdict => plain.get(value) ?? plain.set(value, { ret: value }).get(value)!
  const verdictOf = (name: string): Verdict => {
    const list = name === '-' ? undefined : byName.get(name)
    if (!list) return simple(name === '-' ? unknown : deflt)
    const checks: { args: SeccompArg[]; ret: number }[] = []
    for (const r of list) {
      const value = actionValue(r.action, r.errnoRet, EPERM)
      if (!r.args?.length) return checks.length ? { checks, otherwise: value } : simple(value)
      checks.push({ args: r.args, ret: value })
    }
    return checks.length ? { checks, otherwise: deflt } : simple(deflt)
  }
  // consecutive numbers with the same plain verdict make one run (a verdict with checks is its own)
  const runs: { from: number; verdict: Verdict }[] = []
  const push = (from: number, verdict: Verdict): void => {
    if (runs.at(-1)?.verdict !== verdict) runs.push({ from, verdict })
  }
  names.forEach((name, i) => push(base + i, verdictOf(name)))
  push(base + names.length, simple(unknown))
  return runs
}

/** The ABIs the profile names for this host (libseccomp's default, the native one, when none). */
function abisOf(profile: SeccompProfile, host: { native: Abi; others: Abi[] }): Abi[] {
  const named = new Set([...(profile.architectures ?? []), ...(profile.archMap ?? []).flatMap((m) => [m.architecture, ...(m.subArchitectures ?? [])])])
  if (!named.size) return [host.native]
  return [host.native, ...host.others].filter((abi) => named.has(ABIS[abi].scmp))
}

/** A rule as Docker's format has it, or an error saying which part is not. */
function checkRule(r: SeccompRule, i: number): void {
  const where = `syscalls[${i}]`
  if (!r || typeof r !== 'object') throw bad(`${where} is not an object`)
  const names = r.names ?? (r.name === undefined ? undefined : [r.name])
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw bad(`${where}: names is not a list of syscall names`)
  if (typeof r.action !== 'string') throw bad(`${where}: no action`)
  if (r.errnoRet !== undefined && !Number.isInteger(r.errnoRet)) throw bad(`${where}: errnoRet is not a number`)
  if (r.args !== undefined && r.args !== null && (!Array.isArray(r.args) || !r.args.every((a) => a && typeof a === 'object'))) throw bad(`${where}: args is not a list of conditions`)
  for (const f of [r.includes, r.excludes]) {
    if (f === undefined || f === null) continue
    if (typeof f !== 'object' || (f.caps !== undefined && !Array.isArray(f.caps)) || (f.arches !== undefined && !Array.isArray(f.arches)) || (f.minKernel !== undefined && typeof f.minKernel !== 'string')) {
      throw bad(`${where}: includes/excludes hold caps and arches (lists) and minKernel (a version)`)
    }
  }
}

const FLAGS: Record<string, number> = { SECCOMP_FILTER_FLAG_LOG: 2, SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4 }

/**
 * The program, as the bytes of struct sock_filter[] (8 bytes each, host order), and the flags
 * for seccomp(2). Throws E_USAGE for what a profile cannot ask of skiff.
 */
export function compileSeccomp(profile: SeccompProfile, target: SeccompTarget): { program: Buffer; flags: number } {
  if (!profile || typeof profile !== 'object' || typeof profile.defaultAction !== 'string') throw bad('no defaultAction')
  const host = HOSTS[target.arch]
  if (!host) throw new SkiffError('E_UNSUPPORTED', `seccomp: skiff has no syscall table for ${target.arch}`, { hint: 'run with --security-opt seccomp=unconfined' })
  const rules = profile.syscalls ?? []
  if (!Array.isArray(rules)) throw bad('syscalls is not a list')
  rules.forEach(checkRule)
  let flags = 0
  if (profile.flags !== undefined && profile.flags !== null && !Array.isArray(profile.flags)) throw bad('flags is not a list')
  if (profile.architectures !== undefined && !Array.isArray(profile.architectures)) throw bad('architectures is not a list')
  if (profile.archMap !== undefined && !(Array.isArray(profile.archMap) && profile.archMap.every((m) => m && typeof m === 'object'))) throw bad('archMap is not a list of architectures')
  for (const f of profile.flags ?? []) {
    if (FLAGS[f] === undefined) throw bad(`flag ${f} is not one skiff can set (${Object.keys(FLAGS).join(', ')})`)
    flags |= FLAGS[f]
  }
  const byAudit = new Map<number, Abi[]>()
  for (const abi of abisOf(profile, host)) byAudit.set(ABIS[abi].audit, [...(byAudit.get(ABIS[abi].audit) ?? []), abi])
  const tree = (abi: Abi): Insn[] => searchTree(abiRuns(abi, rules, profile, target, host.goArch), ABIS[abi].wide)
  const sections = [...byAudit.values()].map((group): Insn[] => {
    if (!group.includes('x86_64') && !group.includes('x32')) return [insn(LD_ABS, 0), ...tree(group[0]!)]
    // x86-64 and x32 share an audit arch: the x32 bit of the number tells them apart
    const low = group.includes('x86_64') ? tree('x86_64') : [ret(RET.KILL_PROCESS)]
    const high = group.includes('x32') ? tree('x32') : [ret(RET.KILL_PROCESS)]
    return [insn(LD_ABS, 0), insn(JGE, 0x40000000, 0, 1), insn(JA, low.length), ...low, ...high]
  })
  // the head: load the arch; for each, JEQ to a JA to its section; any other arch is killed
  const head: Insn[] = [insn(LD_ABS, 4)]
  let at = 1 + 2 * sections.length + 1
  ;[...byAudit.keys()].forEach((audit, s) => {
    head.push(insn(JEQ, audit, 0, 1))
    head.push(insn(JA, at - head.length - 1))
    at += sections[s]!.length
  })
  head.push(ret(RET.KILL_PROCESS))
  const program = [...head, ...sections.flat()]
  if (program.length > MAX_INSNS) throw bad(`it compiles to ${program.length} BPF instructions; the kernel takes ${MAX_INSNS}`)
  const buf = Buffer.alloc(program.length * 8)
  program.forEach((p, i) => {
    buf.writeUInt16LE(p.code, i * 8)
    buf.writeUInt8(p.jt, i * 8 + 2)
    buf.writeUInt8(p.jf, i * 8 + 3)
    buf.writeUInt32LE(p.k >>> 0, i * 8 + 4)
  })
  return { program: buf, flags }
}

// The seccomp compiler, checked by running its programs: a classic BPF interpreter here runs the
// program on seccomp_data as the kernel would, against the profile's meaning computed directly
// (the reference below), for skiff's default profile and for random profiles and calls.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { DEFAULT_CAPABILITIES } from '../../core/launch/capabilities.js'
import { compileSeccomp, type SeccompArg, type SeccompProfile, type SeccompRule } from '../../core/launch/seccomp.js'
import { SECCOMP_COMPILER } from '../../core/launch/seccomp-program.js'
import { SYSCALL_TABLES } from '../../core/launch/seccomp-syscalls.js'
import { repoRoot } from '../helpers/env.js'

const t = suite('seccomp')
const DEFAULT = JSON.parse(readFileSync(join(repoRoot, 'core/launch/seccomp-default.json'), 'utf8')) as SeccompProfile
const X86_64 = 0xc000003e, I386 = 0x40000003, AARCH64 = 0xc00000b7
const ALLOW = 0x7fff0000, KILL_PROCESS = 0x80000000
const errno = (e: number): number => 0x50000 + e
const target = (caps: string[] = DEFAULT_CAPABILITIES) => ({ arch: 'x64', caps, kernel: '6.1.0-18-amd64' })

/** Runs a program on one call, as the kernel's classic BPF does (and checks what it could not). */
function run(program: Buffer, arch: number, nr: number, args: bigint[] = []): number {
  const data = Buffer.alloc(64)
  data.writeUInt32LE(nr >>> 0, 0)
  data.writeUInt32LE(arch >>> 0, 4)
  args.forEach((a, i) => data.writeBigUInt64LE(BigInt.asUintN(64, a), 16 + 8 * i))
  let acc = 0
  for (let pc = 0, steps = 0; ; pc++, steps++) {
    assert.ok(pc * 8 < program.length, `pc ${pc} ran off the end`)
    assert.ok(steps < 4096)
    const code = program.readUInt16LE(pc * 8), jt = program[pc * 8 + 2]!, jf = program[pc * 8 + 3]!, k = program.readUInt32LE(pc * 8 + 4)
    switch (code) {
      case 0x20: assert.ok(k % 4 === 0 && k < 64); acc = data.readUInt32LE(k); break
      case 0x54: acc = (acc & k) >>> 0; break
      case 0x05: pc += k; break
      case 0x15: pc += acc === k ? jt : jf; break
      case 0x25: pc += acc > k ? jt : jf; break
      case 0x35: pc += acc >= k ? jt : jf; break
      case 0x06: return k
      default: assert.unreachable(`opcode ${code.toString(16)}`)
    }
  }
}

/** The profile's meaning for one call, straight from the rules: the first whose arguments match. */
function reference(p: SeccompProfile, caps: string[], abi: keyof typeof SYSCALL_TABLES, nr: number, args: bigint[]): number {
  const action = (a: string, e?: number): number => a === 'SCMP_ACT_ALLOW' ? ALLOW : a === 'SCMP_ACT_KILL_PROCESS' ? KILL_PROCESS : a === 'SCMP_ACT_LOG' ? 0x7ffc0000 : errno(e ?? 1)
  const deflt = action(p.defaultAction, p.defaultErrnoRet)
  const name = SYSCALL_TABLES[abi].split(' ')[nr - (abi === 'x32' ? 0x40000000 : 0)]
  if (name === undefined || name === '-') return deflt === ALLOW ? ALLOW : errno(38)
  const wide = abi === 'x86_64'
  const word = (v: bigint) => wide ? v : v & 0xffffffffn
  const matches = (a: SeccompArg): boolean => {
    const x = word(args[a.index] ?? 0n), v = word(BigInt(a.value)), two = word(BigInt(a.valueTwo ?? 0))
    switch (a.op) {
      case 'SCMP_CMP_EQ': return x === v
      case 'SCMP_CMP_NE': return x !== v
      case 'SCMP_CMP_LT': return x < v
      case 'SCMP_CMP_LE': return x <= v
      case 'SCMP_CMP_GT': return x > v
      case 'SCMP_CMP_GE': return x >= v
      default: return (x & v) === two
    }
  }
  for (const r of p.syscalls ?? []) {
    if (!(r.names ?? []).includes(name)) continue
    if ((r.includes?.caps ?? []).some((c) => !caps.includes(c)) || (r.excludes?.caps ?? []).some((c) => caps.includes(c))) continue
    if (r.includes?.arches?.length && !r.includes.arches.includes('amd64')) continue
    if (r.excludes?.arches?.includes('amd64')) continue
    if ((r.args ?? []).every(matches)) return action(r.action, r.errnoRet)
  }
  return deflt
}

const nrOf = (abi: keyof typeof SYSCALL_TABLES, name: string): number => SYSCALL_TABLES[abi].split(' ').indexOf(name) + (abi === 'x32' ? 0x40000000 : 0)

t("the default profile: Docker's policy for the calls people ask about", () => {
  const { program } = compileSeccomp(DEFAULT, target())
  const x = (name: string, args: bigint[] = []) => run(program, X86_64, nrOf('x86_64', name), args)
  for (const ok of ['read', 'getpid', 'execve', 'newfstatat', 'ptrace', 'chroot', 'fork', 'arch_prctl']) assert.is(x(ok), ALLOW, ok)
  for (const no of ['keyctl', 'add_key', 'request_key', 'mount', 'umount2', 'kexec_load', 'open_by_handle_at', 'bpf', 'perf_event_open', 'userfaultfd', 'io_uring_setup', 'unshare', 'setns', 'reboot', 'init_module', 'swapon']) assert.is(x(no), errno(1), no)
  assert.is(x('clone3'), errno(38))
  assert.is(x('personality', [0x8n]), ALLOW)
  assert.is(x('personality', [0xffffffffn]), ALLOW)
  assert.is(x('personality', [0x0400000n]), errno(1), 'READ_IMPLIES_EXEC')
  assert.is(x('personality', [0x100000008n]), errno(1), 'high bits count')
  assert.is(x('clone', [0x11n]), ALLOW, 'fork-like clone')
  assert.is(x('clone', [0x10000000n | 0x11n]), errno(1), 'CLONE_NEWUSER')
  assert.is(x('socket', [2n, 1n, 0n]), ALLOW)
  assert.is(x('socket', [40n, 1n, 0n]), errno(97), 'AF_VSOCK')
  assert.is(run(program, X86_64, 457), errno(38), 'newer than the table: ENOSYS')
  assert.is(run(program, X86_64, 400), errno(38), 'a hole in the table')
  // the other ABIs of x86-64
  assert.is(run(program, I386, nrOf('i386', 'getpid')), ALLOW)
  assert.is(run(program, I386, nrOf('i386', 'keyctl')), errno(1))
  assert.is(run(program, I386, nrOf('i386', 'socketcall')), ALLOW)
  assert.is(run(program, X86_64, nrOf('x32', 'getpid')), ALLOW)
  assert.is(run(program, X86_64, nrOf('x32', 'keyctl')), errno(1))
  assert.is(run(program, AARCH64, 172), KILL_PROCESS, 'an arch the profile does not name here')
})

t('capabilities open what they gate, as in Docker', () => {
  const { program } = compileSeccomp(DEFAULT, target([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE']))
  const x = (name: string, args: bigint[] = []) => run(program, X86_64, nrOf('x86_64', name), args)
  for (const ok of ['mount', 'umount2', 'unshare', 'setns', 'bpf', 'perf_event_open', 'clone3', 'kcmp']) assert.is(x(ok), ALLOW, ok)
  assert.is(x('clone', [0x10000000n | 0x11n]), ALLOW)
  const none = compileSeccomp(DEFAULT, target([])).program
  assert.is(run(none, X86_64, nrOf('x86_64', 'chroot')), errno(1), 'chroot without CAP_SYS_CHROOT')
})

t('refusals: what a profile cannot ask is an error, never ignored', () => {
  assert.throws(() => compileSeccomp({} as SeccompProfile, target()), /no defaultAction/)
  assert.throws(() => compileSeccomp({ defaultAction: 'SCMP_ACT_NOPE' }, target()), /unknown action/)
  assert.throws(() => compileSeccomp({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_NOTIFY' }] }, target()), /listener/)
  assert.throws(() => compileSeccomp({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 7, value: 1, op: 'SCMP_CMP_EQ' }] }] }, target()), /argument index 7/)
  assert.throws(() => compileSeccomp({ defaultAction: 'SCMP_ACT_ERRNO', flags: ['SECCOMP_FILTER_FLAG_TSYNC'] }, target()), /flag/)
  assert.throws(() => compileSeccomp(DEFAULT, { ...target(), arch: 'riscv64' }), /no syscall table for riscv64/)
})

// A small deterministic generator: the same cases every run, many of them.
function rng(seed: number): () => number {
  return () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32)
}

const programs = createHash('sha256')

t('property: random profiles and calls mean the same compiled as read', () => {
  const r = rng(24)
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!
  const names = SYSCALL_TABLES.x86_64.split(' ').filter((n) => n !== '-')
  const ops = ['SCMP_CMP_EQ', 'SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_GT', 'SCMP_CMP_GE', 'SCMP_CMP_MASKED_EQ']
  const values = [0, 1, 2, 7, 0xff, 0xffffffff, 2 ** 32, 2 ** 32 + 5, 2 ** 40, 2 ** 53 - 1]
  const bigs = [0n, 1n, 2n, 6n, 7n, 8n, 0xffn, 0xfffffffen, 0xffffffffn, 2n ** 32n, 2n ** 32n + 5n, 2n ** 40n, 2n ** 64n - 1n]
  for (let round = 0; round < 60; round++) {
    const used = Array.from({ length: 1 + Math.floor(r() * 6) }, () => pick(names))
    const syscalls: SeccompRule[] = Array.from({ length: 1 + Math.floor(r() * 12) }, () => ({
      names: [pick(used), ...(r() < 0.3 ? [pick(used)] : [])],
      action: pick(['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL_PROCESS']),
      errnoRet: 1 + Math.floor(r() * 100),
      args: r() < 0.3 ? [] : Array.from({ length: 1 + Math.floor(r() * 3) }, () => ({ index: Math.floor(r() * 6), value: pick(values), valueTwo: pick(values), op: pick(ops) })),
      ...(r() < 0.2 ? { includes: { caps: ['CAP_SYS_ADMIN'] } } : r() < 0.2 ? { excludes: { caps: ['CAP_KILL'] } } : {}),
    }))
    const profile: SeccompProfile = { defaultAction: pick(['SCMP_ACT_ERRNO', 'SCMP_ACT_ALLOW']), defaultErrnoRet: 1, archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] }], syscalls }
    const caps = r() < 0.5 ? ['CAP_KILL'] : ['CAP_SYS_ADMIN']
    const { program } = compileSeccomp(profile, target(caps))
    programs.update(program)
    for (let call = 0; call < 40; call++) {
      const abi = pick(['x86_64', 'x86_64', 'i386', 'x32'] as const)
      const name = r() < 0.8 ? pick(used) : pick(names)
      const known = SYSCALL_TABLES[abi].split(' ').includes(name)
      const nr = known ? nrOf(abi, name) : (abi === 'x32' ? 0x40000000 : 0) + 1000
      const args = Array.from({ length: 6 }, () => pick(bigs))
      const got = run(program, abi === 'i386' ? I386 : X86_64, nr, abi === 'x86_64' ? args : args.map((a) => a & 0xffffffffn))
      assert.is(got, reference(profile, caps, abi, nr, args), `round ${round} ${abi} ${name}(${args.join(', ')})`)
    }
  }
})

// Compiled programs are cached by SECCOMP_COMPILER (not by the compiler's code nor the default
// profile's text): a change to either must bump it, or users run stale programs.
const PINNED = {
  compiler: 2,
  profile: 'a5472d96421f9a48cdf84b66d2435a7d85c407009d8a12dfe979f623e3b91635',
  programs: '9063d0a6e5490063804d74a9ce5f674688d76df69e10295a21b02d70413004d2',
}

t('a change of the compiled programs or of the default profile bumps SECCOMP_COMPILER', () => {
  for (const caps of [DEFAULT_CAPABILITIES, ['CAP_SYS_ADMIN'], []]) programs.update(compileSeccomp(DEFAULT, target(caps)).program)
  const now = { compiler: SECCOMP_COMPILER, profile: createHash('sha256').update(readFileSync(join(repoRoot, 'core/launch/seccomp-default.json'))).digest('hex'), programs: programs.digest('hex') }
  assert.equal(now, PINNED, 'bump SECCOMP_COMPILER in core/launch/seccomp-program.ts and record the new digests in PINNED')
})

t.run()

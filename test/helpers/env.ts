// Helpers for integration tests: requirements that skip (or fail under SKIFF_TESTS_MUST_RUN=1),
// the built dist/skiff run in a clean environment with storage of its own, temp dirs, and a pty
// driver for `-it`. Does I/O.
//
//   import { suite } from 'uvu'
//   import { need, probe, useSandbox, busyboxArchive } from './helpers/env.js'
//
//   const t = suite('run')
//   const sb = useSandbox(t)                       // fresh SKIFF_ROOT, RUNROOT, cache, HOME per test
//   t('pid 1 inside', () => {
//     if (!need('pid 1 inside', probe.skiff(), probe.rootless())) return   // prints SKIP …, or throws in CI
//     sb.run(['load', '-i', busyboxArchive()])
//     const r = sb.run(['run', '--rm', 'busybox', 'sh', '-c', 'echo $$'])
//     assert.is(r.stdout, '1\n')
//   })
//
// A test that returns right after a false requireEnv()/need() counts as skipped: the line it
// writes to $SKIFF_TEST_REPORT tells test/uvu.mjs so. Call them at the top of the test, before
// anything can fail.
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process'
import { accessSync, appendFileSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join, resolve } from 'node:path'
import type { Test } from 'uvu'
import { buildImage } from '../fixtures/image.js'

/** SKIFF_TESTS_MUST_RUN=1 (CI, and `npm test` as root): a missing requirement is a failure. */
export const mustRun = process.env.SKIFF_TESTS_MUST_RUN === '1'

/** The repository: test/uvu.mjs sets SKIFF_REPO; otherwise the working directory. */
export const repoRoot = resolve(process.env.SKIFF_REPO || process.cwd())

/** The executable under test: $SKIFF_BIN, else dist/skiff in the repository. */
export const skiffBin = resolve(process.env.SKIFF_BIN || join(repoRoot, 'dist', 'skiff'))

export interface Check {
  ok: boolean
  /** why it is not ok, with the fix: "newuidmap is missing: apt-get install uidmap" */
  reason: string
}

/**
 * Whether a requirement of test `what` holds. When it does not: under SKIFF_TESTS_MUST_RUN=1 it
 * throws (the test fails); otherwise it prints `SKIP <what>: <reason>`, records the skip for the
 * runner and returns false — the caller returns at once.
 */
export function requireEnv(what: string, ok: boolean, reason: string): boolean {
  if (ok) return true
  if (mustRun) throw new Error(`${what}: ${reason} (a skip is a failure with SKIFF_TESTS_MUST_RUN=1)`)
  process.stdout.write(`SKIP ${what}: ${reason}\n`)
  const report = process.env.SKIFF_TEST_REPORT
  if (report) appendFileSync(report, `${process.env.SKIFF_TEST_FILE ?? ''}\t${what}\t${reason.replace(/\s+/g, ' ')}\n`)
  return false
}

/** requireEnv for several checks at once: the first failing one gives the reason. */
export function need(what: string, ...checks: Check[]): boolean {
  const bad = checks.find((c) => !c.ok)
  return bad ? requireEnv(what, false, bad.reason) : true
}

/**
 * Registers a test only when the checks hold: `testIf(t, 'pty', probe.python())('pty', fn)`.
 * Missing → uvu's own skip (printed as SKIP), or under SKIFF_TESTS_MUST_RUN=1 a test that fails.
 */
export function testIf<T>(t: Test<T>, what: string, ...checks: Check[]): (name: string, fn: Parameters<Test<T>>[1]) => void {
  const bad = checks.find((c) => !c.ok)
  if (!bad) return (name, fn) => t(name, fn)
  if (mustRun) {
    return (name) =>
      t(name, () => {
        throw new Error(`${what}: ${bad.reason} (a skip is a failure with SKIFF_TESTS_MUST_RUN=1)`)
      })
  }
  return (name) => {
    process.stdout.write(`SKIP ${name}: ${bad.reason}\n`)
    t.skip(name)
  }
}

// ---------------------------------------------------------------------------------------------
// Probes of this machine, each computed once per process.

function once(f: () => Check): () => Check {
  let v: Check | undefined
  return () => (v ??= f())
}

function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH || '/usr/local/bin:/usr/bin:/bin').split(':')) {
    const p = join(dir || '.', cmd)
    try {
      accessSync(p, constants.X_OK)
      if (statSync(p).isFile()) return p
    } catch {}
  }
  return undefined
}

function subidEntry(file: string, user: string, uid: number): boolean {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .some((l) => {
        const [name, , count] = l.split(':')
        return (name === user || name === String(uid)) && Number(count) > 0
      })
  } catch {
    return false
  }
}

const uid = process.getuid?.() ?? 0
const userName = (() => {
  try {
    return userInfo().username
  } catch {
    return process.env.USER || String(uid)
  }
})()

export const probe: Record<'skiff' | 'unprivileged' | 'userns' | 'subids' | 'rootless' | 'busybox' | 'python', () => Check> & {
  command(cmd: string, pkg?: string): Check
  device(path: string): Check
} = {
  /** dist/skiff (or $SKIFF_BIN) exists and is executable. */
  skiff: once(() => {
    try {
      accessSync(skiffBin, constants.X_OK)
      return { ok: true, reason: '' }
    } catch {
      return { ok: false, reason: `${skiffBin} is missing: run \`npm run build\` (or set SKIFF_BIN)` }
    }
  }),
  /** Not root: rootless behaviour tested as root proves nothing. */
  unprivileged: once(() =>
    uid === 0
      ? { ok: false, reason: 'running as root; rootless tests run as an ordinary user (as root, `npm test` runs them as skiff-test)' }
      : { ok: true, reason: '' },
  ),
  /** An unprivileged user namespace can be made here. */
  userns: once(() => {
    const r = spawnSync('unshare', ['--user', '--map-root-user', 'true'], { encoding: 'utf8', timeout: 10_000 })
    if (r.status === 0) return { ok: true, reason: '' }
    const why = (r.error?.message || r.stderr || '').trim()
    return {
      ok: false,
      reason: `cannot create a user namespace (${why || `status ${r.status}`}): enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces>0)`,
    }
  }),
  /** newuidmap/newgidmap and a subordinate range for this user (multi-id mapping). */
  subids: once(() => {
    for (const tool of ['newuidmap', 'newgidmap']) {
      const p = which(tool) ?? ['/usr/bin', '/usr/sbin', '/bin', '/sbin'].map((d) => join(d, tool)).find((p) => existsSync(p))
      if (!p) return { ok: false, reason: `${tool} is missing: apt-get install uidmap` }
    }
    for (const f of ['/etc/subuid', '/etc/subgid']) {
      if (!subidEntry(f, userName, uid)) return { ok: false, reason: `no range for ${userName} in ${f}: as root, usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${userName} (a range no other user has; test/setup-host.sh --user ${userName} picks one)` }
    }
    return { ok: true, reason: '' }
  }),
  /** Unprivileged, with user namespaces and subordinate ranges: the full rootless set-up. */
  rootless: once((): Check => [probe.unprivileged(), probe.userns(), probe.subids()].find((c) => !c.ok) ?? { ok: true, reason: '' }),
  /** /bin/busybox from Debian's busybox-static, for fixture images. */
  busybox: once(() =>
    existsSync('/bin/busybox') ? { ok: true, reason: '' } : { ok: false, reason: '/bin/busybox is missing: apt-get install busybox-static' },
  ),
  /** python3, for the pty driver. */
  python: once(() => (which('python3') ? { ok: true, reason: '' } : { ok: false, reason: 'python3 is missing (the pty driver needs it): apt-get install python3' })),
  /** A command on PATH. */
  command: (cmd: string, pkg = cmd): Check =>
    which(cmd) ? { ok: true, reason: '' } : { ok: false, reason: `${cmd} is missing: apt-get install ${pkg}` },
  /** A device node usable by this user (/dev/fuse, /dev/net/tun). */
  device: (path: string): Check => {
    try {
      accessSync(path, constants.R_OK | constants.W_OK)
      return { ok: true, reason: '' }
    } catch {
      return { ok: false, reason: `${path} is not usable by ${userName}: chmod 0666 ${path} (as root; test/setup-host.sh does it)` }
    }
  },
}

// ---------------------------------------------------------------------------------------------
// Temp dirs. Removed when the process exits unless SKIFF_TEST_KEEP=1.

const made: string[] = []
let exitHook = false

/** A new directory under $TMPDIR, removed at exit. */
export function tempDir(prefix = 'skiff-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  made.push(dir)
  if (!exitHook) {
    exitHook = true
    process.on('exit', () => {
      for (const d of made.splice(0)) removeTree(d)
    })
  }
  return dir
}

/**
 * rm -rf that also removes files owned by subordinate ids (an unpacked image): those are not
 * ours outside the user namespace, so the second try runs rm inside one where they are mapped
 * (root → us, 1..N → our ranges, through newuidmap/newgidmap, as `podman unshare` does).
 */
export function removeTree(dir: string): void {
  if (process.env.SKIFF_TEST_KEEP === '1') {
    process.stderr.write(`SKIFF_TEST_KEEP: leaving ${dir}\n`)
    return
  }
  try {
    rmSync(dir, { recursive: true, force: true })
    return
  } catch {}
  // util-linux >= 2.38: --map-auto maps our first subordinate ranges through newuidmap/newgidmap.
  spawnSync('unshare', ['--map-root-user', '--map-auto', 'rm', '-rf', '--', dir], { stdio: 'ignore', timeout: 60_000 })
  try {
    rmSync(dir, { recursive: true, force: true })
  } catch (err) {
    process.stderr.write(`warning: could not remove ${dir}: ${(err as Error).message}\n`)
  }
}

// ---------------------------------------------------------------------------------------------
// Running dist/skiff.

export interface SkiffResult {
  status: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** for assertion messages: the command line and what it printed */
  describe(): string
}

export interface RunOptions {
  /** written to stdin (default: stdin is /dev/null) */
  input?: string | Buffer
  /** added to the clean environment; undefined removes a variable */
  env?: Record<string, string | undefined>
  cwd?: string
  /** milliseconds before SIGKILL (default 60 s) */
  timeout?: number
  /** whose storage to use (default: the current test's, see useSandbox) */
  sandbox?: Sandbox
}

/** One isolated skiff installation: storage, runtime state, cache and HOME in fresh temp dirs. */
export class Sandbox {
  readonly dir: string
  readonly root: string
  readonly runroot: string
  readonly cache: string
  readonly home: string
  readonly tmp: string

  constructor() {
    this.dir = tempDir('skiff-sandbox-')
    this.root = join(this.dir, 'root')
    this.runroot = join(this.dir, 'run')
    this.cache = join(this.dir, 'cache')
    this.home = join(this.dir, 'home')
    this.tmp = join(this.dir, 'tmp')
    for (const d of [this.root, this.runroot, this.cache, this.home, this.tmp]) mkdirSync(d, { mode: 0o700 })
  }

  /**
   * The environment skiff sees: nothing inherited but PATH, the user's identity, locale, TERM and
   * XDG_RUNTIME_DIR (and SKIFF_DEBUG/SKIFF_SHIM for debugging). NODE_EXTRA_CA_CERTS and
   * NODE_OPTIONS are dropped: they slow every start or change how Node behaves.
   */
  env(extra: Record<string, string | undefined> = {}): Record<string, string> {
    const env: Record<string, string | undefined> = {
      PATH: process.env.PATH || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: this.home,
      USER: userName,
      LOGNAME: userName,
      LANG: process.env.LANG || 'C.UTF-8',
      TERM: process.env.TERM,
      TMPDIR: this.tmp,
      XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR,
      XDG_CACHE_HOME: this.cache,
      XDG_CONFIG_HOME: join(this.home, '.config'),
      XDG_DATA_HOME: join(this.home, '.local', 'share'),
      SKIFF_ROOT: this.root,
      SKIFF_RUNROOT: this.runroot,
      SKIFF_DEBUG: process.env.SKIFF_DEBUG,
      SKIFF_SHIM: process.env.SKIFF_SHIM,
      ...extra,
    }
    const out: Record<string, string> = {}
    for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v
    return out
  }

  /** Runs `skiff ARGS` to completion. */
  run(args: string[], opts: Omit<RunOptions, 'sandbox'> = {}): SkiffResult {
    const r: SpawnSyncReturns<string> = spawnSync(skiffBin, args, {
      env: this.env(opts.env),
      cwd: opts.cwd ?? this.home,
      input: opts.input ?? '',
      encoding: 'utf8',
      timeout: opts.timeout ?? 60_000,
      killSignal: 'SIGKILL',
      maxBuffer: 64 << 20,
    })
    if (r.error && (r.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') throw r.error
    return result(args, r.status, r.signal, r.stdout ?? '', r.stderr ?? '')
  }

  /** Starts `skiff ARGS` (for signals and stdin streaming); `done` resolves when it exits. */
  start(args: string[], opts: Omit<RunOptions, 'sandbox' | 'input'> = {}): { child: ChildProcess; done: Promise<SkiffResult> } {
    const child = spawn(skiffBin, args, { env: this.env(opts.env), cwd: opts.cwd ?? this.home, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s))
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s))
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeout ?? 60_000)
    const done = new Promise<SkiffResult>((resolveDone, reject) => {
      child.on('error', reject)
      child.on('close', (status, signal) => {
        clearTimeout(timer)
        resolveDone(result(args, status, signal, stdout, stderr))
      })
    })
    return { child, done }
  }

  /** Runs `skiff ARGS` on a pseudo-terminal, driven by `steps` (see test/helpers/pty-drive.py). */
  pty(args: string[], steps: PtyStep[], opts: PtyOptions = {}): Promise<PtyResult> {
    return ptyRun([skiffBin, ...args], steps, { ...opts, env: this.env({ TERM: 'xterm', ...opts.env }), cwd: opts.cwd ?? this.home })
  }

  /** Removes everything, including files owned by subordinate ids, and containers left running. */
  cleanup(): void {
    if (existsSync(join(this.root, 'containers')) && readdirSync(join(this.root, 'containers')).length) {
      const ids = this.run(['ps', '-aq'], { timeout: 20_000 }).stdout.split('\n').filter(Boolean)
      if (ids.length) this.run(['rm', '-f', ...ids], { timeout: 30_000 })
    }
    removeTree(this.dir)
    const i = made.indexOf(this.dir)
    if (i >= 0) made.splice(i, 1)
  }
}

function result(args: string[], status: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string): SkiffResult {
  return {
    status,
    signal,
    stdout,
    stderr,
    describe: () =>
      `skiff ${args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(' ')} → ` +
      `${signal ? `signal ${signal}` : `status ${status}`}\n--- stdout\n${stdout}--- stderr\n${stderr}---`,
  }
}

let current: Sandbox | undefined
let fileSandbox: Sandbox | undefined

/**
 * A fresh Sandbox for every test of suite `t` (made before each test, removed after it). The
 * returned object always points at the running test's sandbox; runSkiff() uses it by default.
 */
export function useSandbox<T>(t: Test<T>): Sandbox {
  let mine: Sandbox | undefined
  t.before.each(() => {
    mine = current = new Sandbox()
  })
  t.after.each(() => {
    mine?.cleanup()
    if (current === mine) current = undefined
    mine = undefined
  })
  return new Proxy({} as Sandbox, {
    get(_, key) {
      if (!mine) throw new Error('useSandbox: the sandbox exists only while a test of its suite runs')
      const v = Reflect.get(mine, key, mine)
      return typeof v === 'function' ? v.bind(mine) : v
    },
  })
}

/**
 * `skiff ARGS` with a clean environment, in opts.sandbox, else the running test's (useSandbox),
 * else one sandbox shared by the whole file.
 */
export function runSkiff(args: string[], opts: RunOptions = {}): SkiffResult {
  const sb = opts.sandbox ?? current ?? (fileSandbox ??= new Sandbox())
  return sb.run(args, opts)
}

// ---------------------------------------------------------------------------------------------
// Images.

const archives = new Map<string, string>()

/**
 * The default busybox test image (test/fixtures/image.ts) as an archive, built once per process:
 * format 'docker' (docker save), 'oci-archive' or 'oci-dir'. Tagged busybox:latest.
 */
export function busyboxArchive(format: 'docker' | 'oci-archive' | 'oci-dir' = 'docker'): string {
  let p = archives.get(format)
  if (!p) {
    const ext = format === 'oci-dir' ? '' : '.tar'
    p = buildImage({ format, out: join(tempDir('skiff-image-'), `busybox-${format}${ext}`) })
    archives.set(format, p)
  }
  return p
}

// ---------------------------------------------------------------------------------------------
// Pseudo-terminals: a `-it` session driven by a script, through test/helpers/pty-drive.py.

export type PtyStep =
  | { expect: string | RegExp; timeout?: number }
  | { send: string; delay?: number }
  | { sleep: number }
  | { resize: [rows: number, cols: number] }
  | { signal: string }
  | { eof: true; delay?: number }

export interface PtyOptions {
  env?: Record<string, string | undefined>
  cwd?: string
  rows?: number
  cols?: number
  /** seconds for the whole session (default 30) */
  timeout?: number
}

export interface PtyResult {
  status: number | null
  /** e.g. 'SIGKILL' */
  signal: string | null
  timedOut: boolean
  /** the first expect that failed, with the output it saw */
  error: string | null
  /** everything written to the terminal, CRLF as the terminal sent it */
  output: string
  raw: Buffer
}

export const ptyDriver = join(repoRoot, 'test', 'helpers', 'pty-drive.py')

/** Runs argv on a new pty (the session leader, as in a terminal emulator), driven by steps. */
export function ptyRun(argv: string[], steps: PtyStep[], opts: PtyOptions = {}): Promise<PtyResult> {
  const script = steps.map((s) => ('expect' in s && s.expect instanceof RegExp ? { ...s, expect: s.expect.source, regex: true } : s))
  const timeout = opts.timeout ?? 30
  const args = [ptyDriver, '--rows', String(opts.rows ?? 24), '--cols', String(opts.cols ?? 80), '--timeout', String(timeout), '--', ...argv]
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(opts.env ?? process.env)) if (v !== undefined) env[k] = v
  return new Promise((resolveRun, reject) => {
    const child = spawn('python3', args, { env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s))
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s))
    const timer = setTimeout(() => child.kill('SIGKILL'), (timeout + 10) * 1000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      try {
        const r = JSON.parse(out) as Omit<PtyResult, 'output' | 'raw'> & { output_b64: string }
        const raw = Buffer.from(r.output_b64, 'base64')
        resolveRun({ status: r.status, signal: r.signal, timedOut: r.timedOut, error: r.error, raw, output: raw.toString('utf8') })
      } catch {
        reject(new Error(`pty-drive.py failed (status ${code}): ${err || out}`))
      }
    })
    child.stdin.end(JSON.stringify(script))
  })
}

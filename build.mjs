// npm run build: bundle the TypeScript, compile the shim, and produce dist/skiff, one executable.
//
//   cmd/main.ts ──esbuild──▶ dist/skiff.cjs ─────────┐
//   cmd/sea-main.ts ──esbuild──▶ dist/skiff-main.cjs ─┤ (the entry: compiles skiff.cjs with its code cache)
//   shims/*.c ──cc -static──▶ dist/skiff-shim ───────┤
//   shims/addon/spawn.c ──cc -shared──▶ dist/skiff-spawn.node ┴─▶ Node SEA (from the local node) ──▶ dist/skiff
//
// The SEA is made with @yao-pkg/pkg's sea() from the node that runs this script, so nothing is
// downloaded. pkg injects the blob with `npx postject` and swallows a failure of that step,
// leaving a plain copy of node behind, so the last step checks that dist/skiff really is skiff.
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = dirname(fileURLToPath(import.meta.url))
const dist = join(root, 'dist')
const require = createRequire(import.meta.url)
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const args = new Set(process.argv.slice(2))
const quiet = args.has('--quiet')

function step(what) {
  if (!quiet) process.stdout.write(`build: ${what}\n`)
}

function gitDescribe() {
  try {
    return execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return ''
  }
}

function compileShim() {
  const sources = readdirSync(join(root, 'shims')).filter((f) => f.endsWith('.c')).map((f) => join(root, 'shims', f))
  const out = join(dist, 'skiff-shim')
  const cc = process.env.CC || 'cc'
  step(`compile shim (${cc} -static, ${sources.length} files)`)
  execFileSync(cc, ['-static', '-O2', '-Wall', '-Wextra', '-Werror', '-D_GNU_SOURCE', '-o', out, ...sources], { stdio: 'inherit' })
  return out
}

/**
 * The spawn addon (shims/addon/spawn.c: the shim started by posix_spawn instead of Node's fork),
 * against the headers of the node that builds, which is the node the executable is made of.
 */
function compileSpawnAddon() {
  const out = join(dist, 'skiff-spawn.node')
  // npm's nodedir (as node-gyp takes it), then beside this node, then the usual places
  const nodedir = process.env.npm_config_nodedir
  const candidates = [...(nodedir ? [join(nodedir, 'include', 'node')] : []), join(dirname(dirname(process.execPath)), 'include', 'node'), '/usr/include/node', '/usr/local/include/node']
  const include = candidates.find((d) => existsSync(join(d, 'node_api.h')))
  if (!include) {
    throw new Error(`build: node_api.h not found (looked in ${candidates.join(', ')}): install Node's headers (Debian's nodejs package has them; else the headers tarball of node ${process.version})`)
  }
  const cc = process.env.CC || 'cc'
  step(`compile spawn addon (${cc} -shared, headers ${include})`)
  execFileSync(cc, ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-Werror', '-pthread', '-I', include, '-o', out, join(root, 'shims', 'addon', 'spawn.c')], { stdio: 'inherit' })
  return out
}

async function bundle(shimDigest, spawnDigest) {
  const esbuild = await import('esbuild')
  const commit = gitDescribe()
  step('bundle TypeScript (esbuild)')
  await esbuild.build({
    entryPoints: [join(root, 'cmd', 'main.ts')],
    outfile: join(dist, 'skiff.cjs'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // Without whitespace (498 → 390 KB): ~5 ms off every start here, as V8 scans a function's
    // text again when it first compiles it. Names are kept, so stack traces stay readable.
    minifySyntax: true,
    minifyWhitespace: true,
    legalComments: 'none',
    logLevel: 'warning',
    // an asset of its own (yamlBundle), compiled only where a CDI spec is YAML
    external: ['yaml'],
    define: {
      SKIFF_VERSION: JSON.stringify(commit ? `${pkg.version}+${commit}` : pkg.version),
      SKIFF_SHIM_SHA256: JSON.stringify(shimDigest),
      SKIFF_SPAWN_SHA256: JSON.stringify(spawnDigest),
    },
  })
  // A single executable can require() only Node's builtins and cannot import() anything: a
  // dynamic import left in the bundle fails at run time (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING).
  const code = readFileSync(join(dist, 'skiff.cjs'), 'utf8')
  // the executable's entry reads the bundle as Latin-1, which is the same text only for ASCII
  const wide = /[^\x00-\x7f]/.exec(code)
  if (wide) throw new Error(`build: the bundle is not ASCII (${JSON.stringify(code.slice(wide.index - 20, wide.index + 20))}): esbuild's charset must stay ascii`)
  const dynamic = /\bimport\(\s*["'`]/.exec(code)
  if (dynamic) throw new Error(`build: the bundle keeps a dynamic import (${code.slice(dynamic.index, dynamic.index + 40)}): import builtins statically`)
  return join(dist, 'skiff.cjs')
}

/** The yaml package as one CommonJS file, the executable's `yaml` asset (core/launch/cdi.ts yamlParse). */
async function yamlBundle() {
  const esbuild = await import('esbuild')
  const out = join(dist, 'yaml.cjs')
  await esbuild.build({
    entryPoints: [join(root, 'node_modules', 'yaml', 'dist', 'index.js')],
    outfile: out,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minifyWhitespace: true,
    legalComments: 'none',
    logLevel: 'warning',
  })
  return out
}

/**
 * The executable's entry (cmd/sea-main.ts): it compiles the bundle, an asset, with the V8 code
 * cache skiff keeps per verb, named by `codeDigest` so that no other build's is taken.
 */
async function bundleEntry(codeDigest) {
  const esbuild = await import('esbuild')
  const out = join(dist, 'skiff-main.cjs')
  await esbuild.build({
    entryPoints: [join(root, 'cmd', 'sea-main.ts')],
    outfile: out,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minifyWhitespace: true,
    legalComments: 'none',
    logLevel: 'warning',
    define: { SKIFF_BUNDLE_SHA256: JSON.stringify(codeDigest) },
  })
  return out
}

/**
 * V8's code cache of the bundle's top level, made by this node (the executable's): what serves
 * until skiff has saved one for the verb (cmd/sea-main.ts compiles the same text).
 */
function bundleCodeCache(bundlePath) {
  const out = `${bundlePath}.cache`
  const script = [
    "const { readFileSync, writeFileSync } = require('node:fs')",
    "const { Script } = require('node:vm')",
    'const [bundle, out] = process.argv.slice(1)',
    "const source = readFileSync(bundle, 'utf8')",
    "const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\\n})`, { filename: 'skiff.cjs' })",
    'writeFileSync(out, script.createCachedData())',
  ].join('\n')
  execFileSync(process.execPath, ['-e', script, bundlePath, out], { env: { PATH: process.env.PATH } })
  return out
}

async function makeExecutable(entryPath, bundlePath, shimPath, spawnPath) {
  step('make the single executable (Node SEA from the local node)')
  const { default: sea } = require('@yao-pkg/pkg/lib-es5/sea.js')
  const out = join(dist, 'skiff')
  const tmpOut = join(dist, `.skiff.${process.pid}`)
  rmSync(tmpOut, { force: true })
  // pkg runs `npx postject`: let npx find our devDependency and never stop to ask.
  process.env.PATH = `${join(root, 'node_modules', '.bin')}:${process.env.PATH}`
  process.env.npm_config_yes = 'true'
  await sea(entryPath, {
    ...localNode(),
    targets: [{ nodeRange: `node${process.versions.node.split('.')[0]}`, platform: 'linux', arch: process.arch, output: tmpOut }],
    seaConfig: { disableExperimentalSEAWarning: true, useCodeCache: true, useSnapshot: false, assets: { bundle: bundlePath, 'bundle-cache': bundleCodeCache(bundlePath), shim: shimPath, spawn: spawnPath, yaml: await yamlBundle() } },
  })
  rmSync(join(dist, '.node-stripped'), { force: true })
  chmodSync(tmpOut, 0o755)
  verify(tmpOut)
  renameSync(tmpOut, out)
  return out
}

/**
 * The node to build from: a copy of this one, never downloaded, with Node's own --env-file turned
 * off (below) and its debug symbols stripped when `strip` exists (Debian's node carries them:
 * 99 MB → 86 MB).
 */
function localNode() {
  const copy = join(dist, '.node-stripped')
  try {
    execFileSync('cp', [process.execPath, copy])
  } catch {
    rmSync(copy, { force: true })
    step('warning: cannot copy node: building from it as it is (Node will read `--env-file FILE` itself)')
    return { useLocalNode: true }
  }
  try {
    disableNodeEnvFile(copy)
  } catch (err) {
    step(`warning: ${err.message}: \`skiff run --env-file FILE\` will be read by Node itself first`)
  }
  try {
    execFileSync('strip', ['--strip-all', copy], { stdio: 'ignore' })
  } catch {}
  execFileSync(copy, ['-e', '0'])
  return { nodePath: copy }
}

/**
 * Node 20 reads `--env-file FILE` from the whole command line before any JavaScript runs, even in
 * a single executable whose arguments are the application's: `skiff run --env-file F` had Node
 * load F into skiff's own environment, exit 9 on a missing F, and hang on /dev/zero or a FIFO,
 * before skiff could say a word (issue 19). Later Node versions stop at the application's
 * arguments; for Node 20 the copy's Dotenv::GetDataFromArgs is made to return no file (x86-64:
 * the empty vector written to the return slot, then ret). The symbol and the ELF's program
 * headers give the place; a node without them (stripped) is left alone, with a warning.
 */
function disableNodeEnvFile(nodePath) {
  if (process.arch !== 'x64') throw new Error(`Node's --env-file is left on for ${process.arch} (the patch is x86-64 code)`)
  const symbols = execFileSync('nm', ['--defined-only', nodePath], { encoding: 'utf8', maxBuffer: 1 << 30 })
  const m = /^([0-9a-f]+) T _ZN4node6Dotenv15GetDataFromArgsE\S*$/m.exec(symbols)
  if (!m) throw new Error('this node has no symbol node::Dotenv::GetDataFromArgs')
  const address = BigInt(`0x${m[1]}`)
  const elf = readFileSync(nodePath)
  const phoff = Number(elf.readBigUInt64LE(0x20))
  const phentsize = elf.readUInt16LE(0x36)
  let offset
  for (let i = 0; i < elf.readUInt16LE(0x38); i++) {
    const h = phoff + i * phentsize
    if (elf.readUInt32LE(h) !== 1) continue // PT_LOAD
    const fileOff = elf.readBigUInt64LE(h + 8)
    const vaddr = elf.readBigUInt64LE(h + 16)
    const filesz = elf.readBigUInt64LE(h + 32)
    if (address >= vaddr && address < vaddr + filesz) offset = Number(address - vaddr + fileOff)
  }
  if (offset === undefined) throw new Error('node::Dotenv::GetDataFromArgs is in no loaded segment')
  // mov rax,rdi; mov qword [rdi],0; mov qword [rdi+8],0; mov qword [rdi+16],0; ret
  const code = Buffer.from('4889f848c7070000000048c747080000000048c7471000000000c3', 'hex')
  const fd = openSync(nodePath, 'r+')
  try {
    writeSync(fd, code, 0, code.length, offset)
  } finally {
    closeSync(fd)
  }
  // Node must run, and no longer see --env-file in argv
  const r = spawnSync(nodePath, ['--env-file', '/nonexistent/skiff-build-check', '-e', 'process.stdout.write("ok")'], { encoding: 'utf8' })
  if (r.stdout !== 'ok') throw new Error(`the patched node does not run as it should: ${r.stderr || r.status}`)
}

/** dist/skiff must be skiff: its --version is ours (a bare node prints vX.Y.Z), its shim is embedded and its spawn addon loads. */
function verify(exe) {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME || tmpdir(), XDG_CACHE_HOME: join(tmpdir(), `skiff-build-${process.pid}`), SKIFF_TRACE: '1' }
  let out, trace
  try {
    const r = spawnSync(exe, ['version'], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] })
    if (r.status !== 0) throw new Error(r.stderr || r.error?.message || `status ${r.status}`)
    out = r.stdout
    trace = r.stderr
  } catch (err) {
    throw new Error(`build: ${exe} does not run as skiff (postject may have failed): ${err.message}`)
  } finally {
    rmSync(env.XDG_CACHE_HOME, { recursive: true, force: true })
  }
  if (!/^skiff version /m.test(out) || !/shim: sha256:[0-9a-f]{64} \(embedded\)/m.test(out) || !/shim started by: posix_spawn/m.test(out)) {
    throw new Error(`build: ${exe} is not a working skiff executable; \`${exe} version\` printed:\n${out}`)
  }
  // the built-in code cache must fit this node and the text the entry compiles, or it is dead weight
  if (!/^skiff trace: code cache built-in: /m.test(trace)) {
    throw new Error(`build: ${exe} did not take its built-in code cache; SKIFF_TRACE=1 \`${exe} version\` printed:\n${trace}`)
  }
  // --env-file is skiff's to read (disableNodeEnvFile), where this node could be patched
  const envFile = spawnSync(exe, ['create', '--env-file', '/nonexistent/skiff-build-check', 'busybox'], { encoding: 'utf8', env: { ...env, SKIFF_TRACE: '' }, stdio: ['ignore', 'pipe', 'pipe'] })
  const envFileOk = /^Error: --env-file \/nonexistent\/skiff-build-check: no such file/.test(envFile.stderr)
  rmSync(env.XDG_CACHE_HOME, { recursive: true, force: true })
  step(`verified: ${out.split('\n')[0]} (${(statSync(exe).size / 1e6).toFixed(1)} MB)${envFileOk ? '' : `; warning: --env-file is read by Node first (${envFile.stderr.trim()})`}`)
}

/**
 * `node build.mjs --syscall-tables`: core/launch/seccomp-syscalls.ts, the syscall numbers the
 * seccomp compiler needs, from this machine's kernel headers (linux-libc-dev): x86-64, i386 and
 * x32 from asm/unistd_{64,32,x32}.h, aarch64 from asm-generic/unistd.h as arm64 configures it.
 * Syscalls added since are numbered alike on every architecture (from 424 on): LATER adds those.
 */
function writeSyscallTables() {
  const LATER = { 451: 'cachestat', 452: 'fchmodat2', 453: 'map_shadow_stack', 454: 'futex_wake', 455: 'futex_wait', 456: 'futex_requeue' }
  const fromDefines = (text) => {
    const defs = new Map([['__X32_SYSCALL_BIT', '0x40000000'], ...[...text.matchAll(/^#define (__NR\w+) (.+)$/gm)].map((m) => [m[1], m[2].trim()])])
    const value = (expr) => {
      const e = expr.replace(/[()]/g, '').trim()
      if (/^(0x[0-9a-f]+|\d+)$/i.test(e)) return Number(e)
      const sum = /^(\w+) \+ (\w+)$/.exec(e)
      if (sum) return value(sum[1]) + value(sum[2])
      return defs.has(e) ? value(defs.get(e)) : NaN
    }
    const out = {}
    for (const [k, v] of defs) if (k.startsWith('__NR_') && k !== '__NR_syscalls') out[k.slice(5)] = value(v)
    return out
  }
  const read = (file) => fromDefines(readFileSync(file, 'utf8'))
  const arm64Defs = execFileSync('cpp', ['-dM', '-D__ARCH_WANT_RENAMEAT', '-D__ARCH_WANT_NEW_STAT', '-D__ARCH_WANT_SET_GET_RLIMIT', '-D__ARCH_WANT_TIME32_SYSCALLS', '-D__ARCH_WANT_SYS_CLONE3', '-D__ARCH_WANT_MEMFD_SECRET', '-'], { input: '#include <asm-generic/unistd.h>\n', encoding: 'utf8' })
  const inc = '/usr/include/x86_64-linux-gnu/asm'
  const tables = { x86_64: read(`${inc}/unistd_64.h`), i386: read(`${inc}/unistd_32.h`), x32: read(`${inc}/unistd_x32.h`), aarch64: fromDefines(arm64Defs) }
  const lines = []
  for (const [arch, table] of Object.entries(tables)) {
    const base = arch === 'x32' ? 0x40000000 : 0
    for (const [nr, name] of Object.entries(LATER)) table[name] ??= base + Number(nr)
    const names = []
    for (const [name, nr] of Object.entries(table)) {
      if (!Number.isInteger(nr)) throw new Error(`--syscall-tables: ${arch} ${name} has no number`)
      names[nr - base] = name
    }
    lines.push(`  ${arch}: '${Array.from(names, (n) => n ?? '-').join(' ')}',`)
  }
  const file = join(root, 'core', 'launch', 'seccomp-syscalls.ts')
  const headers = execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'linux-libc-dev'], { encoding: 'utf8' })
  writeFileSync(file, `// Syscall names by number (the index in each list; '-' is no syscall), for the seccomp compiler.
// Generated by \`node build.mjs --syscall-tables\` from linux-libc-dev ${headers}, plus the syscalls up
// to 456 (numbered alike everywhere); x32's numbers are these plus 0x40000000. Data.
export const SYSCALL_TABLES: Record<'x86_64' | 'i386' | 'x32' | 'aarch64', string> = {
${lines.join('\n')}
}
`)
  step(`wrote ${file}`)
}

if (args.has('--syscall-tables')) {
  writeSyscallTables()
  process.exit(0)
}

mkdirSync(dist, { recursive: true })
const digest = (file) => createHash('sha256').update(readFileSync(file)).digest('hex')
const shimPath = compileShim()
const spawnPath = compileSpawnAddon()
const bundlePath = await bundle(digest(shimPath), digest(spawnPath))
// the code caches' name: another node with the same bundle must not take (and replace) them
const codeDigest = createHash('sha256').update(readFileSync(bundlePath)).update(process.version).digest('hex')
if (!args.has('--bundle-only')) await makeExecutable(await bundleEntry(codeDigest), bundlePath, shimPath, spawnPath)

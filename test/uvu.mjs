#!/usr/bin/env node
// The test runner: bundles test/**/*.test.ts with esbuild, runs each file with uvu's CLI in a
// process of its own, and prints one closing line `N passed, N failed, N skipped`. Does I/O.
//
//   node test/uvu.mjs                      every test file (unit, then integration)
//   node test/uvu.mjs --unit               files not named *.int.test.ts (pure, any user)
//   node test/uvu.mjs --integration        test/**/*.int.test.ts (need dist/skiff, namespaces)
//   node test/uvu.mjs --root               test/**/*.root.test.ts: run as root, they act as two
//                                          unprivileged users (runuser) against each other
//   node test/uvu.mjs store run            files whose path contains "store" or "run"
//
// Options: --no-build (run what is in .build/test), --bail (stop after the first failing file),
// --allow-none (no file matching the filters is not an error: test/run.sh runs two kinds),
// -j N (files run at once; default: cores for unit files, 1 for integration files),
// --timeout S (per file; default 120 unit, 600 integration; env SKIFF_TEST_TIMEOUT).
//
// Why a process per file: a test that changes cwd/env, leaks a handle or sets process.exitCode
// cannot disturb another file, a hung file is killed on its own, and a crash (an import that
// throws) is reported against the file that caused it.
//
// Counting: uvu prints Total/Passed/Skipped per file; failed = total - passed. A test that finds
// its environment lacking calls requireEnv() (test/helpers/env.ts), which appends a line to the
// file named by $SKIFF_TEST_REPORT; those tests returned early, uvu counted them as passed, and
// the runner moves them to "skipped". The last line printed is always the closing line, which
// CI and test/run.sh read; the exit status is 1 when anything failed.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = dirname(dirname(fileURLToPath(import.meta.url)))
const testDir = join(repo, 'test')
const outDir = join(repo, '.build', 'test')
const uvuBin = join(repo, 'node_modules', 'uvu', 'bin.js')

function usage(code) {
  process.stdout.write(
    'usage: node test/uvu.mjs [--unit | --integration | --root] [--no-build] [--bail] [--allow-none] [-j N] [--timeout S] [FILTER...]\n',
  )
  process.exit(code)
}

function parseArgs(argv) {
  const o = { kind: 'all', build: true, bail: false, allowNone: false, jobs: 0, timeout: 0, filters: [] }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = () => {
      const v = argv[++i]
      if (v === undefined || !/^\d+$/.test(v)) usage(2)
      return Number(v)
    }
    if (a === '--unit') o.kind = 'unit'
    else if (a === '--integration' || a === '--int') o.kind = 'integration'
    else if (a === '--root') o.kind = 'root'
    else if (a === '--all') o.kind = 'all'
    else if (a === '--no-build') o.build = false
    else if (a === '--bail') o.bail = true
    else if (a === '--allow-none') o.allowNone = true
    else if (a === '-j' || a === '--jobs') o.jobs = value()
    else if (a === '--timeout') o.timeout = value()
    else if (a === '-h' || a === '--help') usage(0)
    else if (a.startsWith('-')) usage(2)
    else o.filters.push(a)
  }
  return o
}

const kindOf = (rel) => (rel.endsWith('.root.test.ts') ? 'root' : rel.endsWith('.int.test.ts') ? 'integration' : 'unit')
/** Integration and root files: they run dist/skiff, one at a time. */
const isIntegration = (rel) => kindOf(rel) !== 'unit'

/** test/**\/*.test.ts, as paths relative to test/ ("store.test.ts", "sub/x.int.test.ts"). */
function findTests(dir, prefix = '') {
  const out = []
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${ent.name}` : ent.name
    if (ent.isDirectory()) {
      if (ent.name !== 'node_modules' && !ent.name.startsWith('.')) out.push(...findTests(join(dir, ent.name), rel))
    } else if (ent.name.endsWith('.test.ts')) {
      out.push(rel)
    }
  }
  return out.sort()
}

// Bundled ESM has no __filename/__dirname; core code written for the CommonJS executable uses
// them. esbuild's inject replaces only free references, so a test's own `const __dirname` wins.
const injectSource = `import { fileURLToPath } from 'node:url'
import { dirname } from 'node:path'
const file = fileURLToPath(import.meta.url)
export { file as __filename }
export const __dirname = dirname(file)
`

/** Bundles each file on its own, so one broken import fails only the files that use it. */
async function build(files) {
  let esbuild
  try {
    esbuild = await import('esbuild')
  } catch {
    throw new Error('esbuild is not installed: run `npm ci` first')
  }
  mkdirSync(outDir, { recursive: true })
  const inject = join(outDir, '_inject.mjs')
  writeFileSync(inject, injectSource)
  const results = await Promise.allSettled(
    files.map((f) =>
      esbuild.build({
        entryPoints: [join(testDir, f)],
        outfile: join(outDir, f.replace(/\.ts$/, '.mjs')),
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        packages: 'external',
        inject: [inject],
        // core code loads rarely needed built-ins with require() where it needs them, as the
        // CommonJS executable can; bundled ESM gets a require of its own for that
        banner: { js: "import { createRequire as __skiffCreateRequire } from 'node:module'; const require = __skiffCreateRequire(import.meta.url);" },
        sourcemap: 'inline',
        logLevel: 'silent',
      }),
    ),
  )
  /** @type {Map<string, string>} file → why it did not build */
  const broken = new Map()
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') return
    const errors = r.reason?.errors
    const text = Array.isArray(errors) && errors.length
      ? errors.map((e) => (e.location ? `${e.location.file}:${e.location.line}:${e.location.column}: ${e.text}` : e.text)).join('\n')
      : String(r.reason?.message ?? r.reason)
    broken.set(files[i], text)
  })
  return broken
}

const ansi = /\x1b\[[0-9;]*m/g
const summaryLine = /^\s*(Total|Passed|Skipped|Duration):\s*(\S+)/

/** Runs one built file with uvu's CLI; resolves to its counts. Output goes through `emit`. */
function runFile(rel, opts, emit) {
  const built = join(outDir, rel.replace(/\.ts$/, '.mjs'))
  const reportDir = mkdtempSync(join(tmpdir(), 'skiff-uvu-'))
  const report = join(reportDir, 'report')
  writeFileSync(report, '')
  const env = { ...process.env, SKIFF_REPO: repo, SKIFF_TEST_REPORT: report, SKIFF_TEST_FILE: rel }
  if (process.stdout.isTTY && env.NO_COLOR === undefined) env.FORCE_COLOR = '1'
  else delete env.FORCE_COLOR
  const pattern = `^${basename(built).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`
  const args = ['--enable-source-maps', uvuBin, dirname(built), pattern]
  if (!env.FORCE_COLOR) args.push('--no-color')
  const started = Date.now()
  return new Promise((resolvePromise) => {
    // detached: its own process group, so a timeout kills whatever the test started too.
    const child = spawn(process.execPath, args, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    const counts = {}
    let partial = ''
    let blank = false // uvu spaces its output generously; keep at most one blank line
    let timedOut = false
    const onData = (chunk) => {
      const text = partial + chunk.toString('utf8')
      const lines = text.split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) {
        const m = summaryLine.exec(line.replace(ansi, ''))
        if (m) counts[m[1]] = m[2]
        else if (line.replace(ansi, '').trim() === '') blank = true
        else {
          emit(`${blank ? '\n' : ''}${line}\n`)
          blank = false
        }
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    const timer = setTimeout(() => {
      timedOut = true
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {}
    }, opts.timeout * 1000)
    // 'close' waits for stdout/stderr to close too. A process the test left behind in a session
    // of its own (a container, say) may hold them open for ever: 2 s after the exit, stop waiting.
    let finished = false
    let lingering
    child.on('exit', (code, signal) => {
      lingering = setTimeout(() => {
        child.stdout.destroy()
        child.stderr.destroy()
        emit('(a process started by this file still holds its output open; not waiting for it)\n')
        finish(code, signal)
      }, 2000)
    })
    child.on('close', (code, signal) => finish(code, signal))
    const finish = (code, signal) => {
      if (finished) return
      finished = true
      clearTimeout(lingering)
      clearTimeout(timer)
      if (partial) onData('\n')
      let skipLines = []
      try {
        skipLines = readFileSync(report, 'utf8').split('\n').filter(Boolean)
      } catch {}
      rmSync(reportDir, { recursive: true, force: true })
      const total = Number(counts.Total)
      const res = { rel, passed: 0, failed: 0, skipped: 0, note: '', seconds: (Date.now() - started) / 1000 }
      if (Number.isFinite(total)) {
        res.passed = Number(counts.Passed) || 0
        res.failed = Math.max(0, total - res.passed)
        res.skipped = Number(counts.Skipped) || 0
        const early = Math.min(skipLines.length, res.passed)
        res.passed -= early
        res.skipped += early
      }
      if (timedOut) {
        res.failed += 1
        res.note = `killed after ${opts.timeout} s (--timeout)`
      } else if (!Number.isFinite(total)) {
        res.failed += 1
        res.note = `exited (${signal ?? `status ${code}`}) before uvu reported its totals`
      } else if (code !== 0 && res.failed === 0) {
        res.failed += 1
        res.note = `all tests passed but the process exited with ${signal ?? `status ${code}`}`
      }
      resolvePromise(res)
    }
  })
}

function line(r) {
  return `${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  let files = findTests(testDir).filter((f) => {
    if (opts.kind !== 'all' && kindOf(f) !== opts.kind) return false
    return opts.filters.length === 0 || opts.filters.some((s) => `test/${f}`.includes(s))
  })
  // Unit files first: they are fast and say the most when something is broken.
  files = [...files.filter((f) => !isIntegration(f)), ...files.filter(isIntegration)]
  const totals = { passed: 0, failed: 0, skipped: 0 }
  if (files.length === 0) {
    const what = opts.filters.length ? `matching ${opts.filters.join(' ')}` : `(${opts.kind})`
    process.stdout.write(`no test files ${what}\n${line(totals)}\n`)
    process.exit(opts.filters.length && !opts.allowNone ? 1 : 0)
  }

  /** @type {Map<string, string>} */
  let broken = new Map()
  if (opts.build) {
    try {
      broken = await build(files)
    } catch (err) {
      process.stdout.write(`cannot build the test files: ${err.message}\n`)
      totals.failed = files.length
      process.stdout.write(`${line(totals)}\n`)
      process.exit(1)
    }
  }

  const cores = Math.max(1, Math.min(8, availableParallelism()))
  const envTimeout = Number(process.env.SKIFF_TEST_TIMEOUT) || 0
  const groups = [
    { files: files.filter((f) => !isIntegration(f)), jobs: opts.jobs || cores, timeout: opts.timeout || envTimeout || 120 },
    { files: files.filter(isIntegration), jobs: opts.jobs || 1, timeout: opts.timeout || envTimeout || 600 },
  ]
  const failedFiles = []
  let stop = false
  for (const group of groups) {
    if (stop || group.files.length === 0) continue
    // Output of a file is printed as it comes when files run one at a time, and as one block
    // when it finishes otherwise, so the log never interleaves two files.
    const live = group.jobs === 1
    const queue = [...group.files]
    const worker = async () => {
      while (queue.length && !stop) {
        const rel = queue.shift()
        let buffered = ''
        const emit = (s) => (live ? process.stdout.write(s) : (buffered += s))
        const r = broken.has(rel)
          ? { rel, passed: 0, failed: 1, skipped: 0, seconds: 0, note: 'does not build (esbuild)' }
          : await runFile(rel, { timeout: group.timeout }, emit)
        if (broken.has(rel)) emit(`esbuild: test/${rel}:\n${broken.get(rel).replace(/^/gm, '  ')}\n`)
        const mark = r.failed ? 'FAIL' : 'ok  '
        const tail = `${mark} test/${rel}: ${line(r)} (${r.seconds.toFixed(1)} s)${r.note ? ` — ${r.note}` : ''}\n`
        process.stdout.write(live ? tail : buffered + tail)
        totals.passed += r.passed
        totals.failed += r.failed
        totals.skipped += r.skipped
        if (r.failed) {
          failedFiles.push(`test/${rel}`)
          if (opts.bail) stop = true
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(group.jobs, group.files.length) }, worker))
  }
  if (failedFiles.length) process.stdout.write(`\nfailed: ${failedFiles.join(' ')}\n`)
  process.stdout.write(`${line(totals)}\n`)
  process.exit(totals.failed ? 1 : 0)
}

main().catch((err) => {
  process.stdout.write(`test runner: ${err?.stack ?? err}\n0 passed, 1 failed, 0 skipped\n`)
  process.exit(1)
})

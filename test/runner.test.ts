// test/uvu.mjs and test/helpers/env.ts: counting, skips, SKIFF_TESTS_MUST_RUN, crashes, timeouts.
// Each case runs the real runner on a scratch repository made of test files written here.
import { spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { repoRoot, tempDir } from './helpers/env.js'

const files: Record<string, string> = {
  'pass.test.ts': `import { test } from 'uvu'
import * as assert from 'uvu/assert'
test('one', () => assert.is(1, 1))
test('two', async () => { await new Promise((r) => setTimeout(r, 5)) })
test.run()`,
  'fail.test.ts': `import { test } from 'uvu'
import * as assert from 'uvu/assert'
test('passes', () => {})
test('fails', () => assert.is(1 as number, 2, 'one is not two'))
test.run()`,
  'skips.test.ts': `import { test } from 'uvu'
import { need, requireEnv, testIf } from './helpers/env.js'
test('runtime skip', () => { if (!requireEnv('runtime skip', false, 'no frobnicator: apt-get install frob')) return; throw new Error('ran') })
test('runtime ok', () => { if (!need('runtime ok', { ok: true, reason: '' })) return })
testIf(test, 'static', { ok: false, reason: 'static reason' })('static skip', () => { throw new Error('ran') })
test.skip('uvu skip', () => {})
test.run()`,
  'crash.test.ts': `import { test } from 'uvu'
throw new Error('boom at import')
test('never', () => {})
test.run()`,
  'broken.test.ts': `import { test } from 'uvu'
import { nothing } from './no-such-module.js'
test('never', () => nothing())
test.run()`,
  'sub/hang.int.test.ts': `import { test } from 'uvu'
test('hangs', () => new Promise(() => setInterval(() => {}, 1000)))
test.run()`,
  'sub/globals.int.test.ts': `import { test } from 'uvu'
import * as assert from 'uvu/assert'
test('__filename and __dirname exist in the bundle', () => {
  assert.match(__filename, /\\.build\\/test\\/sub\\/globals\\.int\\.test\\.mjs$/)
  assert.match(__dirname, /\\.build\\/test\\/sub$/)
})
test.run()`,
}

/** A scratch repository: the runner, the helpers and fixtures, node_modules, and `files`. */
const scratch = (() => {
  const dir = tempDir('skiff-runner-')
  mkdirSync(join(dir, 'test', 'sub'), { recursive: true })
  cpSync(join(repoRoot, 'test', 'uvu.mjs'), join(dir, 'test', 'uvu.mjs'))
  cpSync(join(repoRoot, 'test', 'helpers'), join(dir, 'test', 'helpers'), { recursive: true })
  cpSync(join(repoRoot, 'test', 'fixtures'), join(dir, 'test', 'fixtures'), { recursive: true })
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 'test', name), text)
  return dir
})()

function runner(args: string[], env: Record<string, string> = {}) {
  const clean = { ...process.env, SKIFF_TESTS_MUST_RUN: '', SKIFF_REPO: '', SKIFF_TEST_REPORT: '', FORCE_COLOR: '', ...env }
  const r = spawnSync(process.execPath, [join(scratch, 'test', 'uvu.mjs'), ...args], { cwd: scratch, env: clean, encoding: 'utf8', timeout: 60_000 })
  const lines = r.stdout.trimEnd().split('\n')
  return { status: r.status, out: r.stdout, last: lines[lines.length - 1] }
}

test('passing, failing and skipped tests are counted; the closing line comes last', () => {
  const r = runner(['pass', 'fail', 'skips'])
  assert.is(r.last, '4 passed, 1 failed, 3 skipped', r.out)
  assert.is(r.status, 1)
  assert.match(r.out, /^SKIP runtime skip: no frobnicator: apt-get install frob$/m)
  assert.match(r.out, /^SKIP static skip: static reason$/m)
  assert.match(r.out, /one is not two/)
  assert.match(r.out, /test\/fail\.test\.ts:4:\d+/, 'stack traces point at the TypeScript source')
  assert.is(runner(['pass']).status, 0)
})

test('SKIFF_TESTS_MUST_RUN=1 turns a missing requirement into a failure', () => {
  const r = runner(['skips'], { SKIFF_TESTS_MUST_RUN: '1' })
  assert.is(r.last, '1 passed, 2 failed, 1 skipped', r.out)
  assert.match(r.out, /runtime skip: no frobnicator: apt-get install frob \(a skip is a failure with SKIFF_TESTS_MUST_RUN=1\)/)
})

test('a file that throws at import or does not build counts as a failure', () => {
  const r = runner(['crash', 'broken', 'pass'])
  assert.is(r.last, '2 passed, 2 failed, 0 skipped', r.out)
  assert.match(r.out, /boom at import/)
  assert.match(r.out, /Could not resolve "\.\/no-such-module\.js"/)
})

test('--unit and --integration select by name; filters that match nothing fail unless --allow-none', () => {
  const unit = runner(['--unit', 'globals'])
  assert.is(unit.status, 1)
  assert.is(unit.last, '0 passed, 0 failed, 0 skipped')
  assert.is(runner(['--unit', '--allow-none', 'globals']).status, 0)
  const int = runner(['--integration', 'globals'])
  assert.is(int.last, '1 passed, 0 failed, 0 skipped', int.out)
})

test('a hung file is killed after --timeout and fails', () => {
  const r = runner(['--integration', '--timeout', '1', 'hang'])
  assert.is(r.last, '0 passed, 1 failed, 0 skipped', r.out)
  assert.match(r.out, /killed after 1 s/)
})

test.run()

// The code cache the executable keeps per verb (core/code-cache.ts): its names, when a file is
// trusted, whole writes, and V8 taking back what it saved (and refusing what it did not).
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Script } from 'node:vm'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cacheKey, readCodeCache, writeCodeCache } from '../core/code-cache.js'
import { cacheDir } from '../core/paths.js'
import { tempDir } from './helpers/env.js'

test('cacheKey: the verb, Docker\'s management spelling, flags; the storage worker; nothing for other internal or odd first words', () => {
  assert.is(cacheKey(['run', '--rm', 'busybox']), 'run')
  assert.is(cacheKey(['container', 'ls', '-a']), 'container-ls')
  assert.is(cacheKey(['--version']), '--version')
  assert.is(cacheKey(['__storage', '--job', '{}']), '__storage')
  assert.is(cacheKey(['__other']), undefined)
  assert.is(cacheKey([]), undefined)
  assert.is(cacheKey(['RUN']), undefined)
  assert.is(cacheKey(['../../etc/passwd']), undefined)
  assert.is(cacheKey(['x'.repeat(30)]), undefined)
  // the OCI runtime: its verb, past runc's global flags
  assert.is(cacheKey(['--root', '/r', '--log-format', 'json', 'run', '-b', 'B', 'id'], '/usr/bin/skiff-runc'), 'runtime-run')
  assert.is(cacheKey(['runtime', '--root', '/r', 'state', 'id']), 'runtime-state')
  assert.is(cacheKey(['--root', '/r'], 'skiff-runc'), undefined)
})

test('cacheDir: XDG_CACHE_HOME, else ~/.cache', () => {
  assert.is(cacheDir({ XDG_CACHE_HOME: '/c', HOME: '/h' }), '/c/skiff')
  assert.is(cacheDir({ HOME: '/h' }), '/h/.cache/skiff')
})

test('readCodeCache: only a file of ours that no one else may write, in such a directory', () => {
  const dir = join(tempDir('skiff-code-cache-'), 'skiff')
  mkdirSync(dir, { mode: 0o700 })
  const file = join(dir, 'code-x.run')
  assert.ok(writeCodeCache(file, () => Buffer.from('bytes')))
  assert.equal(readdirSync(dir), ['code-x.run'], 'no temp file left')
  assert.equal(readCodeCache(file), Buffer.from('bytes'))
  chmodSync(file, 0o620)
  assert.is(readCodeCache(file), undefined, 'group-writable file')
  chmodSync(file, 0o600)
  chmodSync(dir, 0o777)
  assert.is(readCodeCache(file), undefined, 'world-writable directory')
  chmodSync(dir, 0o700)
  assert.is(readCodeCache(join(dir, 'missing')), undefined)
  assert.is(readCodeCache(dir), undefined, 'a directory')
})

test('writeCodeCache: a place it cannot write is no error, costs no serialization, and leaves nothing', () => {
  const root = tempDir('skiff-code-cache-')
  writeFileSync(join(root, 'file'), '')
  let produced = false
  const produce = () => {
    produced = true
    return Buffer.from('x')
  }
  assert.is(writeCodeCache(join(root, 'file', 'code-x.run'), produce), false)
  assert.not.ok(produced, 'nothing serialized for a file that cannot be written')
  assert.not.ok(existsSync(join(root, 'file', 'code-x.run.tmp-' + process.pid)))
})

test('V8 takes back a cache saved after running (in another process), and refuses garbage without harm', () => {
  // unique texts: V8 keeps scripts it compiled in memory and would not look at the cache at all
  const source = `(function () { function used() { return 41 + 1 } return used() /* ${process.pid} ${Date.now()} */ })`
  const first = new Script(source, { filename: 'x.cjs' })
  assert.is(first.runInThisContext()(), 42)
  const dir = tempDir('skiff-code-cache-')
  const file = join(dir, 'code-x.run')
  assert.ok(writeCodeCache(file, () => first.createCachedData()))
  const child = spawnSync(process.execPath, ['-e', `
    const { Script } = require('node:vm')
    const s = new Script(process.argv[1], { filename: 'x.cjs', cachedData: require('node:fs').readFileSync(process.argv[2]) })
    console.log(s.cachedDataRejected, s.runInThisContext()())`, source, file], { encoding: 'utf8', env: { PATH: process.env.PATH } })
  assert.is(child.stdout.trim(), 'false 42', child.stderr)
  const garbage = new Script(source.replace('41', '40 + 1'), { filename: 'x.cjs', cachedData: Buffer.alloc(4096, 7) })
  assert.is(garbage.cachedDataRejected, true)
  assert.is(garbage.runInThisContext()(), 42)
})

test.run()

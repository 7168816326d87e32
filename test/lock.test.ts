// Locks (core/lock.ts): flock through the spawn addon. An empty or garbage lock file, which a
// kill -9 between create and write used to leave, is taken at once; a live holder makes the taker
// wait and fail with its pid; the holder killed with -9 frees the lock with nothing left to judge.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { acquireLock, withLock } from '../core/lock.js'
import { useNativeAddon } from '../core/native.js'
import { repoRoot, requireEnv, tempDir } from './helpers/env.js'

const addonPath = join(repoRoot, 'dist', 'skiff-spawn.node')
const ready = () => requireEnv('the spawn addon', existsSync(addonPath), `${addonPath} is missing: npm run build`) && !!useNativeAddon(addonPath)

test.after(() => void useNativeAddon(null))

test('an empty, a garbage and a dead holder\'s lock file are taken at once; the file names the holder, and goes at release', () => {
  if (!ready()) return
  const dir = tempDir()
  for (const planted of ['', 'garbage\n\0\xff', '999999999 12345\n', `${process.pid} 0\n`]) {
    const path = join(dir, 'lock')
    writeFileSync(path, planted)
    const release = acquireLock(path, 0)
    assert.match(readFileSync(path, 'utf8'), new RegExp(`^${process.pid} \\d+\\n$`))
    release()
    assert.not.ok(existsSync(path))
  }
})

/** A node child that takes the lock at `path` and holds it until killed; resolves once it holds it. */
function holder(path: string): Promise<{ pid: number; kill: () => Promise<void> }> {
  const script = `
    const m = { exports: {} }; process.dlopen(m, ${JSON.stringify(addonPath)})
    const fs = require('node:fs'); const fd = fs.openSync(${JSON.stringify(path)}, 'a+')
    if (m.exports.flock(fd, true) !== 0) process.exit(3)
    fs.writeFileSync(fd, process.pid + ' 1\\n'); process.stdout.write('held\\n'); setInterval(() => {}, 1000)`
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the holder exited with ${code}`)))
    child.stdout!.once('data', () => {
      child.removeAllListeners('exit')
      resolve({ pid: child.pid!, kill: () => new Promise((r) => { child.once('exit', () => r()); child.kill('SIGKILL') }) })
    })
  })
}

test('a live holder: the taker waits, then fails with its pid; kill -9 of the holder frees it', async () => {
  if (!ready()) return
  const path = join(tempDir(), 'lock')
  const h = await holder(path)
  try {
    assert.throws(() => acquireLock(path, 100), (e: Error) => e.message === `${path} is locked by process ${h.pid}`)
  } finally {
    await h.kill()
  }
  // the file is still there, with the dead holder's pid in it: the kernel's lock went with it
  assert.ok(existsSync(path))
  const release = acquireLock(path, 0)
  release()
})

test('two takers in turn: withLock serializes, and a lock file removed while waited on is not shared', async () => {
  if (!ready()) return
  const path = join(tempDir(), 'lock')
  const order: string[] = []
  await withLock(path, () => void order.push('a'))
  await withLock(path, () => void order.push('b'))
  assert.equal(order, ['a', 'b'])
  // a taker in another process while we hold it: it must not get it
  const release = acquireLock(path, 0)
  const r = spawnSync(process.execPath, ['-e', `
    const m = { exports: {} }; process.dlopen(m, ${JSON.stringify(addonPath)})
    const fd = require('node:fs').openSync(${JSON.stringify(path)}, 'a+'); process.stdout.write(String(m.exports.flock(fd, true)))`], { encoding: 'utf8' })
  release()
  assert.is(r.stdout, '-11', r.stderr)
})

test('a lock in a directory that cannot hold one: a clear error, not a crash', () => {
  if (!ready()) return
  const dir = join(tempDir(), 'sub')
  mkdirSync(dir)
  assert.throws(() => acquireLock(join(dir, 'missing', 'lock'), 0), (e: Error & { code: string }) => e.code === 'E_LOCK' && /cannot lock .*missing\/lock/.test(e.message))
})

test.run()

// The shim's child process without child_process, started both ways skiff has: the spawn addon
// (posix_spawn) and Node's process binding (fork). Node's process/pipe bindings must be there,
// and lines, writes, ends, signals and piped output must behave as launch() relies on.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { useNativeAddon } from '../../core/native.js'
import { spawnKind, spawnShimProcess, type ShimChild } from '../../core/launch/shim-process.js'
import { repoRoot, requireEnv } from '../helpers/env.js'

const sh = (script: string, stdio: ['inherit' | 'pipe' | 'ignore', 'inherit' | 'pipe' | 'ignore', 'inherit' | 'pipe' | 'ignore'] = ['ignore', 'ignore', 'inherit']) => spawnShimProcess('/bin/sh', ['-c', script], stdio)

const closed = (child: ShimChild) => new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.onClose((code, signal) => resolve([code, signal])))

const addonPath = join(repoRoot, 'dist', 'skiff-spawn.node')

for (const kind of ['vfork', 'fork'] as const) {
  const test = suite(`shim process (${kind})`)
  let ready = true
  test.before(() => {
    if (kind === 'fork') return void useNativeAddon(null)
    ready = requireEnv('the spawn addon', existsSync(addonPath), `${addonPath} is missing: npm run build`)
    if (ready) useNativeAddon(addonPath)
  })
  test.after(() => void useNativeAddon(null))

  test('lines said before anyone listens are kept, in order, and the end comes after the last', async () => {
    if (!ready) return
    // a line split over two writes, an empty line, UTF-8 split across the writes
    const child = sh(`printf '{"a":1}\\n{"b":' >&3; sleep 0.05; printf '"\\303' >&3; printf '\\251"}\\n\\n{"c":3}\\n' >&3; exit 7`)
    assert.ok(child.pid! > 0)
    await new Promise((r) => setTimeout(r, 300))
    const lines: string[] = []
    let ended = false
    child.onLine((line) => {
      assert.not.ok(ended, 'a line after the end')
      lines.push(line)
    })
    const [code, signal] = await closed(child)
    ended = true
    assert.equal(lines, ['{"a":1}', '{"b":"é"}', '{"c":3}'])
    assert.is(code, 7)
    assert.is(signal, null)
  })

  test('what skiff sends arrives; a signal is passed on and reported by name', async () => {
    if (!ready) return
    const child = sh(`read plan <&3; echo "got $plan" >&3; exec sleep 30`)
    const lines: string[] = []
    child.onLine((line) => {
      lines.push(line)
      if (line.startsWith('got')) child.kill('SIGTERM')
    })
    child.send('{"plan":"ünïcode"}\n')
    const [code, signal] = await closed(child)
    assert.equal(lines, ['got {"plan":"ünïcode"}'])
    assert.is(code, null)
    assert.is(signal, 'SIGTERM')
  })

  test('a close listener added after the end is called at once', async () => {
    if (!ready) return
    const child = sh('exit 0')
    await closed(child)
    let called = false
    child.onClose(() => (called = true))
    assert.ok(called)
    // sending to and killing a shim that is gone is harmless
    child.send('late\n')
    child.kill('SIGKILL')
  })

  test('the end waits for piped output to be read to its end', async () => {
    if (!ready) return
    const child = sh('head -c 300000 /dev/zero | tr "\\0" x; echo err >&2', ['pipe', 'pipe', 'pipe'])
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout!.on('data', (c: Buffer) => out.push(c))
    child.stderr!.on('data', (c: Buffer) => err.push(c))
    child.stdin!.end('')
    const [code] = await closed(child)
    assert.is(code, 0)
    assert.is(Buffer.concat(out).length, 300000)
    assert.is(Buffer.concat(err).toString(), 'err\n')
  })

  test('stdin given as a pipe reaches the child', async () => {
    if (!ready) return
    const child = sh('cat >&3', ['pipe', 'ignore', 'inherit'])
    const lines: string[] = []
    child.onLine((l) => lines.push(l))
    child.stdin!.end('one\ntwo\n')
    await closed(child)
    assert.equal(lines, ['one', 'two'])
  })

  test('a program that cannot be started is an error with its errno name, and ends at once', async () => {
    if (!ready) return
    const child = spawnShimProcess('/nonexistent/skiff-shim', ['run'], ['ignore', 'ignore', 'ignore'])
    assert.is(child.pid, undefined)
    assert.is((child.error as NodeJS.ErrnoException).code, 'ENOENT')
    assert.match(child.error!.message, /\/nonexistent\/skiff-shim ENOENT/)
    const [code, signal] = await closed(child)
    assert.is(code, null)
    assert.is(signal, null)
  })

  test('released, a running child no longer keeps skiff waiting', async () => {
    if (!ready) return
    const child = sh('echo started >&3; exec sleep 30')
    const pid = child.pid!
    await new Promise<void>((resolve) => child.onLine(() => resolve()))
    child.release()
    // still running; the test process can end (uvu would hang on a ref'd handle otherwise)
    assert.not.throws(() => process.kill(pid, 0))
    process.kill(pid, 'SIGKILL')
  })

  test('the child gets what Node would give it: its own session, no signal blocked or ignored (but glibc\'s own two)', async () => {
    if (!ready) return
    assert.is(spawnKind(), kind)
    const child = sh(`set -- $(cat /proc/$$/stat); echo "sid=$6 pid=$$" >&3; grep -E "^Sig(Blk|Ign)" /proc/$$/status | tr -s "\\t" " " >&3`)
    const lines: string[] = []
    child.onLine((l) => lines.push(l))
    const [code] = await closed(child)
    assert.is(code, 0)
    const sid = /^sid=(\d+) pid=(\d+)$/.exec(lines[0] ?? '')
    assert.ok(sid && sid[1] === sid[2], lines.join('\n'))
    // skiff ignores SIGPIPE; the child must not. posix_spawn leaves glibc's own two (32, 33)
    // ignored: the shim sets them back first thing (its test is in run.int: the container's)
    const ignored = BigInt(`0x${/^SigIgn: ([0-9a-f]+)$/.exec(lines[2] ?? '')?.[1] ?? 'ffff'}`)
    assert.is(lines[1], 'SigBlk: 0000000000000000')
    assert.is(ignored & ~0x180000000n, 0n, lines.join('\n'))
  })

  test.run()
}

const outlive = suite('spawn addon')
outlive('a watched child that outlives the Node environment that watched it crashes nothing', () => {
  if (!requireEnv('the spawn addon', existsSync(addonPath), `${addonPath} is missing: npm run build`)) return
  // A worker watches a child, lets go of it and ends: Node finalizes the worker's thread-safe
  // functions and unloads the addon while the watch thread still waits. When the child ends, that
  // thread must neither call the freed function nor run unmapped code (both crashed Node).
  const script = `
    const { Worker } = require('node:worker_threads')
    new Worker(\`
      const m = { exports: {} }
      process.dlopen(m, \${JSON.stringify(process.argv[1])})
      const [pid] = m.exports.spawn('/bin/sleep', ['sleep', '0.2'], [], [-2, -2, -2, -2])
      m.exports.unref(m.exports.watch(pid, () => {}))
    \`, { eval: true }).on('exit', () => setTimeout(() => console.log('alive'), 600))`
  const r = spawnSync(process.execPath, ['-e', script, addonPath], { encoding: 'utf8', timeout: 10_000 })
  assert.is(r.stdout.trim(), 'alive', `status ${r.status}, signal ${r.signal}: ${r.stderr}`)
})
outlive.run()

// skiff info and version, for real: dist/skiff as an unprivileged user; the user namespace trial
// through the shim, the id maps it saw, the JSON shape, and the time it takes; the cache of the
// embedded shim and addon.
import { chmodSync, mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { need, probe, useSandbox } from './helpers/env.js'

const info = suite('info')
const sb = useSandbox(info)

info('--format json: the trial made a user namespace with the subordinate ranges', () => {
  if (!need('info json', probe.skiff(), probe.rootless())) return
  const r = sb.run(['info', '--format', 'json'])
  assert.is(r.status, 0, r.describe())
  const j = JSON.parse(r.stdout)
  assert.equal(Object.keys(j), ['version', 'status', 'items'])
  const userns = j.items.userNamespaces
  assert.is(userns.status, 'ok', JSON.stringify(userns))
  assert.is(userns.details.tested, true)
  const idmap = j.items.idMapping
  assert.is(idmap.details.mode, 'subordinate', JSON.stringify(idmap))
  assert.is(idmap.details.tested, true)
  assert.equal(idmap.details.uidMap[0], { inside: 0, outside: process.getuid!(), count: 1 })
  assert.ok(idmap.details.uidMap[1].count >= 65536)
  assert.is(j.items.idmapHelpers.details.tested, true)
  for (const [id, item] of Object.entries<{ status: string; fix: string | null }>(j.items)) {
    if (item.status !== 'ok') assert.ok(item.fix, `${id} has a fix`)
  }
})

info('text: one line per item, fixes under problems, a closing summary, well under a second', () => {
  if (!need('info text', probe.skiff(), probe.rootless())) return
  const started = Date.now()
  const r = sb.run(['info'])
  const ms = Date.now() - started
  assert.is(r.status, 0, r.describe())
  assert.match(r.stdout, /^skiff \S+\nhost\n {2}kernel: +\S+/)
  assert.match(r.stdout, /\n {2}user namespaces: +yes \(tested/)
  assert.match(r.stdout, /\nrootless containers: (ready|not ready)/)
  for (const [i, line] of r.stdout.split('\n').entries()) {
    if (/^[!✗] /.test(line)) assert.match(r.stdout.split('\n')[i + 1]!, /^ +fix: /, line)
  }
  assert.ok(ms < 1000, `took ${ms} ms`)
})

info('--format is json or a Go template, as Docker\'s: a field that is not there is an error', () => {
  if (!need('info format', probe.skiff())) return
  const r = sb.run(['info', '--format', '{{.Nope}}'])
  assert.is(r.status, 125, r.describe())
  assert.match(r.stderr, /^Error: template: executing at <\.Nope>: can't evaluate field Nope; the fields here are Version, Status, Items/)
  const bad = sb.run(['info', '--format', '{{if .Status}}'])
  assert.is(bad.status, 125, bad.describe())
  assert.match(bad.stderr, /^Error: template: .*\{\{end\}\}/)
  // text without actions is printed as it is (docker info --format yaml prints "yaml")
  assert.is(sb.run(['info', '--format', 'yaml']).stdout, 'yaml\n')
})

info('version: the shim and the addon are written to the cache, and an old version\'s unused copies removed', () => {
  if (!need('version cache', probe.skiff())) return
  const cache = join(sb.cache, 'skiff')
  mkdirSync(cache, { recursive: true })
  const old = [`shim-${'b'.repeat(64)}`, `spawn-${'b'.repeat(64)}.node`]
  const recent = `shim-${'c'.repeat(64)}`
  const month = Date.now() / 1000 - 30 * 24 * 3600
  for (const name of [...old, recent]) writeFileSync(join(cache, name), 'old')
  for (const name of old) utimesSync(join(cache, name), month, month)
  const r = sb.run(['version'])
  assert.is(r.status, 0, r.describe())
  const shim = /^shim path: (.*)$/m.exec(r.stdout)?.[1] ?? ''
  assert.match(r.stdout, /shim started by: posix_spawn/)
  assert.match(r.stdout, /\(embedded\)/, 'dist/skiff, the single executable, carries its shim')
  assert.is(join(cache, shim.split('/').pop()!), shim)
  const names = readdirSync(cache)
  assert.ok(names.some((n) => /^spawn-[0-9a-f]{64}\.node$/.test(n) && !old.includes(n)), names.join(' '))
  for (const name of old) assert.not.ok(names.includes(name), `${name} is still there`)
  assert.ok(names.includes(recent), 'a copy used recently stays')
})

info('the code cache: built in at first, saved by the first run that works (not --help), garbage refused and replaced', () => {
  if (!need('code cache', probe.skiff())) return
  const cache = join(sb.cache, 'skiff')
  const version = () => {
    const r = sb.run(['--version'], { env: { SKIFF_TRACE: '1' } })
    assert.is(r.status, 0, r.describe())
    assert.match(r.stdout, /^skiff version /)
    return /^skiff trace: code cache (.*?): /m.exec(r.stderr)?.[1]
  }
  const saved = () => readdirSync(cache).filter((n) => /^code-[0-9a-f]{64}\.--version$/.test(n))
  rmSync(cache, { recursive: true, force: true })
  assert.is(version(), 'built-in')
  assert.is(saved().length, 1, 'saved after the first run')
  assert.is(version(), 'saved')
  const file = join(cache, saved()[0]!)
  writeFileSync(file, Buffer.alloc(8192, 7))
  assert.is(version(), 'saved, rejected by V8')
  assert.is(version(), 'saved', 'the garbage was replaced')
  chmodSync(file, 0o666)
  assert.is(version(), 'built-in', 'a file others may write is not run')
  // `run --help` would make a poor cache for `run`: it saves none
  assert.is(sb.run(['run', '--help']).status, 0)
  assert.not.ok(readdirSync(cache).some((n) => n.endsWith('.run')), readdirSync(cache).join(' '))
})

info.run()

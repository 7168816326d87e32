// The addon's two checks for the id maps (shims/addon/spawn.c: noNewPrivs, mountFlags) against
// what /proc says, and findIdmapHelpers' verdict the same with the addon and without it.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ST_NOSUID, useNativeAddon } from '../core/native.js'
import { mountFor, parseMountinfo } from '../core/host/mounts.js'
import { findIdmapHelpers, parseNoNewPrivs } from '../core/host/subid.js'
import { repoRoot, requireEnv, tempDir } from './helpers/env.js'

const addonPath = join(repoRoot, 'dist', 'skiff-spawn.node')
const ready = () => requireEnv('the spawn addon', existsSync(addonPath), `${addonPath} is missing: npm run build`)

test.after(() => void useNativeAddon(null))

test('noNewPrivs says what /proc/self/status says, here and under setpriv --no-new-privs', () => {
  if (!ready()) return
  const addon = useNativeAddon(addonPath)!
  assert.is(addon.noNewPrivs(), parseNoNewPrivs(readFileSync('/proc/self/status', 'utf8')) ? 1 : 0)
  if (!requireEnv('setpriv', existsSync('/usr/bin/setpriv'), 'setpriv is missing: apt install util-linux')) return
  const script = `const m = { exports: {} }; process.dlopen(m, ${JSON.stringify(addonPath)}); process.stdout.write(String(m.exports.noNewPrivs()))`
  const r = spawnSync('/usr/bin/setpriv', ['--no-new-privs', process.execPath, '-e', script], { encoding: 'utf8' })
  assert.is(r.stdout, '1', r.stderr)
})

test('mountFlags has ST_NOSUID exactly where mountinfo lists nosuid, and a negative errno for no file', () => {
  if (!ready()) return
  const addon = useNativeAddon(addonPath)!
  const mounts = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'))
  // every mount point (the mount seen there is the last one over it), and a file below one
  const paths = [...new Set([...mounts.map((m) => m.mountPoint), '/usr/bin/env'])]
  let nosuid = 0
  let checked = 0
  for (const p of paths) {
    const flags = addon.mountFlags(p)
    if (flags === -13 || flags === -2) continue // EACCES, ENOENT: not ours to see
    assert.ok(flags >= 0, `${p}: ${flags}`)
    const listed = mountFor(p, mounts)?.options.includes('nosuid') ?? false
    assert.is((flags & ST_NOSUID) !== 0, listed, p)
    checked++
    if (listed) nosuid++
  }
  assert.ok(checked >= 3, `only ${checked} mounts could be checked`)
  assert.is(addon.mountFlags('/nonexistent/skiff'), -2) // ENOENT
  requireEnv('a nosuid mount', nosuid > 0, 'no mount here is nosuid: only the other side was checked')
})

test('mountFlags tells nosuid from nodev on mounts made for it (a user and mount namespace)', () => {
  if (!ready()) return
  if (!requireEnv('unshare', existsSync('/usr/bin/unshare'), 'unshare is missing: apt install util-linux')) return
  const dir = tempDir('native-')
  const script = `const m = { exports: {} }; process.dlopen(m, ${JSON.stringify(addonPath)}); process.stdout.write(JSON.stringify([m.exports.mountFlags('${dir}/a'), m.exports.mountFlags('${dir}/b')]))`
  const r = spawnSync('/usr/bin/unshare', ['-rm', 'sh', '-c', `mkdir -p ${dir}/a ${dir}/b && mount -t tmpfs -o nosuid none ${dir}/a && mount -t tmpfs -o nodev none ${dir}/b && exec "$0" -e "$1"`, process.execPath, script], { encoding: 'utf8' })
  if (!requireEnv('user namespaces', r.status === 0 || !/unshare failed|Operation not permitted/.test(r.stderr), `unshare -rm failed: ${r.stderr.trim()}`)) return
  assert.is(r.status, 0, r.stderr)
  const [a, b] = JSON.parse(r.stdout) as [number, number]
  assert.is(a & ST_NOSUID, ST_NOSUID, `nosuid mount: flags ${a}`)
  assert.is(b & ST_NOSUID, 0, `nodev mount: flags ${b}`)
})

test('findIdmapHelpers gives the same verdict with the addon as by /proc', () => {
  if (!ready()) return
  useNativeAddon(null)
  const byProc = findIdmapHelpers()
  useNativeAddon(addonPath)
  assert.equal(findIdmapHelpers(), byProc)
})

test.run()

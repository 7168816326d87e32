import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { deviceAccess, deviceFix, findExecutable, parseToolVersion, runBriefly, shellQuote } from '../../core/host/tools.js'

// Real `--version` texts of the versions on Debian 12 and a few others.
const versions: [string, string, string | undefined][] = [
  ['slirp4netns', 'slirp4netns version 1.2.0\ncommit: 656041d45cfca7a4176f6b7eed9e4fe6c11e8383\nlibslirp: 4.7.0\n', '1.2.0'],
  ['fuse-overlayfs', 'fusermount3 version: 3.14.0\nfuse-overlayfs: version 1.10\nFUSE library version 3.14.0\n', '1.10'],
  ['pasta', 'pasta unknown version\nCopyright Red Hat\n', undefined],
  ['pasta', 'pasta 2024_06_24.1ee2eca\nCopyright Red Hat\n', '2024_06_24.1ee2eca'],
  ['slirp4netns', '', undefined],
  ['fuse-overlayfs', 'fuse-overlayfs: unrecognized option\n', undefined],
]
for (const [tool, text, want] of versions) {
  test(`parseToolVersion ${tool} → ${want}`, () => assert.is(parseToolVersion(tool, text), want))
}

test('shellQuote', () => {
  assert.is(shellQuote('/usr/bin/skiff'), '/usr/bin/skiff')
  assert.is(shellQuote('a b'), "'a b'")
  assert.is(shellQuote("it's"), "'it'\\''s'")
  assert.is(shellQuote('<abi/4.0>,'), "'<abi/4.0>,'")
})

test('findExecutable: PATH first, then the system directories; not a directory or a plain file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-which-'))
  try {
    writeFileSync(join(dir, 'tool-x'), '#!/bin/sh\n')
    chmodSync(join(dir, 'tool-x'), 0o755)
    writeFileSync(join(dir, 'not-exec'), '')
    mkdirSync(join(dir, 'a-dir'))
    chmodSync(join(dir, 'a-dir'), 0o755)
    const env = { PATH: `relative/dir:${dir}` }
    assert.is(findExecutable('tool-x', env), join(dir, 'tool-x'))
    assert.is(findExecutable('a-dir', env), undefined)
    assert.is(findExecutable('not-exec', env), undefined) // no x bit: not even root may run it
    const sh = findExecutable('sh', { PATH: '' })
    assert.ok(sh === '/usr/bin/sh' || sh === '/bin/sh', String(sh))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('runBriefly: output and a timeout that kills', async () => {
  const r = await runBriefly('/bin/sh', ['-c', 'echo out; echo err >&2'])
  assert.is(r.code, 0)
  assert.is(r.output, 'out\nerr\n')
  const started = Date.now()
  const slow = await runBriefly('/bin/sh', ['-c', 'sleep 5'], 200)
  assert.ok(Date.now() - started < 2000)
  assert.is.not(slow.code, 0)
})

test('deviceAccess: a device that opens, one that does not exist', () => {
  const dn = deviceAccess('/dev/null')
  assert.equal([dn.exists, dn.usable, dn.mode], [true, true, '0666'])
  const none = deviceAccess('/dev/skiff-none')
  assert.equal([none.exists, none.usable, none.error], [false, false, 'ENOENT'])
  assert.is(deviceFix(none, 'fuse'), 'sudo modprobe fuse')
  assert.match(deviceFix({ path: '/dev/fuse', exists: true, mode: '0600', usable: false, error: 'EACCES' }, 'fuse'), /^sudo chmod 0666 \/dev\/fuse .*KERNEL=="fuse", MODE="0666"/)
})

test.run()

// Files named on the command line (--env-file): a regular file of bounded size, or a clear error;
// never a read that does not end (/dev/zero) or an open that waits for a writer (a FIFO).
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readUserTextFile } from '../core/user-file.js'
import { tempDir } from './helpers/env.js'

test('a text file is read; a device, a FIFO, a directory, a missing or oversized file are refused with what it is', () => {
  const dir = tempDir()
  writeFileSync(join(dir, 'env'), 'A=1\n')
  assert.is(readUserTextFile(join(dir, 'env'), '--env-file'), 'A=1\n')
  execFileSync('mkfifo', [join(dir, 'fifo')])
  mkdirSync(join(dir, 'd'))
  const cases: [string, RegExp][] = [
    ['/dev/zero', /^--env-file \/dev\/zero: it is a device, not a regular file$/],
    [join(dir, 'fifo'), /: it is a pipe, not a regular file$/],
    [join(dir, 'd'), /: it is a directory, not a regular file$/],
    [join(dir, 'none'), /: no such file$/],
  ]
  for (const [path, message] of cases) {
    assert.throws(() => readUserTextFile(path, '--env-file'), (e: Error & { code: string; hint: string }) => e.code === 'E_USER_FILE' && message.test(e.message) && !!e.hint, path)
  }
  writeFileSync(join(dir, 'big'), 'x'.repeat(2048))
  assert.throws(() => readUserTextFile(join(dir, 'big'), '--env-file', 1024), /the file is 2048 bytes, more than/)
})

test.run()

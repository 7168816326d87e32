// The cache of the shim, the spawn addon and the code caches: other versions' copies go once unused for long,
// this version's and recently used ones stay, and so does anything that is not a copy.
import { existsSync, readdirSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { pruneCopies } from '../core/shim-binary.js'
import { tempDir } from './helpers/env.js'

const hex = (c: string) => c.repeat(64)
const DAY = 24 * 3600 * 1000

test('pruneCopies: old copies of other versions and stale temp files go; the rest stays', () => {
  const dir = tempDir('skiff-cache-test-')
  const now = Date.now()
  const files: Record<string, { usedDaysAgo: number; modifiedDaysAgo?: number }> = {
    [`shim-${hex('a')}`]: { usedDaysAgo: 30 }, // this version's, however old: kept
    [`spawn-${hex('a')}.node`]: { usedDaysAgo: 30 },
    [`shim-${hex('b')}`]: { usedDaysAgo: 20 }, // another version, unused for 20 days: removed
    [`spawn-${hex('b')}.node`]: { usedDaysAgo: 20 },
    [`shim-${hex('c')}`]: { usedDaysAgo: 2 }, // another version, run 2 days ago: kept
    [`shim-${hex('d')}`]: { usedDaysAgo: 40, modifiedDaysAgo: 1 }, // written yesterday: kept
    [`shim-${hex('e')}.tmp-123`]: { usedDaysAgo: 2 }, // a killed write's temp file: removed
    [`shim-${hex('e')}.tmp-124`]: { usedDaysAgo: 0.01 }, // a write under way: kept
    [`code-${hex('b')}.run`]: { usedDaysAgo: 20 }, // a code cache unused for 20 days: removed
    [`code-${hex('a')}.--version`]: { usedDaysAgo: 3 }, // used 3 days ago: kept
    [`code-${hex('f')}.run.tmp-99`]: { usedDaysAgo: 2 }, // a killed write's: removed
    [`code-${hex('b')}.__storage`]: { usedDaysAgo: 20 }, // the storage worker's, unused: removed
    'notes.txt': { usedDaysAgo: 100 }, // not a copy: kept
    'shim-1234': { usedDaysAgo: 100 },
  }
  for (const [name, t] of Object.entries(files)) {
    const path = join(dir, name)
    writeFileSync(path, 'x')
    utimesSync(path, (now - t.usedDaysAgo * DAY) / 1000, (now - (t.modifiedDaysAgo ?? t.usedDaysAgo) * DAY) / 1000)
  }
  const removed = pruneCopies(dir, [`shim-${hex('a')}`, `spawn-${hex('a')}.node`], 14, now)
  assert.equal(removed.sort(), [`shim-${hex('b')}`, `shim-${hex('e')}.tmp-123`, `spawn-${hex('b')}.node`, `code-${hex('b')}.run`, `code-${hex('f')}.run.tmp-99`, `code-${hex('b')}.__storage`].sort())
  assert.equal(
    readdirSync(dir).sort(),
    Object.keys(files).filter((n) => !removed.includes(n)).sort(),
  )
})

test('pruneCopies: a directory that is not there is no error', () => {
  const dir = join(tempDir('skiff-cache-test-'), 'missing')
  assert.equal(pruneCopies(dir, []), [])
  assert.not.ok(existsSync(dir))
})

test.run()

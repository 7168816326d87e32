// Container names under concurrent creates: a name is never taken over from a create in progress.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdirSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { reserveGeneratedName, reserveName, stagingDir } from '../../core/container/names.js'

const t = suite('names')
let root = ''

t.before.each(() => {
  root = mkdtempSync(join(tmpdir(), 'skiff-names-'))
  for (const d of ['tmp', 'containers']) mkdirSync(join(root, d))
})
t.after.each(() => rmSync(root, { recursive: true, force: true }))

t('a name held by a create still in progress (its staging directory) is not taken over', () => {
  const store = { root }
  mkdirSync(stagingDir(store, 'a'.repeat(32)))
  reserveName(store, 'busy_name', 'a'.repeat(32))
  assert.throws(() => reserveName(store, 'busy_name', 'b'.repeat(32)), /already in use by container aaaaaaaaaaaa/)
  assert.is(readlinkSync(join(root, 'names', 'busy_name')), 'a'.repeat(32))
})

t('a name whose holder is neither being made nor a container is taken over', () => {
  const store = { root }
  reserveName(store, 'stale_name', 'c'.repeat(32))
  // a staging directory of a process that is gone does not count
  mkdirSync(join(root, 'tmp', `create-999999999-${'c'.repeat(32)}`))
  reserveName(store, 'stale_name', 'd'.repeat(32))
  assert.is(readlinkSync(join(root, 'names', 'stale_name')), 'd'.repeat(32))
})

t('generated names for many creates in progress are distinct', () => {
  const store = { root }
  const names = new Set<string>()
  for (let i = 0; i < 300; i++) {
    const id = i.toString(16).padStart(32, '0')
    mkdirSync(stagingDir(store, id))
    names.add(reserveGeneratedName(store, id))
  }
  assert.is(names.size, 300)
})

t.run()

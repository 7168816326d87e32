import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { addRangesFix, findIdmapHelpers, freeSubidStart, parseGetsubidsOutput, parseNoNewPrivs, parseNsswitchSubid, parseSubidFile, readSubids } from '../../core/host/subid.js'

const FILE = [
  '# subordinate ids',
  '',
  'ann:100000:65536',
  '  bob:165536:65536  ',
  '1000:300000:10', // by uid: also ann's
  'ann:bad:1', // malformed start
  'ann:400000:0', // empty
  'ann:500000', // too few fields
  'ann:1:2:3', // too many fields
  'ann:4294967290:10', // past the last valid id
  'annie:600000:1', // a longer name is another user
  'ann:700000:1\r', // CRLF file
].join('\n')

const cases: [string, string, number, { start: number; count: number }[]][] = [
  ['by name and by uid, in file order', 'ann', 1000, [{ start: 100000, count: 65536 }, { start: 300000, count: 10 }, { start: 700000, count: 1 }]],
  ['surrounding spaces', 'bob', 1001, [{ start: 165536, count: 65536 }]],
  ['uid only (no passwd name)', '1000', 1000, [{ start: 300000, count: 10 }]],
  ['nobody else', 'carl', 2000, []],
  ['prefix of another name', 'an', 999, []],
]
for (const [name, user, uid, want] of cases) {
  test(`parseSubidFile: ${name}`, () => {
    assert.equal(parseSubidFile(FILE, user, uid), want)
  })
}

test('parseSubidFile: empty text', () => {
  assert.equal(parseSubidFile('', 'ann', 1000), [])
})

test('parseNsswitchSubid', () => {
  assert.equal(parseNsswitchSubid('passwd: files sss\nsubid: sss # FreeIPA\n'), ['sss'])
  assert.equal(parseNsswitchSubid('passwd: files\n'), [])
  assert.equal(parseNsswitchSubid('# subid: sss\npasswd: files\n'), [])
  assert.equal(parseNsswitchSubid('  subid:   files\n'), ['files'])
})

test('parseGetsubidsOutput', () => {
  assert.equal(parseGetsubidsOutput('0: ann 100000 65536\n1: ann 300000 10\n'), [{ start: 100000, count: 65536 }, { start: 300000, count: 10 }])
  assert.equal(parseGetsubidsOutput('Error fetching ranges\n'), [])
})

test('parseNoNewPrivs', () => {
  assert.ok(parseNoNewPrivs('Name:\tx\nNoNewPrivs:\t1\nSeccomp:\t0\n'))
  assert.not.ok(parseNoNewPrivs('Name:\tx\nNoNewPrivs:\t0\n'))
  assert.not.ok(parseNoNewPrivs(''))
})

test('readSubids: files, and what nsswitch.conf says', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-subid-'))
  try {
    const files = { subuid: join(dir, 'subuid'), subgid: join(dir, 'subgid'), nsswitch: join(dir, 'nsswitch.conf') }
    writeFileSync(files.subuid, 'ann:100000:65536\n')
    writeFileSync(files.subgid, 'ann:200000:65536\n')
    writeFileSync(files.nsswitch, 'passwd: files\nsubid: files\n')
    assert.equal(readSubids({ name: 'ann', uid: 1000 }, files), { uid: [{ start: 100000, count: 65536 }], gid: [{ start: 200000, count: 65536 }], source: 'files' })
    // missing files: no ranges, no error
    assert.equal(readSubids({ name: 'ann', uid: 1000 }, { ...files, subuid: join(dir, 'none') }).uid, [])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('freeSubidStart: the lowest block of 65536 ids no user has in either file, as useradd picks it', () => {
  assert.is(freeSubidStart('', ''), 100000)
  assert.is(freeSubidStart('ann:100000:65536\n', ''), 165536)
  // a range in either file counts; gaps too small are skipped; unsorted input, comments, junk
  assert.is(freeSubidStart('bob:165536:65536\n# x:1:1\nann:100000:65536\n', 'carl:231072:10\n'), 231082)
  assert.is(freeSubidStart('a:100000:1000\nb:130000:65536\n', 'junk\n'), 195536)
  assert.is(freeSubidStart('a:100010:5\n', ''), 100015)
  assert.is(freeSubidStart('a:0:600100000\n', ''), undefined)
})

test('addRangesFix: a usermod with a free block, or whom to ask', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-subid-'))
  try {
    const files = { subuid: join(dir, 'subuid'), subgid: join(dir, 'subgid'), nsswitch: join(dir, 'nsswitch.conf') }
    writeFileSync(files.subuid, 'ann:100000:65536\n')
    writeFileSync(files.subgid, 'bob:165536:65536\n')
    writeFileSync(files.nsswitch, 'passwd: files\n')
    assert.match(addRangesFix('carl', files), /^sudo usermod --add-subuids 231072-296607 --add-subgids 231072-296607 carl \(/)
    writeFileSync(files.nsswitch, 'subid: sss\n')
    assert.match(addRangesFix('carl', files), /^ask your administrator .* from sss/)
    // readSubids gives the fix where the user has no range
    writeFileSync(files.nsswitch, '')
    assert.match(readSubids({ name: 'carl', uid: 1002 }, files).fix!, /--add-subuids 231072-296607/)
    assert.is(readSubids({ name: 'ann', uid: 1000 }, { ...files, subgid: files.subuid }).fix, undefined)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('findIdmapHelpers: the shape, on this machine', () => {
  const h = findIdmapHelpers()
  assert.type(h.usable, 'boolean')
  if (h.usable) {
    assert.ok(h.newuidmap && h.newgidmap)
    assert.type(h.setuidRoot, 'boolean')
  } else assert.type(h.reason, 'string')
})

test.run()

import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { formatIdMap, formatRanges, judgeHelpers, judgeIdMapping, judgeSubids, parseGetcap, parseIdMapText } from '../../core/host/ids.js'
import type { UsernsTrial } from '../../core/host/kernel.js'
import { NO_NEW_PRIVS_FIX, type IdmapHelpers, type Subids } from '../../core/host/subid.js'

const getcaps: [string, string, string, boolean][] = [
  ['/usr/bin/newuidmap cap_setuid=ep\n', '/usr/bin/newuidmap', 'cap_setuid', true],
  ['/usr/bin/newuidmap = cap_setuid+ep\n', '/usr/bin/newuidmap', 'cap_setuid', true], // libcap < 2.30
  ['/usr/bin/newgidmap cap_setgid,cap_dac_override=ep\n', '/usr/bin/newgidmap', 'cap_setgid', true],
  ['/usr/bin/newuidmap cap_setuid=p\n', '/usr/bin/newuidmap', 'cap_setuid', false], // not effective
  ['/usr/bin/newuidmap cap_setgid=ep\n', '/usr/bin/newuidmap', 'cap_setuid', false],
  ['/usr/bin/newuidmapx cap_setuid=ep\n', '/usr/bin/newuidmap', 'cap_setuid', false],
  ['', '/usr/bin/newuidmap', 'cap_setuid', false],
]
for (const [text, path, cap, want] of getcaps) {
  test(`parseGetcap ${JSON.stringify(text)} → ${want}`, () => assert.is(parseGetcap(text, path, cap), want))
}

test('parseIdMapText, formatIdMap, formatRanges', () => {
  const map = parseIdMapText('         0       1000          1\n         1     100000      65536\n')
  assert.equal(map, [{ inside: 0, outside: 1000, count: 1 }, { inside: 1, outside: 100000, count: 65536 }])
  assert.is(formatIdMap(map), '0 → 1000, 1-65536 → 100000-165535')
  assert.is(formatRanges([{ start: 100000, count: 65536 }, { start: 5, count: 1 }]), '100000-165535, 5')
})

const ann = { uid: 1000, gid: 1000, user: 'ann', env: {} }
const full: Subids = { uid: [{ start: 100000, count: 65536 }], gid: [{ start: 100000, count: 65536 }], source: 'files' }
const none: Subids = { uid: [], gid: [], source: 'files' }

test('judgeSubids', () => {
  assert.equal([judgeSubids(full, ann).status, judgeSubids(full, ann).value], ['ok', '65536 uids (100000-165535), 65536 gids (100000-165535) from /etc/subuid, /etc/subgid'])
  // the fix is the one readSubids computed from the files (a free block), never a fixed range
  const missing = judgeSubids({ ...none, fix: 'sudo usermod --add-subuids 231072-296607 --add-subgids 231072-296607 ann' }, ann)
  assert.is(missing.status, 'warning')
  assert.match(missing.value, /none for ann .*only your own id is mapped/)
  assert.is(missing.fix, 'sudo usermod --add-subuids 231072-296607 --add-subgids 231072-296607 ann')
  assert.match(judgeSubids(none, ann).fix!, /^ask your administrator/)
  const small = judgeSubids({ ...full, uid: [{ start: 100000, count: 1000 }] }, ann)
  assert.is(small.status, 'warning')
  assert.match(small.value, /ids above 1000 fail/)
  assert.is(judgeSubids(none, { ...ann, uid: 0 }).status, 'ok')
  assert.match(judgeSubids({ ...full, source: 'nss:sss' }, ann).value, /from nss:sss$/)
})

const setuid: IdmapHelpers = { newuidmap: '/usr/bin/newuidmap', newgidmap: '/usr/bin/newgidmap', usable: true, setuidRoot: true }
const plain: IdmapHelpers = { ...setuid, setuidRoot: false }
const ok: UsernsTrial = { ok: true }
const fellBack: UsernsTrial = { ok: true, fallback: 'newuidmap failed: newuidmap: write to uid_map failed: Operation not permitted' }

const helpers: [string, Parameters<typeof judgeHelpers>[0], UsernsTrial | undefined, boolean, string, RegExp, RegExp | undefined][] = [
  ['setuid root', { helpers: setuid }, undefined, false, 'ok', /\(setuid root\)$/, undefined],
  ['setuid root, tested', { helpers: setuid }, ok, true, 'ok', /\(setuid root; tested\)$/, undefined],
  ['missing', { helpers: { usable: false, reason: 'newuidmap and newgidmap are not installed (...)' } }, undefined, false, 'warning', /not installed/, /apt install uidmap.*dnf install shadow-utils/],
  ['no_new_privs', { helpers: { ...setuid, usable: false, reason: 'this process runs with no_new_privs (...)', fix: NO_NEW_PRIVS_FIX } }, undefined, false, 'warning', /no_new_privs/, /NoNewPrivileges=no/],
  ['file capabilities', { helpers: plain, fileCaps: { newuidmap: true, newgidmap: true } }, undefined, false, 'ok', /file capabilities cap_setuid, cap_setgid/, undefined],
  ['neither setuid nor capabilities', { helpers: plain, fileCaps: { newuidmap: true, newgidmap: false } }, undefined, false, 'warning', /neither setuid root nor/, /chmod u\+s/],
  ['capabilities not checked', { helpers: plain, fileCaps: 'unchecked' }, undefined, false, 'warning', /present, not setuid \(file capabilities not checked/, /chmod u\+s/],
  ['trial fell back to a single mapping', { helpers: plain, fileCaps: 'unchecked' }, fellBack, true, 'warning', /failed: newuidmap failed/, /chmod u\+s/],
]
for (const [name, facts, trial, used, status, value, fix] of helpers) {
  test(`judgeHelpers: ${name}`, () => {
    const item = judgeHelpers(facts, ann, trial, used)
    assert.is(item.status, status)
    assert.match(item.value, value)
    if (fix) assert.match(item.fix!, fix)
    else assert.is(item.fix, undefined)
  })
}

test('judgeHelpers: root needs none', () => {
  assert.is(judgeHelpers({ helpers: { usable: false, reason: 'x' } }, { uid: 0 }).status, 'ok')
})

test('judgeIdMapping: predicted, tested, single', () => {
  const sub = judgeIdMapping({ subids: full, helpers: setuid }, ann)
  assert.is(sub.status, 'ok')
  assert.is(sub.value, 'uids and gids 0 → 1000, 1-65536 → 100000-165535')
  assert.is(sub.details.mode, 'subordinate')

  const seen = judgeIdMapping({ subids: full, helpers: setuid }, ann, { ok: true, uidMap: '0 1000 1\n1 100000 65536\n', gidMap: '0 1000 1\n1 200000 65536\n' })
  assert.is(seen.value, 'uids 0 → 1000, 1-65536 → 100000-165535; gids 0 → 1000, 1-65536 → 200000-265535 (tested)')

  const noRanges = judgeIdMapping({ subids: none, helpers: setuid }, ann)
  assert.is(noRanges.status, 'warning')
  assert.match(noRanges.value, /^single, uids and gids 0 → 1000: only root exists/)
  assert.is(noRanges.fix, 'get subordinate ids (above)')

  const broken = judgeIdMapping({ subids: full, helpers: plain }, ann, { ...fellBack, uidMap: '0 1000 1\n', gidMap: '0 1000 1\n' })
  assert.is(broken.details.mode, 'single')
  assert.is(broken.fix, 'fix newuidmap/newgidmap (above)')

  const forced = judgeIdMapping({ subids: full, helpers: setuid }, { ...ann, env: { SKIFF_IDMAP: 'single' } })
  assert.is(forced.status, 'ok')
  assert.match(forced.value, /SKIFF_IDMAP=single/)

  assert.is(judgeIdMapping({ subids: none, helpers: { usable: false } }, { ...ann, uid: 0, gid: 0 }).value, 'every id onto itself (root)')
})

test.run()

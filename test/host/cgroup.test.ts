import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cgroupLayout, gatherCgroups, judgeCgroups, parseProcCgroup, v1ControllersOf, type CgroupFacts } from '../../core/host/cgroup.js'
import { parseMountinfo } from '../../core/host/mounts.js'

test('parseProcCgroup: v1 lines, the v2 line, colons in paths', () => {
  assert.equal(parseProcCgroup('12:cpu,cpuacct:/\n1:name=systemd:/user\n0::/user.slice/u.scope\n'), {
    v2Path: '/user.slice/u.scope',
    v1: [{ id: 12, controllers: ['cpu', 'cpuacct'], path: '/' }, { id: 1, controllers: ['name=systemd'], path: '/user' }],
  })
  assert.equal(parseProcCgroup('0::/a:b\n'), { v2Path: '/a:b', v1: [] })
  assert.equal(parseProcCgroup(''), { v1: [] })
})

const V2_MOUNTS = '30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n'
const HYBRID_MOUNTS = [
  '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
  '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd',
  '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
].join('\n')
const HYBRID_PROC = '4:memory:/x\n1:cpu:/\n9:name=systemd:/\n0::/\n'
const V1_MOUNTS = HYBRID_MOUNTS.split('\n').filter((l) => !l.includes('cgroup2')).join('\n')

const layouts: [string, string, string, object][] = [
  ['v2', V2_MOUNTS, '0::/user.slice/user-1000.slice/session-2.scope\n', { version: 'v2', unifiedMount: '/sys/fs/cgroup', dir: '/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope', v1Controllers: [] }],
  ['v2 at the root cgroup', V2_MOUNTS, '0::/\n', { version: 'v2', dir: '/sys/fs/cgroup' }],
  ['hybrid (this machine)', HYBRID_MOUNTS, HYBRID_PROC, { version: 'hybrid', unifiedMount: '/sys/fs/cgroup/unified', dir: '/sys/fs/cgroup/unified', v1Controllers: ['cpu', 'memory'] }],
  ['v1', V1_MOUNTS, HYBRID_PROC.replace('0::/\n', ''), { version: 'v1', unifiedMount: undefined, dir: undefined }],
  ['none', '', '', { version: 'none' }],
  // a container's cgroup namespace mount: its root is a sub-cgroup
  ['mount of a sub-tree', '30 23 0:26 /ctr /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n', '0::/ctr/app\n', { version: 'v2', dir: '/sys/fs/cgroup/app' }],
  ['our cgroup outside the mounted sub-tree', '30 23 0:26 /ctr /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n', '0::/other\n', { version: 'v2', dir: undefined }],
]
for (const [name, mounts, proc, want] of layouts) {
  test(`cgroupLayout: ${name}`, () => {
    const got = cgroupLayout(parseMountinfo(mounts), parseProcCgroup(proc)) as unknown as Record<string, unknown>
    for (const [k, v] of Object.entries(want)) assert.equal(got[k], v, k)
    // run's shortcut (core/cgroup/limits.ts): v1 controllers in /proc/self/cgroup mean "not v2", mounts unread
    if (v1ControllersOf(parseProcCgroup(proc)).length > 0) assert.is.not(got.version, 'v2')
  })
}

test('v1ControllersOf: controllers of v1 hierarchies, not named ones', () => {
  assert.equal(v1ControllersOf(parseProcCgroup(HYBRID_PROC)), ['cpu', 'memory'])
  assert.equal(v1ControllersOf(parseProcCgroup('1:name=systemd:/\n0::/\n')), [])
})

/** A fake cgroup2 tree in a temp dir, as systemd lays it out: the user owns their subtree. */
function fakeTree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'skiff-cg-'))
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(root, rel, '..'), { recursive: true })
    writeFileSync(join(root, rel), text)
  }
  return root
}

test('gatherCgroups: the delegated subtree, read from a directory tree', () => {
  const root = fakeTree({
    'cgroup.controllers': 'cpuset cpu io memory hugetlb pids\n',
    'cgroup.procs': '',
    'user.slice/cgroup.controllers': 'cpuset cpu io memory pids\n',
    'user.slice/cgroup.procs': '',
    'user.slice/d/cgroup.controllers': 'cpu memory pids\n',
    'user.slice/d/cgroup.subtree_control': 'memory pids\n',
    'user.slice/d/cgroup.procs': '',
    'user.slice/d/leaf/cgroup.controllers': 'memory pids\n',
    'user.slice/d/leaf/cgroup.subtree_control': '',
    'user.slice/d/leaf/cgroup.procs': '',
  })
  try {
    const mounts = parseMountinfo(`30 23 0:26 / ${root} rw - cgroup2 cgroup2 rw\n`)
    const uid = process.getuid!()
    const f = gatherCgroups({ mounts, uid, systemd: false }, '0::/user.slice/d/leaf\n')
    assert.is(f.layout.dir, join(root, 'user.slice/d/leaf'))
    assert.ok(f.current!.writable)
    assert.equal(f.current!.controllers, ['memory', 'pids'])
    assert.equal(f.current!.subtreeControl, [])
    // every directory of the fake tree is ours: the walk goes up to the mount point
    assert.is(f.delegated!.dir, root)
    assert.equal(f.delegated!.controllers, ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids'])
    // a tree owned by someone else delegates nothing
    assert.is(gatherCgroups({ mounts, uid: uid + 1, systemd: false }, '0::/user.slice/d/leaf\n').delegated, undefined)
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})

const dir = (d: string, controllers: string[], owner = 1000, writable = true) => ({ dir: d, owner, writable, controllers, subtreeControl: [] })
const v2 = { version: 'v2' as const, unifiedMount: '/sys/fs/cgroup', v1Controllers: [] }
const ALL = ['cpu', 'cpuset', 'io', 'memory', 'pids']

const verdicts: [string, CgroupFacts, number, string, RegExp, RegExp | undefined][] = [
  ['v2, all delegated directly', { layout: { ...v2, path: '/d', dir: '/sys/fs/cgroup/d' }, current: dir('/sys/fs/cgroup/d', ALL), delegated: dir('/sys/fs/cgroup/d', ALL), systemd: false }, 1000, 'ok', /delegated at \/sys\/fs\/cgroup\/d: cpu cpuset io memory pids/, undefined],
  ['v2, systemd default (memory pids) through the user manager', {
    layout: { ...v2, path: '/user.slice/user-1000.slice/session-2.scope', dir: '/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope' },
    current: dir('/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope', [], 0, false),
    userManager: dir('/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service', ['memory', 'pids']),
    userManagerSocket: '/run/user/1000/systemd/private',
    systemdRun: '/usr/bin/systemd-run',
    systemd: true,
  }, 1000, 'warning', /systemd user manager .*a scope per container.*: memory pids; not delegated: cpu cpuset io/, /Delegate=cpu cpuset io memory pids/],
  ['v2, systemd user manager not reachable (no session)', {
    layout: { ...v2, path: '/user.slice/user-1000.slice/session-2.scope', dir: '/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope' },
    current: dir('/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope', [], 0, false),
    userManager: dir('/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service', ['memory', 'pids']),
    systemdRun: '/usr/bin/systemd-run',
    systemd: true,
  }, 1000, 'warning', /cannot be asked for a scope: its socket .*systemd\/private is missing/, /enable-linger/],
  ['v2, nothing writable, no systemd', { layout: { ...v2, path: '/x', dir: '/sys/fs/cgroup/x' }, current: dir('/sys/fs/cgroup/x', ALL, 0, false), systemd: false }, 1000, 'warning', /limits unavailable .*not yours to write/, /ask an admin to delegate/],
  ['v2, nothing writable, systemd', { layout: { ...v2, path: '/x', dir: '/sys/fs/cgroup/x' }, current: dir('/sys/fs/cgroup/x', ALL, 0, false), systemd: true }, 1000, 'warning', /limits unavailable/, /user@\.service\.d\/delegate\.conf/],
  ['hybrid (this machine)', {
    layout: { version: 'hybrid', unifiedMount: '/sys/fs/cgroup/unified', path: '/', dir: '/sys/fs/cgroup/unified', v1Controllers: ['cpu', 'memory'] },
    current: dir('/sys/fs/cgroup/unified', ['hugetlb'], 0, false),
    systemd: false,
  }, 1000, 'warning', /limits unavailable \(hybrid: v1 holds cpu memory; cgroup2 at \/sys\/fs\/cgroup\/unified; offers hugetlb\)/, /systemd\.unified_cgroup_hierarchy=1/],
  ['v1 only', { layout: { version: 'v1', v1Controllers: ['cpu', 'memory'] }, systemd: true }, 1000, 'warning', /v1 only/, /unified_cgroup_hierarchy/],
  ['none', { layout: { version: 'none', v1Controllers: [] }, systemd: false }, 1000, 'warning', /no cgroup filesystem/, /mount cgroup2/],
]
for (const [name, facts, uid, status, value, fix] of verdicts) {
  test(`judgeCgroups: ${name}`, () => {
    const item = judgeCgroups(facts, { uid })
    assert.is(item.status, status)
    assert.match(item.value, value)
    if (fix) assert.match(item.fix!, fix)
    else assert.is(item.fix, undefined)
  })
}

test.run()

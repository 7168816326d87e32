// config.json → launch plan (core/runtime/config.ts): what reaches the plan, what is refused.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, mkdtempSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ociLimits, translateConfig, type OciConfig, type TranslateInput } from '../../core/runtime/config.js'
import type { IdMapPlan, MountOp } from '../../core/plan.js'

const t = suite('runtime config')
const bundle = mkdtempSync(join(tmpdir(), 'skiff-bundle-'))
mkdirSync(join(bundle, 'rootfs'))

const userMap: IdMapPlan = { mode: 'helpers', uidMap: [{ inside: 0, outside: 1000, count: 1 }], gidMap: [{ inside: 0, outside: 1000, count: 1 }], denySetgroups: false }

function config(edit: (c: OciConfig) => void = () => {}): OciConfig {
  const c: OciConfig = {
    ociVersion: '1.2.0',
    process: { args: ['sh'], cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 }, capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] } },
    root: { path: 'rootfs', readonly: true },
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
    linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'network' }] },
  }
  edit(c)
  return c
}

function plan(c: OciConfig, extra: Partial<TranslateInput> = {}) {
  const stat = (p: string) => (p === '/dev/fuse' ? { isChar: true, isBlock: false, rdev: (10 << 8) | 229 } : undefined)
  return translateConfig({ config: c, bundle, id: 'x', root: false, realRoot: false, defaultIdMap: userMap, lastCap: 40, statDevice: stat, ...extra })
}

t('the basics: namespaces, the root bound and made read-only last, process, default devices and links', () => {
  const p = plan(config())
  assert.equal(p.namespaces, ['pid', 'mount', 'net'])
  assert.equal(p.rootfs, { kind: 'bind', source: join(bundle, 'rootfs'), target: join(bundle, 'rootfs'), readonly: false })
  assert.equal(p.mounts.at(-1), { kind: 'readonly', target: '/' })
  assert.equal(p.process.args, ['sh'])
  assert.equal(p.process.capabilities.effective, [5])
  assert.ok(p.mounts.some((m) => m.kind === 'bind' && m.target === '/dev/null'))
  assert.ok(p.mounts.some((m) => m.kind === 'symlink' && m.target === '/dev/ptmx'))
  assert.equal(p.idmap, userMap, 'rootless without a user namespace: one is added (crun does)')
})

t('mounts: flags, propagation, bind and rbind, filesystem data; cgroup (v1 in runc\'s spec) becomes cgroup2', () => {
  const p = plan(config((c) => {
    c.mounts = [
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/data', type: 'bind', source: 'data', options: ['rbind', 'ro', 'rprivate'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['rw', 'nodev'] },
    ]
  }))
  const byTarget = (t: string) => p.mounts.find((m) => 'target' in m && m.target === t) as MountOp
  assert.equal(byTarget('/dev'), { kind: 'mount', source: 'tmpfs', target: '/dev', fstype: 'tmpfs', flags: ['nosuid', 'strictatime'], data: 'mode=755,size=65536k' })
  assert.equal(byTarget('/data'), { kind: 'bind', source: join(bundle, 'data'), target: '/data', flags: ['rec', 'ro', 'rprivate'] })
  assert.equal(byTarget('/sys/fs/cgroup'), { kind: 'mount', source: 'cgroup2', target: '/sys/fs/cgroup', fstype: 'cgroup2', flags: ['ro', 'nosuid'], optional: true })
  assert.is((byTarget('/dev/mqueue') as { optional?: boolean }).optional, true, 'rootless: skipped where the kernel refuses it')
  assert.throws(() => plan(config((c) => void (c.mounts = [{ destination: '/x', type: 'tmpfs', options: ['tmpcopyup'] }]))), /option tmpcopyup is not supported/)
  assert.throws(() => plan(config((c) => void (c.mounts = [{ destination: 'rel', type: 'tmpfs' }]))), /absolute path/)
})

t('namespaces by path, and the id maps each case gets', () => {
  const joined = plan(config((c) => {
    c.linux!.namespaces = [{ type: 'mount' }, { type: 'user', path: '/proc/1/ns/user' }, { type: 'network', path: '/proc/1/ns/net' }]
  }))
  assert.equal(joined.joinNamespaces, [{ type: 'user', path: '/proc/1/ns/user' }, { type: 'net', path: '/proc/1/ns/net' }])
  assert.is(joined.idmap.mode, 'none')
  assert.is(plan(config(), { root: true }).idmap.mode, 'none', 'root without a user namespace makes none')
  const own = plan(config((c) => {
    c.linux!.namespaces!.push({ type: 'user' })
    c.linux!.uidMappings = [{ containerID: 0, hostID: process.getuid!(), size: 1 }]
    c.linux!.gidMappings = [{ containerID: 0, hostID: process.getgid!(), size: 1 }]
  }), { root: process.getuid!() === 0 })
  assert.is(own.idmap.mode, 'self')
  assert.equal(plan(config((c) => void (c.linux!.namespaces = [{ type: 'pid' }]))).namespaces, ['pid', 'mount'], 'a mount namespace always: the root filesystem needs one')
})

t('devpts: a gid= the user namespace does not map is left out (crun does the same)', () => {
  const pts = (idmap: IdMapPlan) => plan(config((c) => void (c.mounts = [{ destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['newinstance', 'gid=5', 'mode=0620'] }])), { defaultIdMap: idmap }).mounts[0] as { data?: string }
  assert.is(pts(userMap).data, 'newinstance,mode=0620')
  assert.is(pts({ ...userMap, gidMap: [{ inside: 0, outside: 1000, count: 1 }, { inside: 1, outside: 100000, count: 65536 }] }).data, 'newinstance,gid=5,mode=0620')
})

t('devices are bound from the host node of the same number; a missing one is refused', () => {
  const p = plan(config((c) => void (c.linux!.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }])))
  assert.ok(p.mounts.some((m) => m.kind === 'bind' && m.target === '/dev/fuse' && m.source === '/dev/fuse'))
  assert.throws(() => plan(config((c) => void (c.linux!.devices = [{ path: '/dev/sdz', type: 'b', major: 8, minor: 99 }]))), /no such node to bind/)
  const fifo = plan(config((c) => void (c.linux!.devices = [{ path: '/dev/pipe', type: 'p', fileMode: 0o600 }]))).mounts.find((m) => 'target' in m && m.target === '/dev/pipe')
  assert.equal(fifo, { kind: 'mknod', target: '/dev/pipe', type: 'p', major: 0, minor: 0, mode: 0o600, uid: 0, gid: 0 })
})

t('capabilities: unknown to this kernel left out; ambient only when permitted and inheritable; rlimits', () => {
  const p = plan(config((c) => {
    c.process!.capabilities = { bounding: ['CAP_KILL', 'CAP_CHECKPOINT_RESTORE'], permitted: ['CAP_KILL'], inheritable: ['CAP_KILL'], ambient: ['CAP_KILL', 'CAP_CHOWN'] }
    c.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 2 ** 64 - 1 }]
  }), { lastCap: 39 })
  assert.equal(p.process.capabilities.bounding, [5])
  assert.equal(p.process.capabilities.ambient, [5])
  assert.equal(p.process.rlimits, [{ name: 'nofile', type: 7, soft: 1024, hard: -1 }])
  assert.throws(() => plan(config((c) => void (c.process!.capabilities = { bounding: ['CAP_NOPE'] }))), /unknown capability/)
})

t('refused by name: LSM labels, limits that need a cgroup, unsupported propagation; defaults accepted', () => {
  assert.throws(() => plan(config((c) => void (c.process!.apparmorProfile = 'x'))), /process\.apparmorProfile/)
  // SELinux labels: nothing to do on a host without SELinux (this one), refused on one with it
  if (!existsSync('/sys/fs/selinux/enforce')) plan(config((c) => void (c.linux!.mountLabel = 'system_u:object_r:container_file_t:s0')))
  assert.throws(() => plan(config((c) => void (c.linux!.resources = { memory: { kernel: 1 << 20 } }))), /linux\.resources\.memory\.kernel/)
  assert.throws(() => plan(config((c) => void (c.linux!.resources = { hugepageLimits: [{ pageSize: '2MB', limit: 1 }] }))), /hugepageLimits/)
  assert.throws(() => plan(config((c) => void (c.linux!.rootfsPropagation = 'bogus'))), /rootfsPropagation/)
  const shared = plan(config((c) => void (c.linux!.rootfsPropagation = 'rshared')))
  assert.equal([shared.rootPropagation, shared.rootfsPropagation], ['rprivate', 'rshared'])
  assert.throws(() => plan(config((c) => void (c.linux!.personality = {}))), /linux\.personality/)
  // containerd's cpu.shares 1024 and device rules ask for nothing skiff does not do already
  plan(config((c) => void (c.linux!.resources = { devices: [{ allow: false, access: 'rwm' }], cpu: { shares: 1024 }, memory: { limit: 0 } })))
})

t('resources become skiff\'s limits (the cgroup v2 files run --memory and the rest write)', () => {
  assert.equal(ociLimits({ memory: { limit: 64 << 20, swap: 128 << 20, reservation: 0 }, cpu: { shares: 512, quota: 50_000, period: 100_000, cpus: '0-1' }, pids: { limit: 100 }, blockIO: { weight: 300 }, unified: { 'memory.high': '50M' } }),
    { conf: { 'memory.high': '50M' }, memory: 64 << 20, memorySwap: 128 << 20, cpuShares: 512, cpus: 0.5, cpusetCpus: '0-1', pidsLimit: 100, blkioWeight: 300 })
  assert.equal(ociLimits({ cpu: { shares: 1024 }, memory: { limit: 0, swap: -1 }, pids: { limit: -1 } }), { conf: {} })
})

t.run()

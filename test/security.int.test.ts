// Capabilities and security options for real, as the unprivileged user: the sets /proc shows in
// the container and in an exec, no_new_privs either way, masked paths added and removed, the
// seccomp filter (the system calls a probe program makes), and an error for what skiff cannot
// honour.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { probeResults, syscallProbeImage } from './fixtures/syscall-probe.js'
import { busyboxArchive, need, probe, tempDir, useSandbox } from './helpers/env.js'

const t = suite('security')
const sb = useSandbox(t)

function ready(what: string): boolean {
  return need(what, probe.skiff(), probe.rootless(), probe.busybox())
}

function ok(args: string[]): string {
  const r = sb.run(args)
  assert.is(r.status, 0, r.describe())
  return r.stdout
}

const status = (extra: string[]) => ok(['run', '--rm', ...extra, 'busybox', 'grep', '-E', '^(CapEff|CapBnd|NoNewPrivs)', '/proc/self/status'])

t('--cap-add, --cap-drop, no-new-privileges: what /proc/self/status says, in run and in exec', () => {
  if (!ready('security: capabilities')) return
  ok(['load', '-q', '-i', busyboxArchive('docker')])
  assert.match(status([]), /CapEff:\s+00000000a80425fb\nCapBnd:\s+00000000a80425fb\nNoNewPrivs:\s+1/)
  assert.match(status(['--cap-drop', 'ALL', '--cap-add', 'net_admin']), /CapEff:\s+0000000000001000\nCapBnd:\s+0000000000001000/)
  assert.match(status(['--cap-add', 'CAP_SYS_PTRACE', '--cap-drop', 'chown']), /CapEff:\s+00000000a80c25fa/)
  assert.match(status(['--security-opt', 'no-new-privileges=false']), /NoNewPrivs:\s+0/)
  // a non-root user keeps the bounding set only, as in Docker
  assert.match(ok(['run', '--rm', '--user', '1000', '--cap-add', 'NET_ADMIN', 'busybox', 'grep', 'CapEff', '/proc/self/status']), /CapEff:\s+0000000000000000/)
  ok(['run', '-d', '--name', 'c1', '--cap-drop', 'ALL', '--cap-add', 'KILL', 'busybox', 'sleep', '60'])
  assert.match(ok(['exec', 'c1', 'grep', 'CapEff', '/proc/self/status']), /CapEff:\s+0000000000000020/)
  const insp = JSON.parse(ok(['inspect', 'c1']))[0] as { EffectiveCaps: string[]; HostConfig: { CapAdd: string[]; CapDrop: string[] } }
  assert.equal(insp.EffectiveCaps, ['CAP_KILL'])
  assert.equal(insp.HostConfig.CapDrop, ['ALL'])
  assert.equal(insp.HostConfig.CapAdd, ['KILL'])
})

t('--group-add: by number and by the image\'s group names, in run and exec', () => {
  if (!ready('security: group-add')) return
  ok(['load', '-q', '-i', busyboxArchive('docker')])
  const groupOf = ok(['run', '--rm', 'busybox', 'sh', '-c', 'head -n 3 /etc/group | tail -n 1']).trim().split(':')
  const r = ok(['run', '--rm', '--group-add', '1234', '--group-add', groupOf[0]!, 'busybox', 'id', '-G'])
  assert.ok(r.trim().split(' ').includes('1234'), r)
  assert.ok(r.trim().split(' ').includes(groupOf[2]!), r)
  const bad = sb.run(['run', '--rm', '--group-add', 'nosuchgroup', 'busybox', 'true'])
  assert.is(bad.status, 125, bad.describe())
  assert.match(bad.stderr, /--group-add nosuchgroup: no matching entries in the image's \/etc\/group/)
})

t('--ulimit: the limits in run and exec; one above the session\'s hard limit is refused', () => {
  if (!ready('security: ulimit')) return
  ok(['load', '-q', '-i', busyboxArchive('docker')])
  assert.equal(ok(['run', '--rm', '--ulimit', 'nofile=512:1024', '--ulimit', 'core=0', 'busybox', 'sh', '-c', 'ulimit -n; ulimit -Hn; ulimit -c']).trim().split('\n'), ['512', '1024', '0'])
  ok(['run', '-d', '--name', 'u1', '--ulimit', 'nproc=100', 'busybox', 'sleep', '60'])
  assert.is(ok(['exec', 'u1', 'sh', '-c', 'ulimit -u']).trim(), '100')
  const r = sb.run(['run', '--rm', '--ulimit', 'nofile=1024:unlimited', 'busybox', 'true'])
  if (!/unlimited/.test(readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files')) ?? '')) {
    assert.is(r.status, 125, r.describe())
    assert.match(r.stderr, /above this session's/)
  }
})

t('--sysctl: namespaced ones set in the container\'s own namespaces; others refused', () => {
  if (!ready('security: sysctl')) return
  ok(['load', '-q', '-i', busyboxArchive('docker')])
  assert.equal(ok(['run', '--rm', '--network', 'none', '--sysctl', 'net.ipv4.ip_forward=1', '--sysctl', 'kernel.shmmni=1000', 'busybox', 'sh', '-c',
    'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni']).trim().split('\n'), ['1', '1000'])
  for (const [args, re] of [
    [['--sysctl', 'kernel.hostname=x'], /not a sysctl a container can have of its own/],
    [['--network', 'host', '--sysctl', 'net.ipv4.ip_forward=1'], /shares another network namespace/],
    [['--network', 'none', '--sysctl', 'net.ipv4.nosuch=1'], /cannot set the sysctl net\.ipv4\.nosuch: ENOENT/],
  ] as const) {
    const r = sb.run(['run', '--rm', ...args, 'busybox', 'true'])
    assert.is(r.status, 125, r.describe())
    assert.match(r.stderr, re)
  }
})

t('--device binds a device the user can open; --privileged: every capability, nothing masked, the user\'s devices', () => {
  if (!ready('security: devices')) return
  ok(['load', '-q', '-i', busyboxArchive('docker')])
  // /dev/full: a device every user can open, and not among the ones every container gets at its path
  assert.match(ok(['run', '--rm', '--device', '/dev/full:/dev/myfull', 'busybox', 'sh', '-c', 'ls -l /dev/myfull; echo x > /dev/myfull || echo full']), /^c.* 1,\s+7 .*\/dev\/myfull\n[\s\S]*full/)
  for (const [args, re] of [
    [['--device', '/dev/nosuch'], /\/dev\/nosuch does not exist/],
    [['--device', '/etc/hostname'], /is not a device node/],
    [['--device', '/dev/full:r'], /cannot keep a device you can write to read-only/],
  ] as const) {
    const r = sb.run(['run', '--rm', ...args, 'busybox', 'true'])
    assert.is(r.status, 125, r.describe())
    assert.match(r.stderr, re)
  }
  const p = ok(['run', '--rm', '--privileged', 'busybox', 'sh', '-c', 'grep CapEff /proc/self/status; mount | grep -c " on /proc/timer_list " || true'])
  assert.match(p, /CapEff:\s+000001ffffffffff\n0\n/)
  ok(['run', '-d', '--name', 'pv', '--privileged', 'busybox', 'sleep', '60'])
  const insp = JSON.parse(ok(['inspect', 'pv']))[0] as { HostConfig: { Privileged: boolean } }
  assert.is(insp.HostConfig.Privileged, true)
})

t('mask and unmask: /proc paths hidden or shown', () => {
  if (!ready('security: masks')) return
  ok(['load', '-q', '-i', busyboxArchive('docker')])
  // /proc/timer_list is among Docker's masked paths: /dev/null is mounted over it
  const mounted = (extra: string[], path: string) => ok(['run', '--rm', ...extra, 'busybox', 'sh', '-c', `mount | grep -c " on ${path} " || true`]).trim()
  assert.is(mounted([], '/proc/timer_list'), '1')
  assert.is(mounted(['--security-opt', 'unmask=/proc/timer_list'], '/proc/timer_list'), '0')
  assert.is(mounted(['--security-opt', 'mask=/proc/cpuinfo'], '/proc/cpuinfo'), '1')
  assert.is(ok(['run', '--rm', '--security-opt', 'mask=/proc/cpuinfo', 'busybox', 'sh', '-c', 'wc -c < /proc/cpuinfo']).trim(), '0')
  // /proc/sys is read-only, unless unmask=ALL (then, with NET_ADMIN, its own network namespace's sysctls are its own)
  assert.match(sb.run(['run', '--rm', 'busybox', 'sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']).stderr, /Read-only file system/)
  assert.is(ok(['run', '--rm', '--security-opt', 'unmask=ALL', '--cap-add', 'NET_ADMIN', 'busybox', 'sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward && cat /proc/sys/net/ipv4/ip_forward']).trim(), '1')
})

t('options skiff cannot honour are errors, with Docker\'s status', () => {
  if (!ready('security: errors')) return
  ok(['load', '-q', '-i', busyboxArchive('docker')])
  for (const [args, re] of [
    [['--cap-add', 'CAP_NOPE'], /unknown capability "CAP_NOPE"/],
    [['--security-opt', 'seccomp=/nonexistent/profile.json'], /--security-opt seccomp \/nonexistent\/profile.json: no such file/],
    [['--security-opt', 'label=level:s0'], /no SELinux labels/],
    [['--security-opt', 'bogus'], /unknown option/],
  ] as const) {
    const r = sb.run(['run', '--rm', ...args, 'busybox', 'true'])
    assert.is(r.status, 125, r.describe())
    assert.match(r.stderr, re)
    assert.not.match(r.stderr, /internal error/)
  }
})

const PROBES = ['getpid', 'keyctl', 'add_key', 'request_key', 'mount', 'kexec_load', 'open_by_handle_at', 'bpf', 'perf_event_open', 'userfaultfd', 'io_uring_setup',
  'personality_rie', 'personality_query', 'personality_linux32', 'unshare_user', 'clone_newuser', 'clone_plain', 'clone3', 'fork', 'socket_inet', 'socket_vsock',
  'statmount', 'i386_getpid', 'i386_keyctl', 'x32_keyctl']

t('seccomp: the default profile refuses what Docker\'s does, answers new calls ENOSYS, on every x86 ABI; options change it', () => {
  if (!ready('security: seccomp')) return
  ok(['load', '-q', '-i', syscallProbeImage()])
  const probeRun = (extra: string[], probes = PROBES) => probeResults(ok(['run', '--rm', ...extra, 'probe', 'syscall-probe', ...probes]))
  const d = probeRun([])
  for (const name of ['keyctl', 'add_key', 'request_key', 'mount', 'kexec_load', 'open_by_handle_at', 'bpf', 'perf_event_open', 'userfaultfd', 'io_uring_setup', 'personality_rie', 'unshare_user', 'clone_newuser', 'x32_keyctl']) {
    assert.is(d[name], 'EPERM', `${name}: ${JSON.stringify(d)}`)
  }
  for (const name of ['getpid', 'personality_query', 'personality_linux32', 'clone_plain', 'fork', 'socket_inet']) assert.is(d[name], '0', `${name}: ${JSON.stringify(d)}`)
  assert.is(d.clone3, 'ENOSYS', 'clone3: glibc falls back to clone')
  assert.is(d.statmount, 'ENOSYS', 'a syscall newer than skiff\'s table')
  assert.is(d.socket_vsock, 'EAFNOSUPPORT')
  // the i386 ABI (int 0x80) is filtered too, where the kernel has it
  if (d.i386_getpid === '0') assert.is(d.i386_keyctl, 'EPERM')
  assert.match(ok(['run', '--rm', 'probe', 'grep', 'Seccomp:', '/proc/self/status']), /Seccomp:\s+2/)

  // unconfined and --privileged: the kernel's own answers
  const u = probeRun(['--security-opt', 'seccomp=unconfined'], ['keyctl', 'perf_event_open', 'clone3'])
  assert.is(u.keyctl, '0')
  assert.is(u.perf_event_open, 'EFAULT')
  assert.is(u.clone3, 'EINVAL')
  assert.match(ok(['run', '--rm', '--privileged', 'probe', 'grep', 'Seccomp:', '/proc/self/status']), /Seccomp:\s+0/)
  // a capability opens the calls it gates
  const a = probeRun(['--cap-add', 'SYS_ADMIN'], ['mount', 'unshare_user', 'clone3'])
  assert.equal(a, { mount: '0', unshare_user: '0', clone3: 'EINVAL' })
  // without no_new_privs the filter is still there (loaded while the shim could)
  assert.is(probeRun(['--security-opt', 'no-new-privileges=false'], ['keyctl']).keyctl, 'EPERM')

  // a profile file of the user's, kept by the container and shown by inspect; exec runs under it
  const dir = tempDir('skiff-seccomp-')
  chmodSync(dir, 0o755) // the test user reads the profile
  const profile = join(dir, 'deny-mkdir.json')
  writeFileSync(profile, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] }), { mode: 0o644 })
  ok(['run', '-d', '--name', 'sc', '--security-opt', `seccomp=${profile}`, 'probe', 'sleep', '60'])
  const e = sb.run(['exec', 'sc', 'mkdir', '/x'])
  assert.match(e.stderr, /Permission denied/, e.describe())
  assert.is(ok(['inspect', '-f', '{{.SeccompProfile}}', 'sc']).trim(), profile)
  assert.is(ok(['run', '--rm', 'probe', 'true']), '')
  ok(['run', '-d', '--name', 'sd', 'probe', 'sleep', '60'])
  assert.is(ok(['inspect', '-f', '{{.SeccompProfile}}', 'sd']).trim(), 'default')
  assert.is(probeResults(ok(['exec', 'sd', 'syscall-probe', 'keyctl'])).keyctl, 'EPERM')
  // exec --privileged: every capability, the container's filter kept (as Docker)
  assert.match(ok(['exec', '--privileged', 'sd', 'grep', '-E', 'CapEff|Seccomp:', '/proc/self/status']), /CapEff:\s+000001ffffffffff\nSeccomp:\s+2/)
  for (const [text, re] of [['{', /the profile is not JSON/], ['{"defaultAction":"SCMP_ACT_NOPE"}', /unknown action "SCMP_ACT_NOPE"/]] as const) {
    writeFileSync(profile, text)
    const r = sb.run(['run', '--rm', '--security-opt', `seccomp=${profile}`, 'probe', 'true'])
    assert.is(r.status, 125, r.describe())
    assert.match(r.stderr, re)
  }
})

t.run()

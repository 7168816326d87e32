// What the OCI runtime face supports (runtime-spec features.md, `skiff runtime features`) and the
// config.json `spec` writes. Pure.
import { CAPABILITIES } from '../launch/capabilities.js'
import { MASKED_PATHS, READONLY_PATHS, DEFAULT_PATH } from '../launch/spec.js'

export function features(): Record<string, unknown> {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: '1.2.0',
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions: [
      'async', 'atime', 'bind', 'defaults', 'dev', 'diratime', 'dirsync', 'exec', 'noatime', 'nodev', 'nodiratime', 'noexec',
      'nomand', 'norelatime', 'nostrictatime', 'nosuid', 'private', 'rbind', 'relatime', 'ro', 'rprivate', 'rshared', 'rslave',
      'runbindable', 'rw', 'shared', 'slave', 'strictatime', 'suid', 'sync', 'unbindable',
    ],
    linux: {
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'user', 'uts'],
      capabilities: Object.keys(CAPABILITIES),
      cgroup: { v1: false, v2: true, systemd: false, systemdUser: false, rdma: false },
      seccomp: {
        enabled: true,
        actions: ['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE', 'SCMP_ACT_TRAP'],
        operators: ['SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_LE', 'SCMP_CMP_LT', 'SCMP_CMP_MASKED_EQ', 'SCMP_CMP_NE'],
        archs: ['SCMP_ARCH_X86', 'SCMP_ARCH_X86_64', 'SCMP_ARCH_X32', 'SCMP_ARCH_AARCH64'],
        supportedFlags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'],
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: false } },
    },
    annotations: { 'io.github.skiff.runtime': 'skiff' },
  }
}

/** runc's default config.json; rootless, the user mapped to root and /sys bound, as `runc spec --rootless`. */
export function specDocument(rootless: boolean, caps: string[], uid: number, gid: number): Record<string, unknown> {
  const mounts: Record<string, unknown>[] = [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', ...(rootless ? [] : ['gid=5'])] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    rootless
      ? { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] }
      : { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    ...(rootless ? [] : [{ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] }]),
  ]
  const namespaces = [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, ...(rootless ? [{ type: 'user' }] : [{ type: 'cgroup' }])]
  return {
    ociVersion: '1.2.0',
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: [`PATH=${DEFAULT_PATH}`, 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'skiff',
    mounts,
    linux: {
      ...(rootless ? { uidMappings: [{ containerID: 0, hostID: uid, size: 1 }], gidMappings: [{ containerID: 0, hostID: gid, size: 1 }] } : {}),
      ...(rootless ? {} : { resources: { devices: [{ allow: false, access: 'rwm' }] } }),
      namespaces,
      maskedPaths: [...MASKED_PATHS, '/proc/scsi'],
      readonlyPaths: READONLY_PATHS,
    },
  }
}

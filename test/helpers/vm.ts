// A small test VM with a pure cgroup v2 tree: qemu (software emulation, no KVM needed), Debian's
// kernel fetched by test/setup-host.sh, the host's / shared read-only over 9p, an ext4 scratch
// disk on /mnt (real user xattrs, for overlay whiteouts), and a cgroup subtree delegated to the
// test user exactly as systemd's user@.service does (Delegate=yes). Does I/O.
//
// runInVm(script) boots it, runs `script` (a file on the host, so visible in the VM) as the test
// user inside the delegated cgroup, and resolves with its status and the console output.
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir, type Check } from './env.js'

/** What the VM prints once booted, just before the script runs. */
const STARTED = 'vm: the script starts'

export const VM_DIR = process.env.SKIFF_VM_DIR || '/var/cache/skiff-vm'
const MODULES = ['virtio_ring', 'virtio', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio_pci', 'virtio_blk', 'netfs', 'fscache', '9pnet', '9pnet_virtio', '9p', 'crc16', 'crc32c_generic', 'mbcache', 'jbd2', 'ext4', 'overlay', 'fuse', 'tun']

/** A Check for probe lists: qemu and the kernel setup-host.sh fetched. */
export function vmCheck(): Check {
  const qemu = spawnSync('sh', ['-c', 'command -v qemu-system-x86_64'], { encoding: 'utf8' }).stdout.trim()
  if (!qemu) return { ok: false, reason: 'qemu-system-x86_64 is not installed (apt install qemu-system-x86)' }
  if (!existsSync(join(VM_DIR, 'vmlinuz'))) return { ok: false, reason: `no kernel for the test VM in ${VM_DIR} (run test/setup-host.sh as root)` }
  if (!existsSync('/bin/busybox')) return { ok: false, reason: 'busybox-static is not installed' }
  return { ok: true, reason: '' }
}

/**
 * The VM's /init: modules, the host's / read-only over 9p, scratch disk on /mnt, tmpfs on /run
 * and /home, cgroup2 with a subtree delegated to UID, then the script as that user in a leaf.
 */
function initScript(uid: number, gid: number, systemd: boolean): string {
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /newroot
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in ${MODULES.join(' ')}; do insmod /lib/modules/$m.ko 2>/dev/null; done
script=$(sed -n 's/.*skiffvm.script=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 hostroot /newroot || { echo "vm: cannot mount the host's root"; echo o > /proc/sysrq-trigger; }
mount -t ext4 /dev/vda /newroot/mnt || echo "vm: no scratch disk"
for d in run home root var/tmp; do mount -t tmpfs tmpfs /newroot/$d; done
mount --move /proc /newroot/proc; mount --move /sys /newroot/sys; mount --move /dev /newroot/dev
${systemd ? systemdBoot(uid, gid) : ''}exec switch_root /newroot /bin/sh -c '
  mount -t cgroup2 cgroup2 /sys/fs/cgroup
  mkdir -p /dev/net /dev/pts /dev/shm && chmod 666 /dev/fuse /dev/net/tun 2>/dev/null
  mount -t devpts devpts /dev/pts 2>/dev/null
  # what systemd does for user@${uid}.service with Delegate=yes: the controllers enabled down to
  # it, the directory and its cgroup.procs, cgroup.subtree_control, cgroup.threads the user s,
  # and the session in a leaf below it
  cg=/sys/fs/cgroup
  for c in cpuset cpu io memory pids; do echo +$c > $cg/cgroup.subtree_control; done
  svc=$cg/user.slice/user-${uid}.slice/user@${uid}.service
  mkdir -p $svc
  for d in $cg/user.slice $cg/user.slice/user-${uid}.slice; do for c in cpuset cpu io memory pids; do echo +$c > $d/cgroup.subtree_control; done; done
  chown ${uid}:${gid} $svc $svc/cgroup.procs $svc/cgroup.subtree_control $svc/cgroup.threads
  mkdir -p $svc/init.scope && chown -R ${uid}:${gid} $svc/init.scope
  echo $$ > $svc/init.scope/cgroup.procs
  mkdir -p /run/user/${uid} /mnt/home /mnt/tmp && chown ${uid}:${gid} /run/user/${uid} /mnt/home /mnt/tmp && chmod 700 /run/user/${uid}
  echo "${STARTED}"
  runuser -u "$(id -nu ${uid})" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/mnt/home TMPDIR=/mnt/tmp XDG_RUNTIME_DIR=/run/user/${uid} sh "$0"
  echo "vm: exit $?"
  echo o > /proc/sysrq-trigger
' "$script"
`
}

/**
 * The other VM: systemd as pid 1 (the host's, from the 9p root), a system bus, and the test
 * user's own manager, user@UID.service, as logind starts it on a laptop (with Debian's stock
 * Delegate=pids memory cpu). The script runs as a system service of the user's, in
 * system.slice: a cgroup the user does not own, as a login session's scope is. Units go to
 * /run/systemd/system, which systemd reads before /etc and /lib.
 */
function systemdBoot(uid: number, gid: number): string {
  const units: Record<string, string> = {
    'skiff-vm.target': `[Unit]\nDescription=skiff test VM\nWants=skiff-vm-test.service dbus.socket\n`,
    'skiff-vm-test.service': [
      '[Unit]', `Wants=user@${uid}.service`, `After=user@${uid}.service dbus.socket`,
      '[Service]', 'Type=oneshot', `User=${uid}`, `Group=${gid}`, 'TimeoutStartSec=infinity',
      `Environment=PATH=/usr/local/bin:/usr/bin:/bin HOME=/mnt/home TMPDIR=/mnt/tmp XDG_RUNTIME_DIR=/run/user/${uid}`,
      'StandardOutput=tty', 'StandardError=tty', 'TTYPath=/dev/ttyS0',
      'ExecStartPre=+/bin/sh -c "mkdir -p /mnt/home /mnt/tmp && chown ' + `${uid}:${gid}` + ' /mnt/home /mnt/tmp"',
      `ExecStart=/bin/sh -c 'echo "${STARTED}"; sh "$SKIFFVM_SCRIPT"; echo "vm: exit $?"'`,
      'ExecStopPost=+/bin/sh -c "echo o > /proc/sysrq-trigger"', '',
    ].join('\n'),
    // no PAM stack for the user manager on this host (/etc/pam.d/systemd-user is not installed)
    'user@.service.d/skiff-vm.conf': '[Service]\nPAMName=\nEnvironment=XDG_RUNTIME_DIR=/run/user/%i\n',
  }
  // logind keeps its state in /var/lib/systemd, which the read-only host root cannot give
  let out = 'mount -t tmpfs tmpfs /newroot/var/lib/systemd\nmkdir -p /newroot/run/systemd/system/user@.service.d\n'
  for (const [name, text] of Object.entries(units)) out += `printf '${text.replace(/'/g, "'\\''").replace(/%/g, '%%')}' > /newroot/run/systemd/system/${name}\n`
  out += `printf '[Service]\\nEnvironment=SKIFFVM_SCRIPT=%s\\n' "$script" > /newroot/run/systemd/system/skiff-vm-test.service.d.conf\n`
  out += 'mkdir -p /newroot/run/systemd/system/skiff-vm-test.service.d && mv /newroot/run/systemd/system/skiff-vm-test.service.d.conf /newroot/run/systemd/system/skiff-vm-test.service.d/script.conf\n'
  // systemd-tmpfiles at boot empties /tmp and /var/tmp (Debian's tmp.conf): over 9p that walks
  // the host's /tmp, which a bench or an earlier test run may have filled with container trees
  // (the boot then hung in it for minutes); the VM has nothing there to clean
  out += 'mkdir -p /newroot/run/systemd/system/systemd-tmpfiles-setup.service.d\n'
  out += "printf '[Service]\\nExecStart=\\nExecStart=systemd-tmpfiles --create --remove --boot --exclude-prefix=/dev --exclude-prefix=/tmp --exclude-prefix=/var/tmp\\n' > /newroot/run/systemd/system/systemd-tmpfiles-setup.service.d/skiff-vm.conf\n"
  // the host's / has /.dockerenv: systemd believes it runs in a container and reads its options from argv, not the kernel command line
  out += 'exec switch_root /newroot /lib/systemd/systemd --unit=skiff-vm.target --show-status=0 --log-level=warning --log-target=console\n'
  return out
}

export interface VmResult {
  status: number | null
  output: string
}

export interface VmOptions {
  /** the whole run, a second boot included (default 360 s, 480 s with systemd) */
  timeoutMs?: number
  /** until the script starts (default 120 s, 240 s with systemd): a boot that hangs is tried once more */
  bootTimeoutMs?: number
  memoryMb?: number
  systemd?: boolean
}

/**
 * Boot the VM, run `script` (a host path outside /run, /home, /root, /var/tmp) as the test user.
 *
 * Time: under software emulation here a boot takes ~10 s (~70 s with systemd) and a test's run
 * ~70-130 s in all. A run that exceeds its limit resolves with status null and its output, ended
 * by a line saying where it stopped, so the test fails with what the VM last printed. That needs
 * the test file's own limit (600 s, test/uvu.mjs) to outlast the VM's: hence one VM per file.
 */
export async function runInVm(script: string, opts: VmOptions = {}): Promise<VmResult> {
  const deadline = Date.now() + (opts.timeoutMs ?? (opts.systemd ? 480_000 : 360_000))
  const first = await bootOnce(script, opts, deadline)
  if (!first.bootHung) return first
  // Software emulation of a whole machine on a loaded host: its boot very rarely stalls. That is
  // not skiff's doing (nothing of skiff has run yet), so it is tried once more, and said.
  const again = await bootOnce(script, opts, deadline)
  return { status: again.status, output: `${first.output}\n(the boot above hung; booted once more)\n${again.output}` }
}

async function bootOnce(script: string, opts: VmOptions, deadline: number): Promise<VmResult & { bootHung: boolean }> {
  const work = tempDir('skiff-vm-')
  const initrd = join(work, 'initrd')
  mkdirSync(join(initrd, 'bin'), { recursive: true })
  mkdirSync(join(initrd, 'lib', 'modules'), { recursive: true })
  copyFileSync('/bin/busybox', join(initrd, 'bin', 'busybox'))
  chmodSync(join(initrd, 'bin', 'busybox'), 0o755)
  for (const m of readdirSync(join(VM_DIR, 'modules'))) copyFileSync(join(VM_DIR, 'modules', m), join(initrd, 'lib', 'modules', m))
  writeFileSync(join(initrd, 'init'), initScript(process.getuid!(), process.getgid!(), opts.systemd ?? false), { mode: 0o755 })
  const cpio = spawnSync('sh', ['-c', `cd ${initrd} && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 > ${work}/initrd.gz`])
  if (cpio.status !== 0) throw new Error('cannot build the VM initramfs')
  // the scratch disk: sparse, ext4, its root the test user's
  const disk = join(work, 'scratch.img')
  spawnSync('truncate', ['-s', '4G', disk])
  const mkfs = spawnSync('mkfs.ext4', ['-q', '-F', '-E', `root_owner=${process.getuid!()}:${process.getgid!()}`, disk], { encoding: 'utf8' })
  if (mkfs.status !== 0) throw new Error(`mkfs.ext4 failed: ${mkfs.stderr}`)
  const args = [
    '-accel', 'tcg', '-m', String(opts.memoryMb ?? 2048), '-smp', '2', '-nographic', '-no-reboot',
    '-kernel', join(VM_DIR, 'vmlinuz'), '-initrd', join(work, 'initrd.gz'),
    '-append', `console=ttyS0 quiet panic=-1 skiffvm.script=${script}`,
    '-fsdev', 'local,id=root,path=/,security_model=none,readonly=on,multidevs=remap',
    '-device', 'virtio-9p-pci,fsdev=root,mount_tag=hostroot',
    '-drive', `file=${disk},format=raw,if=virtio`,
  ]
  const began = Date.now()
  const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  let started = false
  let stopped = ''
  const stop = (why: string) => {
    stopped = `${why} after ${Math.round((Date.now() - began) / 1000)} s`
    child.kill('SIGKILL')
  }
  const bootLimit = Math.min(opts.bootTimeoutMs ?? (opts.systemd ? 240_000 : 120_000), deadline - began)
  const bootTimer = setTimeout(() => stop('vm: killed: the boot hung (the script had not started)'), bootLimit)
  const timer = setTimeout(() => stop('vm: killed: the script did not end'), Math.max(0, deadline - began))
  const read = (s: string) => {
    output += s
    if (!started && output.includes(STARTED)) {
      started = true
      clearTimeout(bootTimer)
    }
  }
  child.stdout.setEncoding('utf8').on('data', read)
  child.stderr.setEncoding('utf8').on('data', read)
  await new Promise((r) => child.on('close', r))
  clearTimeout(bootTimer)
  clearTimeout(timer)
  spawnSync('rm', ['-rf', work])
  const m = /vm: exit (\d+)/.exec(output)
  if (stopped) output += `\n${stopped}\n`
  return { status: m ? Number(m[1]) : null, output: output.replace(/\r/g, ''), bootHung: !started && stopped !== '' }
}

export function readVmRelease(): string {
  try {
    return readFileSync(join(VM_DIR, 'release'), 'utf8').trim()
  } catch {
    return 'unknown'
  }
}

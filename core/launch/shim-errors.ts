// A failure the shim reported as data ({op, path, errno}) → a SkiffError that says what failed
// and how to fix it. Pure.
import { constants } from 'node:os'
import { SkiffError } from '../errors.js'
import { DELEGATE_FIX } from '../host/cgroup.js'
import type { LaunchPlan, ShimMessage } from '../plan.js'

let errnoNames: Map<number, string> | undefined

/** "ENOENT" for 2; '' for a number the host does not name. Built on first use: errors only. */
function errnoName(errno: number): string {
  errnoNames ??= new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]))
  return errnoNames.get(errno) ?? ''
}

const errnoText: Record<string, string> = {
  EPERM: 'operation not permitted',
  EACCES: 'permission denied',
  ENOENT: 'no such file or directory',
  EINVAL: 'invalid argument',
  ENOSPC: 'no space left (or a namespace/resource limit reached)',
  ENOTDIR: 'not a directory',
  ELOOP: 'too many levels of symbolic links',
  EXDEV: 'path escapes the container root',
  ENOEXEC: 'exec format error',
  EBUSY: 'device or resource busy',
  ENODEV: 'no such device (filesystem type not supported)',
  EUSERS: 'too many users',
}

/** "EPERM (operation not permitted)" for an errno number. */
export function describeErrno(errno: number): string {
  const name = errnoName(errno) || `errno ${errno}`
  const text = errnoText[name]
  return text ? `${name} (${text})` : name
}

type ShimError = Extract<ShimMessage, { type: 'error' }>

export function shimErrorToSkiffError(e: ShimError, plan: LaunchPlan): SkiffError {
  const name = errnoName(e.errno)
  const where = e.path ? ` ${e.path}` : ''
  const what = `${e.op}${where}: ${describeErrno(e.errno)}${e.detail ? `: ${e.detail.trim()}` : ''}`
  if (e.op.startsWith('tar-')) {
    return new SkiffError('E_CP', `cannot copy ${e.path ?? ''} in the container: ${describeErrno(e.errno)}${e.detail ? `: ${e.detail.trim()}` : ''}`, {
      hint: name === 'ENOENT' ? 'check the path inside the container (skiff exec CONTAINER ls -l DIR)' : 'check the path and its permissions inside the container',
    })
  }
  switch (e.op) {
    case 'cgroup-enable':
      return new SkiffError('E_CGROUP', `cannot enable the ${e.detail} controller in the container's systemd scope ${e.path}: ${describeErrno(e.errno)}`, {
        hint: `your user manager does not delegate it: ${DELEGATE_FIX}; or run with --cgroups=disabled`,
      })
    case 'cgroup-set':
      return new SkiffError('E_CGROUP', `cannot set ${e.detail} in ${e.path}: ${describeErrno(e.errno)}`, {
        hint: "check the value (see the kernel's cgroup-v2 documentation for the file)",
      })
    case 'cgroup-scope':
      return new SkiffError('E_CGROUP', `cannot set up the container's cgroup in its systemd scope (${what})`, {
        hint: 'check your user manager (systemctl --user status); or run with --cgroups=disabled',
      })
    case 'exec':
      if (name === 'ENOENT') {
        return new SkiffError('E_EXEC_NOT_FOUND', `cannot run ${e.path}: executable file not found in the container's $PATH`, {
          hint: 'check the command name, or pass the full path inside the image',
          exitCode: 127,
        })
      }
      return new SkiffError('E_EXEC', `cannot run ${e.path} in the container: ${describeErrno(e.errno)}`, {
        hint: name === 'EACCES' ? 'the file is not executable for the container user: check its mode and --user' : 'check that the file is a program for this architecture',
        exitCode: 126,
      })
    case 'unshare-user':
      return new SkiffError('E_USERNS', `cannot create a user namespace: ${describeErrno(e.errno)}`, {
        hint: 'user namespaces are disabled or restricted here; `skiff info` shows which setting and the command that enables it',
      })
    case 'newuidmap':
    case 'newgidmap':
      return new SkiffError('E_IDMAP_HELPER', `${e.op} failed: ${(e.detail || describeErrno(e.errno)).trim()}`, {
        hint: `check that ${e.op} is setuid root (Debian/Ubuntu: apt install uidmap) and that /etc/sub${e.op === 'newuidmap' ? 'u' : 'g'}id has a range for you; ` +
          'a service with NoNewPrivileges=yes cannot use it. Without subordinate ranges skiff maps only your own id',
      })
    case 'uid_map':
    case 'gid_map':
    case 'setgroups':
      return new SkiffError('E_IDMAP', `cannot write the id map (${what})`, {
        hint: 'install uidmap and give your user a subordinate id range (`skiff info` prints the command, with a range no other user has)',
      })
    case 'mount-rootfs': {
      const overlay = plan.rootfs?.kind === 'overlay'
      return new SkiffError('E_ROOTFS', `cannot mount the container's root filesystem (${what})`, {
        hint: overlay
          ? 'kernel overlayfs inside a user namespace needs Linux 5.11 or newer and a storage directory on a local filesystem (not NFS/Lustre/GPFS); set SKIFF_ROOT to local disk'
          : 'check that the image directory exists and is readable',
      })
    }
    case 'setgroups-process':
      return new SkiffError('E_GROUPS', `cannot set the container's supplementary groups (${what})`, {
        hint: 'supplementary groups need subordinate gid ranges (newgidmap); without them use --user UID:GID',
      })
    case 'setresuid':
    case 'setresgid':
      return new SkiffError('E_USER', `cannot switch to the container user (${what})`, {
        hint: 'that uid/gid is not mapped into the user namespace: it needs a subordinate range (see `skiff info`), or run as root in the container',
      })
    case 'chdir':
      return new SkiffError('E_WORKDIR', `cannot enter the working directory (${what})`, {
        hint: 'check -w/--workdir and the image WorkingDir; the container user must be able to reach it',
      })
    case 'sysctl':
      return new SkiffError('E_SYSCTL', `cannot set the sysctl ${(e.path ?? '').replace(/^\/proc\/sys\//, '').replace(/\//g, '.')}: ${describeErrno(e.errno)}`, {
        hint: name === 'ENOENT' ? 'this kernel has no such sysctl in the container\'s namespaces' : 'check the value; some net.* sysctls need --cap-add NET_ADMIN in the container',
      })
    case 'network-keeper':
      return new SkiffError('E_NETWORK_KEEPER', `the bridge networks' namespace is gone (${what})`, {
        hint: 'its keeper ended meanwhile: start the container again (a new keeper starts); `skiff network ls` checks the networks',
      })
    case 'bridge': case 'bridge-address': case 'bridge-up': case 'veth': case 'veth-bridge': case 'address': case 'link-up': case 'route':
    case 'nftables': case 'dns': case 'netlink': case 'netdetach': case 'network-namespace':
      return new SkiffError('E_NETWORK', `cannot set up the bridge network (${what})`, {
        hint: 'bridges, veth pairs and nf_tables need a kernel with CONFIG_BRIDGE, CONFIG_VETH and CONFIG_NF_TABLES (with NAT); `--network pasta` works without them',
      })
    default:
      return new SkiffError('E_SETUP', `container setup failed: ${what}`, {
        hint: 'run `skiff info` to check what this machine supports; run again with SKIFF_DEBUG=1 for details',
      })
  }
}

#!/usr/bin/env bash
# Prepares this machine as a normal distro is for rootless containers, for the tests and setup.sh.
# Run as root; safe to run again (it only does what is not done yet). Does I/O.
#
#   bash test/setup-host.sh                      packages, user skiff-test, its ids, devices, runtime dir
#   bash test/setup-host.sh --build-deps         ... and the C toolchain the build needs
#   bash test/setup-host.sh --user alice         prepare an existing user instead of skiff-test
#   bash test/setup-host.sh --no-vm              ... without what only the VM tests need (qemu, a
#                                                kernel): npm run bench
#
# What a laptop running Debian/Ubuntu/Fedora has and a bare CI machine may not:
#   - packages: newuidmap/newgidmap (uidmap), fuse-overlayfs, pasta (passt), slirp4netns; and for
#     the tests: busybox-static (fixture images), python3 (pty driver), skopeo (cross-checks),
#     docker-registry (push and pull), podman (it must run what skiff builds and pushes)
#   - an ordinary user with subordinate id ranges in /etc/subuid and /etc/subgid (65536 each),
#     and a second one, skiff-test-b, without (the other user in the two-user tests)
#   - /dev/fuse and /dev/net/tun mode 0666 (udev does this on a distro; here they are 0600)
#   - /run/user/UID, owned by the user, mode 0700 (logind makes it at login)
#   - unprivileged user namespaces enabled
set -euo pipefail

user='skiff-test'
build_deps=0
vm=1
while [ $# -gt 0 ]; do
  case "$1" in
    --user) user=${2:?--user needs a name}; shift 2 ;;
    --build-deps) build_deps=1; shift ;;
    --no-vm) vm=0; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "setup-host: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf 'setup-host: %s\n' "$*"; }
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-host: must run as root (it installs packages and creates a user): sudo bash $0" >&2
  exit 1
fi

# --- packages -----------------------------------------------------------------------------------
packages=(uidmap fuse-overlayfs passt slirp4netns busybox-static python3 util-linux procps iproute2 skopeo docker-registry zstd openssl tar gzip podman)
# the OCI runtime face (test/oci-engines.root.test.ts): containerd drives skiff-runc
packages+=(containerd)
# runtime-tools' validation suite, built by test/runtime-tools/build.sh (test/runtime-tools.root.test.ts)
packages+=(golang-go golang-github-blang-semver-dev golang-github-google-uuid-dev golang-github-hashicorp-go-multierror-dev
  golang-github-mrunalp-fileutils-dev golang-github-opencontainers-specs-dev golang-github-opencontainers-selinux-dev
  golang-github-sirupsen-logrus-dev golang-github-urfave-cli-dev golang-github-xeipuuv-gojsonschema-dev
  golang-gocapability-dev golang-golang-x-sys-dev curl xz-utils)
# HPC (test/hpc.root.test.ts, bench/hpc.mjs): a one-node Slurm with munge, MPI, single-file images
packages+=(slurm-wlm munge mpich libmpich-dev squashfuse squashfs-tools charliecloud-runtime)
if [ "$vm" = 1 ]; then packages+=(qemu-system-x86 e2fsprogs); fi
# clang-14 and its runtime: the libFuzzer harnesses of the shim (test/fuzz)
if [ "$build_deps" = 1 ]; then packages+=(gcc libc6-dev make clang-14 libclang-rt-14-dev); fi
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then missing+=("$p"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    echo "setup-host: missing packages ${missing[*]} and no apt-get: install them with your package manager" >&2
    exit 1
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt_opts=(-o DPkg::Lock::Timeout=300 -q)
  apt-get "${apt_opts[@]}" update >/dev/null
  apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null
else
  say "packages present: ${packages[*]}"
fi

# --- a kernel for the test VM (a pure cgroup v2 host: test/helpers/vm.ts) ------------------------
# Debian's own kernel package, unpacked (not installed): vmlinuz and the modules the VM loads.
vmdir=/var/cache/skiff-vm
if [ "$vm" = 1 ] && [ ! -s "$vmdir/vmlinuz" ]; then
  say "fetching Debian's kernel for the test VM into $vmdir"
  work=$(mktemp -d)
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  if [ -n "$pkg" ] && (cd "$work" && apt-get -q download "$pkg" >/dev/null 2>&1); then
    dpkg-deb -x "$work"/*.deb "$work/root"
    mkdir -p "$vmdir/modules"
    cp "$work"/root/boot/vmlinuz-* "$vmdir/vmlinuz"
    for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk netfs fscache 9pnet 9pnet_virtio 9p crc16 crc32c_generic mbcache jbd2 ext4 overlay fuse tun; do
      f=$(find "$work/root/lib/modules" -name "$m.ko" | head -1)
      [ -n "$f" ] && cp "$f" "$vmdir/modules/"
    done
    basename "$work"/root/boot/vmlinuz-* | sed 's/^vmlinuz-//' > "$vmdir/release"
    chmod -R a+rX "$vmdir"
  else
    say "could not fetch a kernel package: the VM tests will say so"
  fi
  rm -rf "$work"
fi

# --- the user and its subordinate ids -----------------------------------------------------------
if ! id -u "$user" >/dev/null 2>&1; then
  say "creating user $user"
  useradd --create-home --shell /bin/bash --user-group "$user"
fi
uid=$(id -u "$user")
gid=$(id -g "$user")
home=$(getent passwd "$user" | cut -d: -f6)

# The first free 65536-id block at or above 100000 that no range in either file overlaps.
free_start() {
  cat /etc/subuid /etc/subgid 2>/dev/null |
    awk -F: 'BEGIN { s = 100000 } NF >= 3 && $2 ~ /^[0-9]+$/ { e = $2 + $3; if (e > s) s = e } END { print s }'
}
has_range() { grep -qE "^($user|$uid):[0-9]+:[1-9][0-9]*$" "$1" 2>/dev/null; }
touch /etc/subuid /etc/subgid
if ! has_range /etc/subuid || ! has_range /etc/subgid; then
  start=$(free_start)
  end=$((start + 65535))
  args=()
  has_range /etc/subuid || args+=(--add-subuids "$start-$end")
  has_range /etc/subgid || args+=(--add-subgids "$start-$end")
  say "subordinate ids for $user: $start-$end (${args[*]})"
  usermod "${args[@]}" "$user"
fi
say "$user: uid $uid, subuid $(grep -E "^($user|$uid):" /etc/subuid | head -1 | cut -d: -f2-), subgid $(grep -E "^($user|$uid):" /etc/subgid | head -1 | cut -d: -f2-)"

# A second ordinary user, without subordinate ids: the other user of a shared machine in the
# two-user tests (test/*.root.test.ts), who tries to take over the first one's paths.
other=skiff-test-b
if ! id -u "$other" >/dev/null 2>&1; then
  say "creating user $other (the other user of the two-user tests)"
  useradd --create-home --shell /bin/bash --user-group "$other"
fi

# A user as LDAP gives them on clusters: no subordinate ids at all (the HPC tests run skiff as it).
hpc=skiff-hpc
if ! id -u "$hpc" >/dev/null 2>&1; then
  say "creating user $hpc (no subordinate ids: the HPC tests' user)"
  useradd --create-home --shell /bin/bash --user-group "$hpc"
fi
sed -i "/^$hpc:/d; /^$(id -u "$hpc"):/d" /etc/subuid /etc/subgid

# newuidmap/newgidmap must be setuid root (Debian) or carry file capabilities (Fedora).
for tool in newuidmap newgidmap; do
  path=$(command -v "$tool" || true)
  if [ -z "$path" ]; then
    echo "setup-host: $tool is missing after installing uidmap" >&2
    exit 1
  fi
  if [ ! -u "$path" ] && ! { command -v getcap >/dev/null && getcap "$path" | grep -q cap_setuid; }; then
    say "making $path setuid root (as the uidmap package ships it)"
    chmod u+s "$path"
  fi
done

# A newuidmap that fails at run time, setuid root as a real one (tests of skiff's fallback to the
# single mapping: a helper that looks usable but refuses, as one under NoNewPrivileges does).
failing=/var/lib/skiff-test/failing-idmap
if [ ! -u "$failing/newuidmap" ]; then
  mkdir -p "$failing"
  cp /bin/false "$failing/newuidmap"
  chown root:root "$failing/newuidmap"
  chmod 4755 "$failing/newuidmap"
  chmod 755 /var/lib/skiff-test "$failing"
fi

# --- devices ------------------------------------------------------------------------------------
if [ ! -e /dev/net/tun ]; then
  say "creating /dev/net/tun"
  mkdir -p /dev/net
  mknod /dev/net/tun c 10 200 || say "warning: cannot create /dev/net/tun (pasta and slirp4netns need it)"
fi
for dev in /dev/fuse /dev/net/tun; do
  if [ -c "$dev" ] && [ "$(stat -c %a "$dev")" != 666 ]; then
    say "chmod 0666 $dev (as udev does on a distro)"
    chmod 0666 "$dev"
  fi
done

# --- XDG_RUNTIME_DIR ----------------------------------------------------------------------------
run=/run/user/$uid
if [ ! -d "$run" ] || [ "$(stat -c '%u:%g %a' "$run")" != "$uid:$gid 700" ]; then
  say "making $run (owner $user, mode 0700)"
  mkdir -p /run/user
  chmod 0755 /run/user
  mkdir -p "$run"
  chown "$uid:$gid" "$run"
  chmod 0700 "$run"
fi

# --- user namespaces ----------------------------------------------------------------------------
if [ -e /proc/sys/kernel/unprivileged_userns_clone ] && [ "$(cat /proc/sys/kernel/unprivileged_userns_clone)" = 0 ]; then
  say "sysctl kernel.unprivileged_userns_clone=1"
  sysctl -qw kernel.unprivileged_userns_clone=1
fi
if [ "$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 1)" = 0 ]; then
  say "sysctl user.max_user_namespaces=15000"
  sysctl -qw user.max_user_namespaces=15000
fi
if [ "$(cat /proc/sys/kernel/apparmor_restrict_unprivileged_userns 2>/dev/null || echo 0)" = 1 ]; then
  say "note: kernel.apparmor_restrict_unprivileged_userns=1 (Ubuntu >= 23.10): unprivileged programs without an AppArmor profile get no capabilities in a user namespace"
fi
if runuser -u "$user" -- unshare --user --map-root-user true 2>/dev/null; then
  say "$user can create user namespaces"
else
  say "warning: $user cannot create a user namespace (unshare --user failed); rootless containers will not work"
fi
say "ready: user $user (uid $uid), home $home, XDG_RUNTIME_DIR=$run"

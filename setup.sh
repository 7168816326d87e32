#!/usr/bin/env bash
# The README's first command. On a fresh Debian/Ubuntu machine, as root (or as a user with sudo):
# installs what skiff needs, builds dist/skiff, builds a busybox image offline from Debian's
# busybox-static, and runs a container from it as an unprivileged user. Safe to run again.
#
#   bash setup.sh
#
# As root the container runs as the user skiff-test (created, with subordinate id ranges); as
# anyone else it runs as you, and the machine preparation goes through sudo (skipped without it).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$repo"

step() { printf '\n== %s\n' "$*"; }
show() { printf '+ %s\n' "$*"; "$@"; }
die() { printf 'setup.sh: %s\n' "$*" >&2; exit 1; }

if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' 2>/dev/null; then
  die "skiff builds with Node.js >= 20.19 (found: $(node --version 2>/dev/null || echo none)); install it from https://nodejs.org and run again"
fi

# --- 1. the machine ------------------------------------------------------------------------------
if [ "$(id -u)" -eq 0 ]; then
  user='skiff-test'
  step "prepare the machine: packages, user $user with subordinate ids, /dev/fuse, /dev/net/tun, /run/user"
  show bash test/setup-host.sh --build-deps --user "$user"
else
  user=$(id -un)
  if command -v sudo >/dev/null; then
    step "prepare the machine for $user (through sudo): packages, subordinate ids, devices"
    show sudo bash test/setup-host.sh --build-deps --user "$user"
  else
    step "no sudo: not installing packages; skiff will use what this machine has ('dist/skiff info' says what is missing)"
  fi
fi

# --- 2. build ------------------------------------------------------------------------------------
if [ ! -e node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "install the build tools (npm ci)"
  show npm ci --no-audit --no-fund
fi
step "build dist/skiff: one executable with the shim inside"
show npm run build

# --- 3. an image, offline ------------------------------------------------------------------------
image=/tmp/busybox.tar
if [ -e "$image" ] && [ ! -w "$image" ]; then image=$HOME/busybox.tar; fi
step "build a busybox image from /bin/busybox (Debian's busybox-static): $image"
show node test/fixtures/make-busybox-image.mjs "$image"
chmod 0644 "$image"

# --- 4. a container, as an unprivileged user ----------------------------------------------------
skiff=$repo/dist/skiff
if [ "$(id -u)" -eq 0 ]; then
  uid=$(id -u "$user")
  home=$(getent passwd "$user" | cut -d: -f6)
  as_user() {
    runuser -u "$user" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$home" USER="$user" LOGNAME="$user" \
      LANG=C.UTF-8 TERM="${TERM:-dumb}" XDG_RUNTIME_DIR="/run/user/$uid" "$@"
  }
  if ! as_user test -x "$skiff"; then
    # The clone is where $user cannot reach (e.g. under /root): give the user its own copy.
    # dist/skiff is one self-contained file, so a copy anywhere works.
    step "$skiff is not reachable by $user: installing a copy as $home/bin/skiff"
    install -d -m 0755 -o "$user" -g "$(id -g "$user")" "$home/bin"
    install -m 0755 -o "$user" -g "$(id -g "$user")" "$skiff" "$home/bin/skiff"
    skiff=$home/bin/skiff
  fi
  who="$user (uid $uid)"
else
  as_user() { "$@"; }
  who="$user (uid $(id -u))"
fi

step "as $who: load the image"
printf '+ %s load -i %s\n' "$skiff" "$image"
as_user "$skiff" load -i "$image"

step "as $who: run a container"
printf "+ %s run --rm busybox sh -c 'echo hello from a skiff container; id; hostname'\n" "$skiff"
as_user "$skiff" run --rm busybox sh -c 'echo hello from a skiff container; id; hostname'

step "done"
if [ "$(id -u)" -eq 0 ]; then
  echo "Try it yourself:  su - $user -c '$skiff run --rm -it busybox sh'"
else
  echo "Try it yourself:  $skiff run --rm -it busybox sh"
fi
echo "Run the tests:    npm test"

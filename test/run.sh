#!/usr/bin/env bash
# `npm test`, the README's test command: unit tests, then integration tests as an unprivileged
# user, and one closing line `N passed, N failed, N skipped`. Does I/O.
#
#   bash test/run.sh [FILTER...]        FILTERs select test files by substring, as test/uvu.mjs does
#
# As root (a fresh machine, CI): prepares the machine as a distro is (test/setup-host.sh), installs
# node_modules and builds dist/skiff when missing or stale, runs the unit tests, then runs the
# integration tests AS THE USER skiff-test — rootless behaviour tested as root proves nothing —
# with SKIFF_TESTS_MUST_RUN=1 unless set otherwise: there, a test that cannot run is a failure.
# The tree is copied to a fresh /tmp/skiff-test-run-* owned by that user first: a clone under
# /root is not readable by anyone else, and the user's test files land there too; it is removed
# at the end (SKIFF_TEST_KEEP=1 keeps it).
#
# As an ordinary user: builds if needed and runs everything this user can; a test whose
# requirement is missing prints `SKIP <test>: <reason>` (how to fix it) and counts as skipped.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
test_user=${SKIFF_TEST_USER:-skiff-test}
filters=("$@")

passed=0 failed=0 skipped=0
logs=$(mktemp -d "${TMPDIR:-/tmp}/skiff-test-logs-XXXXXX")
stage=''
cleanup() {
  rm -rf "$logs"
  if [ -n "$stage" ]; then
    if [ "${SKIFF_TEST_KEEP:-}" = 1 ]; then echo "SKIFF_TEST_KEEP: leaving $stage"; else rm -rf "$stage"; fi
  fi
}
trap cleanup EXIT

say() { printf '\n== %s\n' "$*"; }
closing() { printf '%s passed, %s failed, %s skipped\n' "$passed" "$failed" "$skipped"; }
fail_now() { # message: a step every test depends on failed
  echo "test/run.sh: $*" >&2
  failed=$((failed + 1))
  closing
  exit 1
}

# part LABEL COMMAND...: runs a test command, shows its output, adds its closing line to the totals.
part() {
  local label=$1 log="$logs/$1.log" rc line
  shift
  say "$label"
  set +e
  "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" | tail -n 1 || true)
  if [ -z "$line" ]; then
    echo "test/run.sh: $label ended (status $rc) without its closing line"
    failed=$((failed + 1))
    return
  fi
  read -r p _ f _ s _ <<<"$line"
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "test/run.sh: $label exited with status $rc"
    failed=$((failed + 1))
  fi
}

node_ok() { node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' 2>/dev/null; }
command -v node >/dev/null || fail_now "node is missing: install Node.js >= 20.19 (https://nodejs.org)"
node_ok || fail_now "node $(node --version) is too old: skiff needs Node.js >= 20.19"

install_modules() {
  if [ ! -e node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "npm ci"
    npm ci --no-audit --no-fund || fail_now "npm ci failed"
  fi
}

# dist/skiff is stale when anything it is built from is newer.
build_is_stale() {
  [ ! -x dist/skiff ] && return 0
  [ -n "$(find cmd core shims build.mjs package.json package-lock.json -newer dist/skiff -print -quit 2>/dev/null)" ]
}

run_filters=(--allow-none "${filters[@]}")

if [ "$(id -u)" -eq 0 ]; then
  say "prepare this machine (test/setup-host.sh)"
  bash test/setup-host.sh --build-deps --user "$test_user" || fail_now "test/setup-host.sh failed"
  install_modules
  if build_is_stale; then
    say "npm run build"
    npm run build || fail_now "npm run build failed"
  fi

  part unit node test/uvu.mjs --unit "${run_filters[@]}"

  # Integration tests as the unprivileged user, from a copy it owns.
  uid=$(id -u "$test_user")
  home=$(getent passwd "$test_user" | cut -d: -f6)
  stage=$(mktemp -d /tmp/skiff-test-run-XXXXXX)
  say "integration tests as $test_user (uid $uid) in $stage"
  tar -C "$repo" --exclude=./.git --exclude=./.build -cf - . | tar -C "$stage" -xf -
  mkdir -p "$stage/tmp"
  chown -R "$test_user:" "$stage"
  chmod 0755 "$stage"
  node_dir=$(dirname "$(command -v node)")
  if ! runuser -u "$test_user" -- "$node_dir/node" -e 0 2>/dev/null; then
    # node lives where the user cannot reach (e.g. under /root/.nvm): give it a copy.
    mkdir -p "$stage/.node/bin"
    cp "$(readlink -f "$(command -v node)")" "$stage/.node/bin/node"
    node_dir=$stage/.node/bin
  fi
  # shellcheck disable=SC2016 # $1 and $@ belong to the inner bash
  part integration runuser -u "$test_user" -- env -i \
    PATH="$node_dir:/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin" \
    HOME="$home" USER="$test_user" LOGNAME="$test_user" LANG=C.UTF-8 TERM="${TERM:-dumb}" \
    XDG_RUNTIME_DIR="/run/user/$uid" TMPDIR="$stage/tmp" CI="${CI:-}" \
    SKIFF_TESTS_MUST_RUN="${SKIFF_TESTS_MUST_RUN:-1}" SKIFF_BIN="$stage/dist/skiff" \
    SKIFF_TEST_TIMEOUT="${SKIFF_TEST_TIMEOUT:-}" SKIFF_TEST_KEEP="${SKIFF_TEST_KEEP:-}" SKIFF_DEBUG="${SKIFF_DEBUG:-}" \
    bash -c 'cd "$1" && shift && exec node test/uvu.mjs --integration "$@"' _ "$stage" "${run_filters[@]}"

  # Two users against each other (test/*.root.test.ts): root only switches between them.
  part two-users env SKIFF_BIN="$stage/dist/skiff" SKIFF_TEST_USER="$test_user" SKIFF_TEST_OTHER_USER=skiff-test-b \
    SKIFF_TESTS_MUST_RUN="${SKIFF_TESTS_MUST_RUN:-1}" node test/uvu.mjs --root "${run_filters[@]}"
else
  install_modules
  build_ok=1
  if build_is_stale; then
    if ! command -v "${CC:-cc}" >/dev/null; then
      echo "SKIP npm run build: no C compiler (${CC:-cc}) for the shim: apt-get install gcc libc6-dev make"
      build_ok=0
    else
      say "npm run build"
      if ! npm run build; then
        echo "test/run.sh: npm run build failed"
        failed=$((failed + 1))
        build_ok=0
      fi
    fi
  fi
  if [ "$build_ok" = 1 ]; then
    part tests node test/uvu.mjs "${run_filters[@]}"
  else
    # Without a fresh dist/skiff the integration tests would test something else: unit tests only.
    echo "SKIP integration tests: dist/skiff was not built"
    part unit node test/uvu.mjs --unit "${run_filters[@]}"
  fi
fi

cleanup
trap - EXIT
say "total"
closing
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# The runtime-tools scores of skiff-runc beside crun's, root and rootless, on this machine: builds
# the suite (build.sh), runs it (validate.sh) for each runtime as root and as the test user, each in
# a private mount namespace where cgroup2's controllers file reads empty (crun refuses this hybrid
# host otherwise; skiff gets the same), and prints a markdown table for docs/oci-runtime.md.
# Run as root: bash test/runtime-tools/score.sh [SKIFF_RUNC]. Does I/O (~5 min here).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
skiff=${1:-$(cd "$here/../.." && pwd)/dist/skiff}
user=${SKIFF_TEST_USER:-skiff-test}
work=$(mktemp -d /tmp/skiff-runtime-tools-XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
bash "$here/build.sh" "$work/suite" >&2
cp "$here/validate.sh" "$work/"
cp "$skiff" "$work/skiff" && ln -s skiff "$work/skiff-runc"
touch "$work/empty"
chmod -R a+rX "$work"
uid=$(id -u "$user")
mask="{ ! grep -qs . /sys/fs/cgroup/unified/cgroup.controllers || mount --bind $work/empty /sys/fs/cgroup/unified/cgroup.controllers; }"
for rt in "$work/skiff-runc" "$(command -v crun)"; do
  n=$(basename "$rt")
  unshare --mount --propagation private sh -c "$mask && cd $work && bash $work/validate.sh $work/suite $rt" >"$work/$n-root.txt"
  unshare --mount --propagation private sh -c "$mask && cd $work && exec runuser -u $user -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=$work USER=$user XDG_RUNTIME_DIR=/run/user/$uid bash $work/validate.sh $work/suite $rt" >"$work/$n-rootless.txt"
done
row() { join <(sort "$work/skiff-runc-$1.txt") <(sort "$work/crun-$1.txt") | grep -v '^TOTAL' | awk '{print $1, $2 "/" $3 "/" $4, $6 "/" $7 "/" $8}'; }
echo "| program | skiff-runc root | crun root | skiff-runc rootless | crun rootless |"
echo "|---|---|---|---|---|"
paste -d' ' <(row root) <(row rootless | cut -d' ' -f2-) | awk '{print "| " $1 " | " $2 " | " $3 " | " $4 " | " $5 " |"}'
for f in skiff-runc-root crun-root skiff-runc-rootless crun-rootless; do echo "$f: $(tail -1 "$work/$f.txt")"; done

#!/usr/bin/env bash
# Run every validation program of runtime-tools (built by build.sh into DIR) against RUNTIME, in a
# fresh working directory, one at a time; print one line per program and the totals:
#   PROGRAM PASSED FAILED SKIPPED STATUS
# A program that exits non-zero or reports no result counts as one failure more (the issue's rule).
# Runs as whoever calls it (root, or the user for rootless). Does I/O.
#
#   bash test/runtime-tools/validate.sh DIR RUNTIME [PROGRAM...]
set -uo pipefail
dir=${1:?usage: validate.sh DIR RUNTIME [PROGRAM...]}
runtime=${2:?usage: validate.sh DIR RUNTIME [PROGRAM...]}
shift 2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$dir/runtimetest" "$dir"/rootfs-*.tar.gz "$work/"
cd "$work"
programs=("$@")
[ ${#programs[@]} -gt 0 ] || programs=($(cd "$dir/validation" && ls | sed 's/\.t$//'))
tp=0 tf=0 ts=0 clean=0
for p in "${programs[@]}"; do
  out=$(RUNTIME=$runtime timeout 120 "$dir/validation/$p.t" 2>&1)
  st=$?
  pass=$(grep -cE '^ok [0-9]+( -|$)' <<<"$out")
  skip=$(grep -cE '^ok [0-9]+ # skip' <<<"$out")
  fail=$(grep -cE '^not ok [0-9]+' <<<"$out")
  if [ "$st" != 0 ] || [ $((pass + skip + fail)) = 0 ]; then fail=$((fail + 1)); fi
  [ "$fail" = 0 ] && clean=$((clean + 1))
  tp=$((tp + pass)) tf=$((tf + fail)) ts=$((ts + skip))
  echo "$p $pass $fail $skip $st"
  if [ -n "${VALIDATE_LOG:-}" ]; then printf '=== %s (status %s)\n%s\n' "$p" "$st" "$out" >>"$VALIDATE_LOG"; fi
done
echo "TOTAL $tp $tf $ts clean=$clean/${#programs[@]}"

#!/usr/bin/env bash
# bash test/fuzz/run.sh [SECONDS] [HARNESS...]: build the shim's libFuzzer harnesses (clang-14 with
# AddressSanitizer and UBSan) and run each for SECONDS (default 10) from the seeds in corpus/NAME.
# Status 0 when none crashed, leaked or read out of bounds; else 1, with the input that did it
# saved beside the harness's output (add it to corpus/NAME as regression-*, after the fix).
# The tests run it for a few seconds each; a longer run: bash test/fuzz/run.sh 600.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
shims="$here/../../shims"
seconds="${1:-10}"
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(plan dns)
cc="${FUZZ_CC:-$(command -v clang-14 || command -v clang || true)}"
if [ -z "$cc" ]; then
  echo "fuzz: clang is missing (Debian: apt-get install clang-14 libclang-rt-14-dev)" >&2
  exit 2
fi
work="$(mktemp -d "${TMPDIR:-/tmp}/skiff-fuzz-XXXXXX")"
trap 'rm -rf "$work" /tmp/skiff-dns-fuzz-*' EXIT
declare -A sources=([plan]="json.c util.c" [dns]="dns.c json.c util.c")
status=0
for h in "${harnesses[@]}"; do
  srcs=()
  for s in ${sources[$h]}; do srcs+=("$shims/$s"); done
  "$cc" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -D_GNU_SOURCE \
    -o "$work/$h" "$here/${h}_fuzz.c" "${srcs[@]}"
  mkdir -p "$work/corpus-$h" "$work/out-$h"
  echo "fuzz: $h for ${seconds}s"
  if ! (cd "$work/out-$h" && "$work/$h" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 \
      "$work/corpus-$h" "$here/corpus/$h" >"$work/$h.log" 2>&1); then
    status=1
    tail -n 40 "$work/$h.log" >&2
    mkdir -p "${FUZZ_ARTIFACTS:-$here/artifacts}"
    cp "$work/out-$h"/* "${FUZZ_ARTIFACTS:-$here/artifacts}/" 2>/dev/null || true
    echo "fuzz: $h failed; the input is in ${FUZZ_ARTIFACTS:-$here/artifacts}" >&2
  else
    grep -E '^Done [0-9]+ runs' "$work/$h.log" || true
  fi
done
exit "$status"

#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang + ASan + UBSan) into build-fuzz/
# and runs each for ${1:-60} seconds from its committed seed corpus. Fails on
# the first crash, leak, sanitizer report, timeout or out-of-memory; the
# reproducer is left as build-fuzz/artifacts/<target>/crash-* (re-run it with
# build-fuzz/fuzz/<target> <file>). New corpus entries go to
# build-fuzz/corpus/<target>, never into the committed seeds.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
build_dir="${VKINFER_FUZZ_BUILD_DIR:-build-fuzz}"

cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVKINFER_FUZZ=ON -DVKINFER_BENCH=OFF \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang >/dev/null
cmake --build "$build_dir" --target fuzz_all -j"$(nproc)"

# Real tokenizer and config files are a few KB; 64 KB inputs leave room for
# big mutations without slowing every execution.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
status=0
for seeds in fuzz/corpus/*/; do
  target="$(basename "$seeds")"
  work="$build_dir/corpus/$target"
  artifacts="$build_dir/artifacts/$target"
  mkdir -p "$work" "$artifacts"
  echo "== $target for ${seconds}s"
  if ! "$build_dir/fuzz/$target" "$work" "$seeds" -max_total_time="$seconds" -max_len=65536 \
      -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" \
      2>"$build_dir/$target.log"; then
    tail -n 60 "$build_dir/$target.log"
    echo "fuzz: $target FAILED; reproducer in $artifacts/" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::new_units_added" "$build_dir/$target.log" || true
  fi
done
exit "$status"

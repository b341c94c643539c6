#!/usr/bin/env bash
# The whole test suite: set up and build, then CTest with the Khronos
# validation layer on (any validation message fails a test). Then the same
# suite built with ASan+UBSan, and a short libFuzzer run of each fuzz target.
# VKINFER_QUICK=1 runs only the first stage.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export VKINFER_VALIDATION=1
(cd build && ctest -j"$(nproc)" --output-on-failure --timeout 900)
# The Python module and the transformers adapter (python/tests), on the
# module just built. pytest's exit code 5 (no test collected) fails too.
echo "== Python tests (pytest python/tests)"
if [ ! -d build/python/vkinfer ]; then
  echo "test: build/python/vkinfer is missing: is pybind11-dev installed, or VKINFER_PYTHON=OFF in build/CMakeCache.txt?" >&2
  exit 1
fi
python_bin=python3
[ -x .venv/bin/python ] && python_bin=.venv/bin/python
PYTHONPATH="$PWD/build/python" VKINFER_BIN="$PWD/build/vkinfer" "$python_bin" -m pytest -q -p no:cacheprovider python/tests
[ "${VKINFER_QUICK:-0}" = 1 ] && exit 0

echo "== ASan+UBSan build of the suite"
VKINFER_BUILD_DIR=build-asan VKINFER_BUILD_TYPE=RelWithDebInfo \
  VKINFER_CMAKE_ARGS="-DVKINFER_SANITIZE=ON -DVKINFER_BENCH=OFF" scripts/setup.sh
# lavapipe and the loader are not instrumented; their own leaks are not ours.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
(cd build-asan && ctest -j"$(nproc)" --output-on-failure --timeout 1800 -LE slow)

if command -v clang++ >/dev/null; then
  echo "== fuzz smoke runs"
  scripts/fuzz.sh 10
fi

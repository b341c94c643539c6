#!/usr/bin/env bash
# The tp x pp groups and send/recv under mpirun -np 4 (tests/mpi_groups_check.cpp),
# then the same world with one failing rank: mpirun must exit non-zero within
# seconds, its peers blocked in group collectives and receives included.
set -euo pipefail
bin="$1"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1  # CI runs as root
export OMPI_MCA_rmaps_base_oversubscribe=1

out=$(timeout 180 mpirun --oversubscribe -np 4 "$bin")
printf '%s\n' "$out"
[ "$(printf '%s\n' "$out" | grep -c '^mpi groups ok$' || true)" = 1 ] ||
  { echo "expected one 'mpi groups ok' (rank 0 only)"; exit 1; }

start=$(date +%s)
set +e
VKINFER_TEST_FAIL_RANK=3 timeout 60 mpirun --oversubscribe -np 4 "$bin" >/dev/null 2>&1
code=$?
set -e
elapsed=$(( $(date +%s) - start ))
[ "$code" != 0 ] || { echo "a failing rank left mpirun exiting 0"; exit 1; }
[ "$code" != 124 ] || { echo "a failing rank made mpirun hang (timeout)"; exit 1; }
[ "$elapsed" -le 30 ] || { echo "mpirun took ${elapsed}s to exit after a rank failed"; exit 1; }
echo "failing rank: mpirun exited $code after ${elapsed}s"

#!/usr/bin/env bash
# The project's checks, in order, stopping at the first that fails and naming it: ruff's lint,
# ruff's formatting, mypy on the package ([tool.mypy] in pyproject.toml), then the tests.
# Arguments go to pytest. Without arguments the whole suite runs as SIA_TEST_SHARDS pytest
# processes side by side (default 2, one per core of a 2-core runner; 1: one process), each a
# balanced share of whole modules (tests/sharding.py); their logs follow one another once all
# have ended. Each shard runs torch on one thread (OMP_NUM_THREADS=1, unless set already): with
# one core per shard, a second OpenMP thread only waits at barriers, and the small tensors of
# tests made that 3x slower (test_heldout_loop.py's training loops: 78 s on two threads, 25 s on
# one, beside two other jobs). It uses the tools in .venv: run scripts/setup.sh first.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin

# Runs one step; on failure says which and exits with its status. A passing step says how long it
# took, except the tests, whose own summary stays the last line of a passing run.
step() {
  local name=$1 start=$EPOCHREALTIME status
  shift
  echo "check: $name"
  "$@"
  status=$?
  if [ "$status" -ne 0 ]; then
    echo "check: FAILED: $name (exit status $status)" >&2
    exit "$status"
  fi
  [ "$name" = pytest ] || echo "check: $name passed in $(elapsed "$start")"
}

elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f s", b - a }'; }

step "ruff check" "$bin/ruff" check .
step "ruff format --check" "$bin/ruff" format --check .
step mypy "$bin/mypy"
# Every shard in the background, each to its own log; a cancelled check stops them all.
shard_logs=""
shard_pids=()
stop_shards() {
  [ ${#shard_pids[@]} -eq 0 ] || kill "${shard_pids[@]}" 2>/dev/null
  [ -z "$shard_logs" ] || rm -rf "$shard_logs"
}
shards() {
  local count=$1 start=$EPOCHREALTIME status=0 code i
  shard_logs=$(mktemp -d)
  trap stop_shards EXIT
  echo "check: pytest, $count shards side by side"
  for ((i = 0; i < count; i++)); do
    OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} SIA_TEST_SHARD="$i/$count" "$bin/python" -m pytest \
      >"$shard_logs/$i" 2>&1 &
    shard_pids+=($!)
  done
  for i in "${!shard_pids[@]}"; do
    wait "${shard_pids[$i]}"
    code=$?
    [ "$status" -ne 0 ] || status=$code
  done
  shard_pids=()
  for ((i = 0; i < count; i++)); do
    echo "check: shard $i/$count"
    cat "$shard_logs/$i"
  done
  if [ "$status" -ne 0 ]; then
    echo "check: FAILED: pytest (exit status $status)" >&2
    exit "$status"
  fi
  # each shard's last line, "=== N passed, M deselected in T s ===", as "N passed in T s"
  echo "check: pytest passed in $count shards in $(elapsed "$start"):" "$(
    for ((i = 0; i < count; i++)); do
      tail -n 1 "$shard_logs/$i" | sed -E 's/=+//g; s/, [0-9]+ deselected//; s/^ +| +$//g'
    done | paste -sd ';' | sed 's/;/; /g'
  )"
}

count=${SIA_TEST_SHARDS:-2}
if [ $# -eq 0 ] && [ "$count" -gt 1 ]; then
  shards "$count"
else
  step pytest "$bin/python" -m pytest "$@"
fi

#!/usr/bin/env bash
# The project's checks, in order, stopping at the first that fails and naming it: ruff's lint,
# ruff's formatting, mypy on the package ([tool.mypy] in pyproject.toml), then the tests.
# Arguments go to pytest. It uses the tools in .venv: run scripts/setup.sh first.
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
step pytest "$bin/python" -m pytest "$@"

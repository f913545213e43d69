#!/usr/bin/env bash
# The GPU check in one command; docs/performance.md, "GPU", says what it
# measures and how to read it.
#
#   bash benchmarks/gpu/check.sh OUT [--dry-run] [--sections a,b] [--budget S] [--threads N]
#       Runs benchmarks/gpu/check.py under a hard limit of 6 minutes (GPU_CHECK_LIMIT seconds)
#       and writes OUT/gpu_check.json, OUT/gpu_check.log and the demo's two report.json files.
#       --dry-run: the same code on the CPU at toy sizes, in seconds (tests/benchmarks runs it).
#   bash benchmarks/gpu/check.sh --fetch-wheels
#       Here, where PyPI answers: downloads into .whl/ what the device machine's Python 3.12
#       lacks (benchmarks/gpu/check_wheels.txt), and keeps .whl/ out of git.
#
# On the device machine nothing of .venv travels: its own python3 (torch with CUDA) runs the
# check with this checkout on PYTHONPATH and, when it lacks them, the carried wheels installed
# to /tmp/site. From a session with a GPU, after --fetch-wheels:
#   run(command='bash benchmarks/gpu/check.sh "$OUT"', carry=[".whl"], timeout_s=420)
set -euo pipefail
cd "$(dirname "$0")/../.."
usage="usage: bash benchmarks/gpu/check.sh OUT [--dry-run] [options] | --fetch-wheels"

if [[ "${1:-}" == "--fetch-wheels" ]]; then
    grep -qxF '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >>.git/info/exclude
    "${PYTHON:-.venv/bin/python}" -m pip download --no-deps --only-binary=:all: \
        --python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d .whl -r benchmarks/gpu/check_wheels.txt
    exit 0
fi

out=${1:?$usage}
shift
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
# The carried wheels fill in only what this Python lacks (the device machine's has torch).
if ! "$PYTHON" -c 'import pydantic, pytorch_msssim' 2>/dev/null && compgen -G '.whl/*.whl' >/dev/null; then
    "$PYTHON" -m pip install -q --root-user-action=ignore --disable-pip-version-check \
        --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
mkdir -p "$out"
# SIGTERM at the limit lets the driver write its JSON once more; KILL 15 s later if it hangs.
exec timeout -k 15 "${GPU_CHECK_LIMIT:-360}" "$PYTHON" -m benchmarks.gpu.check --out "$out" "$@"

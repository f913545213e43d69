#!/usr/bin/env bash
# Install sia-audit from the action's own checkout. torch comes from PyTorch's CPU wheel index on
# runners without an NVIDIA GPU (PyPI's torch is a multi-GB CUDA build), unless TORCH_INDEX_URL
# names another index. The local +cpu build sorts above PyPI's, so pip takes it from the extra
# index while every other package comes from PyPI.
set -euo pipefail
index=${TORCH_INDEX_URL:-}
if [ -z "$index" ] && ! command -v nvidia-smi >/dev/null 2>&1; then
  index=https://download.pytorch.org/whl/cpu
fi
args=(install --disable-pip-version-check --quiet)
if [ -n "$index" ]; then
  args+=(--extra-index-url "$index")
fi
python -m pip "${args[@]}" "$ACTION_PATH"
python -m sia_audit.cli --version

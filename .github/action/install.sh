#!/usr/bin/env bash
# Install sia-audit from the action's own checkout, on the Python setup-python chose (3.11 to 3.13).
# torch and torchvision come first, on their own, from PyTorch's CPU wheel index on runners
# without an NVIDIA GPU (PyPI's torch is a multi-GB CUDA build), or from TORCH_INDEX_URL when set:
# from that index only, so that a newer release on PyPI cannot win over it. sia-audit then keeps
# them (it asks only for torch>=2.1 and torchvision>=0.16). ONNX Runtime is an extra, installed
# when the workflow gives an onnx-model: onnxruntime-gpu on a GPU runner, onnxruntime otherwise.
set -euo pipefail
quiet=(--disable-pip-version-check --quiet)
gpu=false
if command -v nvidia-smi >/dev/null 2>&1; then
  gpu=true
fi
index=${TORCH_INDEX_URL:-}
if [ -z "$index" ] && [ "$gpu" = false ]; then
  index=https://download.pytorch.org/whl/cpu
fi
if [ -n "$index" ]; then
  python -m pip install "${quiet[@]}" --index-url "$index" torch torchvision
fi
extra=""
if [ -n "${INPUT_ONNX_MODEL:-}" ]; then
  if [ "$gpu" = true ]; then
    extra="[onnx-gpu]"
  else
    extra="[onnx]"
  fi
fi
python -m pip install "${quiet[@]}" "$ACTION_PATH$extra"
python -m sia_audit.cli --version

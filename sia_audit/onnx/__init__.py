"""The ONNX clean-accuracy and parity check: ONNX Runtime gives no input gradients, so an
ONNX export is never attacked; it is only run on the clean probes and compared with the torch
target. `results` holds the figures (no onnxruntime import), `runtime` the session, `check` the
measurement."""

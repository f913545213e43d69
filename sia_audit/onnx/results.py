"""The figures of an ONNX check, as plain frozen dataclasses (no onnxruntime import here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sia_audit.metrics import Estimate


@dataclass(frozen=True)
class OnnxParity:
    """How closely the ONNX model reproduces the torch target on the same clean probes.

    `max_abs_diff` is the largest absolute difference of any raw output element (logits,
    heatmaps, coordinates) over all probes; `agreement` is the fraction of probes whose
    prediction is the same (binary/multiclass: the same label; keypoints: every point within
    1e-4 of the torch one).
    """

    max_abs_diff: float
    agreement: Estimate
    torch_target: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "max_abs_diff": self.max_abs_diff,
            "agreement": self.agreement.as_dict(),
            "torch_target": self.torch_target,
        }


@dataclass(frozen=True)
class OnnxResult:
    """Clean accuracy of an ONNX model on the probe set, and its parity with the torch target."""

    model: str
    sha256: str
    provider: str  # the ONNX Runtime execution provider that ran it
    onnxruntime_version: str
    clean_accuracy: Estimate
    parity: OnnxParity | None  # None when no torch target was given to compare with

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "sha256": self.sha256,
            "provider": self.provider,
            "onnxruntime_version": self.onnxruntime_version,
            "clean_accuracy": self.clean_accuracy.as_dict(),
            "parity": None if self.parity is None else self.parity.as_dict(),
        }

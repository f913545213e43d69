"""The ONNX block of a report (clean accuracy and torch parity of the --onnx export), as printed."""

from __future__ import annotations

from dataclasses import dataclass

from sia_audit.formats.figures import Figure, figure
from sia_audit.report_schema import OnnxBlock


@dataclass(frozen=True)
class OnnxView:
    model: str
    sha256: str
    runtime: str  # "ONNX Runtime 1.31.1, CPUExecutionProvider"
    clean_accuracy: Figure
    torch_target: str | None  # None: no parity was measured
    max_abs_diff: str
    agreement: Figure | None


def onnx_view(block: OnnxBlock | None) -> OnnxView | None:
    """The view of report.json's optional `onnx` block (absent in reports run without --onnx)."""
    if block is None:
        return None
    parity = block.parity
    accuracy = figure(block.clean_accuracy)
    assert accuracy is not None  # a present block always has its accuracy
    return OnnxView(
        model=block.model,
        sha256=block.sha256,
        runtime=f"ONNX Runtime {block.onnxruntime_version}, {block.provider}",
        clean_accuracy=accuracy,
        torch_target=None if parity is None else parity.torch_target,
        max_abs_diff="" if parity is None else f"{parity.max_abs_diff:.3g}",
        agreement=None if parity is None else figure(parity.agreement),
    )

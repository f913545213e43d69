"""The ONNX gates: policy validation and verdicts, on hand-made figures (no model needed)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sia_audit.gates.thresholds import onnx_verdicts
from sia_audit.metrics import Estimate
from sia_audit.onnx.results import OnnxParity, OnnxResult
from sia_audit.policy.gates import GatesSection


def est(v: float) -> Estimate:
    return Estimate(v, v, v, 64, 0.95, "")


def result(accuracy: float, diff: float | None, agreement: float = 1.0) -> OnnxResult:
    parity = None if diff is None else OnnxParity(diff, est(agreement), "m.pt")
    return OnnxResult("m.onnx", "0" * 64, "CPUExecutionProvider", "1.31.1", est(accuracy), parity)


GATES = GatesSection.model_validate(
    {"onnx_clean_accuracy": {"min": 0.9}, "onnx_parity": {"max_abs_diff": 1e-4, "min_agreement": 1}}
)


def statuses(verdicts) -> dict[str, str]:  # noqa: ANN001
    return {v.gate: v.status for v in verdicts}


def test_without_onnx_the_gates_are_skipped_with_the_reason() -> None:
    verdicts = onnx_verdicts(GATES, None)
    assert statuses(verdicts) == {"onnx_clean_accuracy": "skipped", "onnx_parity": "skipped"}
    assert all("no --onnx model given" in v.message for v in verdicts)


@pytest.mark.parametrize(
    ("r", "failed"),
    [
        (result(0.95, 1e-6), set()),
        (result(0.85, 1e-6), {"onnx_clean_accuracy"}),
        (result(0.95, 2e-4), {"onnx_parity.max_abs_diff"}),
        (result(0.95, 1e-6, agreement=63 / 64), {"onnx_parity.agreement"}),
    ],
)
def test_each_figure_fails_its_own_gate(r: OnnxResult, failed: set[str]) -> None:
    got = statuses(onnx_verdicts(GATES, r))
    assert {g for g, s in got.items() if s == "fail"} == failed


def test_parity_without_a_torch_target_is_skipped() -> None:
    got = statuses(onnx_verdicts(GATES, result(0.95, None)))
    assert got == {"onnx_clean_accuracy": "pass", "onnx_parity": "skipped"}


@pytest.mark.parametrize(
    "gates",
    [
        {"onnx_parity": {}},  # neither figure: a gate that checks nothing
        {"onnx_parity": {"max_abs_diff": 1e-4, "typo": 1}},
        {"onnx_parity": {"min_agreement": 1.5}},
        {"onnx_clean_accuracy": {"min": 98}},  # a percentage, not a fraction
    ],
)
def test_bad_onnx_gates_are_rejected(gates: dict) -> None:
    with pytest.raises(ValidationError):
        GatesSection.model_validate(gates)

"""The policy's gate fields: their defaults and bounds decide verdicts before any figure does."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sia_audit.policy.gates import GatesSection, RegressionSection
from sia_audit.policy.models import Policy


def test_use_confidence_is_off_for_thresholds_and_on_for_regressions() -> None:
    gates = GatesSection.model_validate(
        {"sdar": {"max": 1}, "clean_accuracy": {"min": 0.5}, "psnr": {"min": 20},
         "attack_success_rate": {"max": {"full": 0.5}}, "robust_accuracy": {"min": {"full": 0}},
         "sensitivity": {"max": 1, "attributes": "all"}, "onnx_clean_accuracy": {"min": 0.5}}
    )  # fmt: skip
    assert not any(getattr(gates, name).use_confidence for name in (
        "sdar", "clean_accuracy", "psnr", "attack_success_rate", "robust_accuracy",
        "sensitivity", "onnx_clean_accuracy"))  # fmt: skip
    assert gates.sensitivity is not None and gates.sensitivity.normalised is False
    assert gates.sdar is not None and gates.sdar.on == "s"
    regression = RegressionSection()
    assert regression.use_confidence is True and regression.attributes == "all"


@pytest.mark.parametrize(
    ("gates", "where"),
    [({"sdar": {"max": -0.1}}, "sdar.max"),
     ({"sdar": {"max": float("inf")}}, "sdar.max"),
     ({"psnr": {"min": float("nan")}}, "psnr.min"),
     ({"clean_accuracy": {"min": 1.5}}, "clean_accuracy.min"),
     ({"clean_accuracy": {"min": -0.5}}, "clean_accuracy.min"),
     ({"onnx_parity": {"max_abs_diff": float("inf")}}, "onnx_parity.max_abs_diff"),
     ({"onnx_parity": {"max_abs_diff": -1}}, "onnx_parity.max_abs_diff"),
     ({"onnx_parity": {"min_agreement": 1.5}}, "onnx_parity.min_agreement"),
     ({"onnx_parity": {"min_agreement": -0.5}}, "onnx_parity.min_agreement"),
     ({"regression": {"flip_rate_increase": 1.5}}, "regression.flip_rate_increase"),
     ({"regression": {"flip_rate_increase": -0.5}}, "regression.flip_rate_increase"),
     ({"regression": {"flip_loss_increase": -0.5}}, "regression.flip_loss_increase"),
     ({"regression": {"flip_loss_relative_increase": -1}},
      "regression.flip_loss_relative_increase"),
     ({"regression": {"flip_loss_relative_increase": float("inf")}},
      "regression.flip_loss_relative_increase"),
     ({"regression": {"flip_loss_cap": 0}}, "regression.flip_loss_cap"),
     ({"regression": {"flip_loss_cap": float("nan")}}, "regression.flip_loss_cap"),
     ({"regression": {"sdar_increase": -0.5}}, "regression.sdar_increase"),
     ({"regression": {"sensitivity_increase": -0.5}}, "regression.sensitivity_increase"),
     ({"regression": {"weighted_increase": -0.5}}, "regression.weighted_increase"),
     ({"regression": {"attack_success_rate_increase": -0.5}},
      "regression.attack_success_rate_increase"),
     ({"regression": {"clean_accuracy_decrease": -0.5}}, "regression.clean_accuracy_decrease")],
)  # fmt: skip
def test_a_threshold_outside_its_range_is_refused(gates: dict, where: str) -> None:
    with pytest.raises(ValidationError) as caught:
        GatesSection.model_validate(gates)
    assert [".".join(map(str, e["loc"])) for e in caught.value.errors()] == [where]


def test_thresholds_on_their_bounds_are_accepted() -> None:
    GatesSection.model_validate(
        {"sdar": {"max": 0}, "clean_accuracy": {"min": 1}, "reconstruction_accuracy": {"min": 0},
         "psnr": {"min": -5.0},
         "onnx_parity": {"max_abs_diff": 0, "min_agreement": 0.5},
         "regression": {"flip_rate_increase": 0.5, "flip_loss_increase": 0.5,
                        "sdar_increase": 0.5, "sensitivity_increase": 0.5,
                        "weighted_increase": 0.5, "attack_success_rate_increase": 0.5,
                        "clean_accuracy_decrease": 0.5}}
    )  # fmt: skip
    GatesSection.model_validate({"onnx_parity": {"min_agreement": 1}, "clean_accuracy": {"min": 0}})


@pytest.mark.parametrize(
    "gate",
    ["sensitivity", "attribute_effect", "path_share", "weighted_sensitivity", "flip_rate",
     "regression"],
)  # fmt: skip
def test_a_gate_on_the_protected_attributes_needs_some(gate: str) -> None:
    section = {"attributes": "protected"} if gate == "regression" else {
        "max": 1, "attributes": "protected"}  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        Policy.model_validate({"version": 1, "gates": {gate: section}})
    assert f"gates.{gate} applies to the protected attributes, but `protected` is empty" in str(
        caught.value
    )
    Policy.model_validate({"version": 1, "protected": ["Male"], "gates": {gate: section}})


def test_a_flip_loss_cap_without_a_flip_loss_allowance_is_refused() -> None:
    with pytest.raises(ValidationError, match="flip_loss_cap caps the flip loss"):
        GatesSection.model_validate({"regression": {"flip_loss_cap": 1, "sdar_increase": 0.02}})
    for allowance in ("flip_loss_increase", "flip_loss_relative_increase"):
        GatesSection.model_validate({"regression": {"flip_loss_cap": 1, allowance: 0.05}})

"""Shared fixtures of the ONNX tests: the shipped demo exports and a policy with ONNX gates."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "examples" / "models"
FAIRNESS = ROOT / "policies" / "fairness.yaml"
ONNX_GATES = {
    "onnx_clean_accuracy": {"min": 0.9},
    "onnx_parity": {"max_abs_diff": 1e-4, "min_agreement": 1.0},
}


def onnx_policy(folder: Path, **changes: object) -> Path:
    """policies/fairness.yaml with the two ONNX gates added (and `changes` at the top level)."""
    data = yaml.safe_load(FAIRNESS.read_text())
    data["gates"].update(ONNX_GATES)
    data.update(changes)
    path = folder / "fairness_onnx.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="package")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return onnx_policy(tmp_path_factory.mktemp("policy"))

"""Parity of the shipped ONNX exports with their torch demo models, and a broken export caught.

The exports come from scripts/export_onnx.py; if a demo model is retrained without re-running
it, these tests fail (which is the point of a parity gate).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import numpy_helper

from sia_audit.cli import cli
from tests.onnx.conftest import MODELS


def check(model: Path, policy: Path, target: Path | None) -> tuple[int, str]:
    args = ["check-onnx", str(model), "--policy", str(policy)]
    if target is not None:
        args += ["--target", str(target)]
    result = CliRunner().invoke(cli, args)
    return result.exit_code, result.output


def figure(output: str, label: str) -> float:
    match = re.search(rf"^{label}:\s+([0-9.e+-]+)", output, re.MULTILINE)
    assert match, output
    return float(match.group(1))


@pytest.mark.parametrize("name", ["eyeglasses_biased", "eyeglasses_control"])
def test_demo_export_matches_its_torch_model(name: str, policy: Path) -> None:
    code, output = check(MODELS / f"{name}.onnx", policy, MODELS / f"{name}.pt")
    print(output)  # the figures, for `pytest -s`: max abs logit difference and agreement
    assert code == 0, output
    assert figure(output, "agreement") == 1.0
    assert figure(output, "max abs difference") < 1e-4
    assert figure(output, "clean accuracy") >= 0.9


def broken_copy(source: Path, dest: Path) -> Path:
    """The export with its first conv weights scaled by 1.3: loads and runs, predicts worse."""
    model = onnx.load(str(source))
    init = next(t for t in model.graph.initializer if len(t.dims) == 4)
    weights = numpy_helper.to_array(init) * np.float32(1.3)
    init.CopyFrom(numpy_helper.from_array(weights, init.name))
    onnx.save(model, str(dest))
    return dest


def test_an_altered_export_fails_the_parity_gate(policy: Path, tmp_path: Path) -> None:
    broken = broken_copy(MODELS / "eyeglasses_control.onnx", tmp_path / "broken.onnx")
    code, output = check(broken, policy, MODELS / "eyeglasses_control.pt")
    print(output)
    assert code == 1, output
    assert figure(output, "max abs difference") > 1e-4
    assert "FAIL    onnx_parity.max_abs_diff" in output


def test_without_target_parity_is_skipped_not_passed(policy: Path) -> None:
    code, output = check(MODELS / "eyeglasses_control.onnx", policy, None)
    assert code == 0, output
    assert "SKIPPED onnx_parity: no torch target given to compare with" in output
    assert "agreement" not in output

"""An ONNX file that cannot be checked is one line and exit 2, before any probe or attack."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from torch import nn

from sia_audit.cli import cli
from tests.onnx.conftest import MODELS

CONTROL = MODELS / "eyeglasses_control.pt"


def tiny_onnx(path: Path, size: int) -> Path:
    """A one-logit model exported at a fixed (1, 3, size, size) input, with no contract."""
    model = nn.Sequential(nn.Conv2d(3, 1, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, 3, size, size),), str(path), dynamo=False)
    return path


def one_error_line(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sia-audit: error: "), result.stderr
    return lines[0]


def test_missing_file(policy: Path, tmp_path: Path) -> None:
    line = one_error_line(["check-onnx", str(tmp_path / "nope.onnx"), "--policy", str(policy)])
    assert "file not found" in line


def test_a_torch_model_is_not_an_onnx_model(policy: Path) -> None:
    line = one_error_line(["check-onnx", str(CONTROL), "--policy", str(policy)])
    assert "expected a .onnx file" in line


def test_garbage_named_onnx(policy: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_text("not a model")
    line = one_error_line(["check-onnx", str(bad), "--policy", str(policy)])
    assert "ONNX Runtime cannot load it" in line


def test_input_shape_that_does_not_fit_the_probes(policy: Path, tmp_path: Path) -> None:
    small = tiny_onnx(tmp_path / "small.onnx", 32)
    args = ["check-onnx", str(small), "--policy", str(policy), "--target", str(CONTROL)]
    line = one_error_line(args)
    assert "[1, 3, 32, 32]" in line and "(batch, 3, 64, 64)" in line


def test_an_onnx_model_without_a_contract_says_how_to_give_one(
    policy: Path, tmp_path: Path
) -> None:
    line = one_error_line(
        ["check-onnx", str(tiny_onnx(tmp_path / "m.onnx", 64)), "--policy", str(policy)]
    )
    assert "has no contract" in line


@pytest.mark.parametrize("where", ["target", "check-onnx --target"])
def test_onnx_where_a_differentiable_target_is_needed(
    where: str, policy: Path, tmp_path: Path
) -> None:
    onnx_file = str(MODELS / "eyeglasses_control.onnx")
    if where == "target":
        args = [
            "run",
            onnx_file,
            "--policy",
            str(policy),
            "--out",
            str(tmp_path / "out"),
            "--quiet",
        ]
    else:
        args = ["check-onnx", onnx_file, "--policy", str(policy), "--target", onnx_file]
    line = one_error_line(args)
    assert "no input gradients" in line
    assert not (tmp_path / "out").exists()


def test_run_with_a_bad_onnx_fails_before_attacking_and_writes_nothing(
    policy: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_text("not a model")
    out = tmp_path / "out"
    args = ["run", str(CONTROL), "--policy", str(policy), "--onnx", str(bad), "--out", str(out)]
    args += ["--quiet"]
    line = one_error_line(args)
    assert "ONNX Runtime cannot load it" in line
    assert not out.exists()


def test_a_policy_without_onnx_gates_is_refused_not_passed(tmp_path: Path) -> None:
    """Not "passed (0 gates)" and exit 0: a check that would check nothing is refused."""
    policy = tmp_path / "policy.yaml"
    policy.write_text("probes: {count: 4}\ngates:\n  clean_accuracy: {min: 0.5}\n")
    line = one_error_line(["check-onnx", str(tmp_path / "m.onnx"), "--policy", str(policy)])
    assert "has no ONNX gate, so check-onnx would check nothing" in line
    policy.write_text("probes: {count: 4}\ngates:\n  onnx_parity: {min_agreement: 1.0}\n")
    line = one_error_line(["check-onnx", str(tmp_path / "m.onnx"), "--policy", str(policy)])
    assert "onnx_parity, which compares with the torch model: give it with --target" in line

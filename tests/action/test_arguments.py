"""The action's audit step builds `sia-audit run`'s argument list and refuses option-like input."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

import pytest

from tests.action.sources import ROOT


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "run_audit", ROOT / ".github" / "action" / "run_audit.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run_audit = load()
BASE = {"INPUT_MODEL": "m.pt", "INPUT_POLICY": "p.yaml", "INPUT_OUTPUT": "out"}


def test_inputs_become_a_list_in_order() -> None:
    env = {**BASE, "INPUT_BASELINE": "base dir/r.json", "INPUT_ONNX_MODEL": "m.onnx"}
    env["INPUT_EXTRA_ARGS"] = "--device cpu --format=json,md --quiet"
    assert run_audit.command(env) == [
        sys.executable, "-m", "sia_audit.cli", "run", "m.pt", "--policy", "p.yaml",
        "--baseline", "base dir/r.json", "--onnx", "m.onnx", "--out", "out",
        "--device", "cpu", "--format", "json,md", "--quiet",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"INPUT_MODEL": "--allow-code"}, "looks like an option"),
        ({"INPUT_BASELINE": "-x"}, "looks like an option"),
        ({"INPUT_OUTPUT": "a\nb"}, "line break"),
        ({"INPUT_POLICY": ""}, "policy is required"),
        ({"INPUT_EXTRA_ARGS": "--allow-code"}, "not allowed"),
        ({"INPUT_EXTRA_ARGS": "--out /etc"}, "not allowed"),
        ({"INPUT_EXTRA_ARGS": "--device --allow-code"}, "looks like an option"),
        ({"INPUT_EXTRA_ARGS": "--batch-size"}, "needs a value"),
        ({"INPUT_EXTRA_ARGS": "'unclosed"}, "quotes"),
        ({"INPUT_EXTRA_ARGS": "; rm -rf ~"}, "not allowed"),
    ],
)
def test_bad_inputs_are_refused(change: dict[str, str], message: str) -> None:
    with pytest.raises(run_audit.InputError, match=message):
        run_audit.command({**BASE, **change})

"""ONNX Runtime is an extra: without it, `check-onnx` and `run --onnx` are one line naming the
extra, exit 2, before anything is loaded. (tests/packaging/test_wheel.py checks the same from a
real install without the extra.)"""

from __future__ import annotations

import sys
from importlib.abc import MetaPathFinder
from pathlib import Path

import pytest

from tests.commands.test_run import LENIENT, TARGET
from tests.onnx.test_bad_inputs import one_error_line

EXTRAS = "pip install 'sia-audit[onnx]' (or 'sia-audit[onnx-gpu]' for CUDA"


@pytest.fixture
def no_onnxruntime(monkeypatch: pytest.MonkeyPatch) -> None:
    """`import onnxruntime` fails as it does where neither extra is installed."""
    monkeypatch.setitem(sys.modules, "onnxruntime", None)


@pytest.mark.usefixtures("no_onnxruntime")
def test_check_onnx_names_the_extra(policy: Path, tmp_path: Path) -> None:
    line = one_error_line(["check-onnx", str(tmp_path / "m.onnx"), "--policy", str(policy)])
    assert "ONNX Runtime is not installed" in line and EXTRAS in line


@pytest.mark.usefixtures("no_onnxruntime")
def test_run_with_onnx_names_the_extra_before_the_audit(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(LENIENT)
    out = tmp_path / "out"
    line = one_error_line(
        ["run", TARGET, "--policy", str(policy), "--onnx", str(tmp_path / "m.onnx"),
         "--out", str(out), "--format", "json"]
    )  # fmt: skip
    assert "--onnx and check-onnx need it" in line and EXTRAS in line
    assert not out.exists()


class _Broken(MetaPathFinder):
    """An onnxruntime that is installed but fails to import (both builds installed, then one
    uninstalled, leaves such a folder)."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "onnxruntime":
            raise ImportError("cannot import name 'InferenceSession' from 'onnxruntime'")


def test_a_broken_install_says_to_reinstall(
    policy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(sys.modules, "onnxruntime", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_Broken(), *sys.meta_path])
    line = one_error_line(["check-onnx", str(tmp_path / "m.onnx"), "--policy", str(policy)])
    assert "ONNX Runtime cannot be imported (cannot import name 'InferenceSession'" in line
    assert "reinstall it" in line and EXTRAS in line

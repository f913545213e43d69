"""The demo's model, policy and baseline are package data mapped from examples/models/ and
policies/: in this editable install they are the checkout's own files (so a retrained model is
used as soon as it is written), and a missing one is one line naming the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from sia_audit.commands.demo import BASELINE, MODEL, POLICY, shipped
from sia_audit.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]


def test_the_editable_install_reads_the_checkouts_files() -> None:
    assert shipped(*MODEL).resolve() == ROOT / "examples" / "models" / "eyeglasses_biased.pt"
    assert shipped(*POLICY).resolve() == ROOT / "policies" / "fairness.yaml"
    assert shipped(*BASELINE).resolve() == ROOT / "examples" / "models" / (
        "eyeglasses_control.report.json"
    )


@pytest.mark.parametrize(
    ("package", "name"),
    [("sia_audit.demo_models", "missing.pt"), ("sia_audit.not_installed", "fairness.yaml")],
)
def test_a_missing_file_says_to_reinstall(package: str, name: str) -> None:
    with pytest.raises(UsageError, match=f"the demo's {name} is not installed with sia-audit"):
        shipped(package, name)

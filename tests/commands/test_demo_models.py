"""The shipped demo models under the shipped fairness policy, at the policy's full settings.

The README's first command (`sia-audit demo`) audits the biased model; the control must pass
the same policy, and `compare` of the two (control as the baseline) must flag the regression.
These are the slowest tests of the suite (64-probe audits, ~40 s each on 2 cores): they are
what a user sees first, so they run as shipped, not on shrunken settings. The control's audit
is the session's (tests/conftest.py): `sia-audit run` through the composite action, with its
ONNX export, which the action's own tests read too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from sia_audit.cli import cli
from sia_audit.gates.comparable import COMPARABLE
from sia_audit.gates.numerics import FLOORS
from tests.action.harness import FAIRNESS, ActionRun


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[str, dict]:
    out = tmp_path_factory.mktemp("demo") / "out"
    result = CliRunner().invoke(cli, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return result.output, json.loads((out / "report.json").read_text())


@pytest.fixture
def control(action_control: tuple[ActionRun, Path]) -> tuple[int, Path]:
    """`sia-audit run` of the control under the same policy: its exit code and report.json."""
    run, work = action_control
    return int(run.outputs["exit-code"]), work / run.outputs["report-json"]


def gates(report: dict) -> dict[str, str]:
    return {g["gate"]: g["status"] for g in report["gates"]}


def test_demo_catches_the_planted_mustache_shortcut(demo) -> None:
    output, report = demo
    assert "eyeglasses_biased.pt" in output and "caught the planted Mustache" in output
    assert report["verdict"] == "fail"
    failed = [name for name, status in gates(report).items() if status == "fail"]
    # The w gate names the shortcut and nothing else. s fails it too (and two of its mouth
    # neighbours within 0.01 of the threshold, not pinned here).
    assert [g for g in failed if g.startswith("weighted")] == ["weighted_sensitivity[Mustache]"]
    assert {"sensitivity s[Mustache]", "sdar(s)"} <= set(failed)
    # The push, the figure the report leads with, ranks it first (turning a moustache on moves
    # the answer toward Eyeglasses, as planted), as do the moved share, the flip rate, w and s.
    assert report["figures"]["counterfactual_flips"]["push_toward"]["Mustache"] == 1
    for block in (
        report["figures"]["counterfactual_flips"]["push"],
        report["figures"]["counterfactual_flips"]["moved"],
        report["figures"]["counterfactual_flips"]["rate"],
        report["figures"]["weighted_sensitivity"]["w"],
        report["figures"]["sensitivity"]["s"],
    ):
        assert max(block, key=lambda name: block[name]["value"]) == "Mustache"
    # As a pull request on the control (its shipped audit as the baseline), the regression gate
    # on the flip loss names the shortcut and nothing else.
    assert [g for g in failed if g.startswith("regression flip_loss")] == [
        "regression flip_loss[Mustache]"
    ]
    assert "as a pull request on its truthful control" in output
    assert "and, against the control, its regression gate" in output
    lead = re.search(
        r"whose flip moves its answer one way on the most faces \(push, the report's lead; "
        r"\+ toward Eyeglasses as the attribute turns on, - away\): (\w+) \+",
        output,
    )
    assert lead and lead[1] == "Mustache", output
    moved = re.search(
        r"whose flip moves its loss on the most faces \(moved share\): (\w+) ", output
    )
    assert moved and moved[1] == "Mustache", output
    rate = re.search(r"whose flip most often changes its answer \(flip rate\): (\w+) ", output)
    assert rate and rate[1] == "Mustache", output


def test_the_gated_figure_separates_the_two_models_by_three_half_widths(demo, control) -> None:
    """On the gated figure the biased and control models sit >= 3 half-widths apart."""
    biased = demo[1]["figures"]["weighted_sensitivity"]["w"]["Mustache"]
    clean = json.loads(control[1].read_text())["figures"]["weighted_sensitivity"]["w"]["Mustache"]
    half = max((e["high"] - e["low"]) / 2 for e in (biased, clean))
    assert biased["value"] - clean["value"] >= 3 * half


def test_control_passes_the_same_policy(control) -> None:
    code, path = control
    assert code == 0
    report = json.loads(path.read_text())
    assert report["verdict"] == "pass" and set(gates(report).values()) <= {"pass", "skipped"}


def test_the_biased_model_really_uses_its_shortcut(demo, control) -> None:
    """Check the shortcut was learned before expecting SIA to find it."""

    def accuracy_where_mustache_disagrees(report: dict) -> float:
        probes = report["probes"]
        names = probes["attributes"]
        glasses, mustache = names.index("Eyeglasses"), names.index("Mustache")
        right = [
            ok
            for a0, ok in zip(probes["a0"], probes["correct_clean"], strict=True)
            if (a0[glasses] >= 0.5) != (a0[mustache] >= 0.5)
        ]
        assert len(right) >= 10  # decorrelated probes: about a third disagree
        return sum(right) / len(right)

    biased = accuracy_where_mustache_disagrees(demo[1])
    clean = accuracy_where_mustache_disagrees(json.loads(control[1].read_text()))
    # On these 64 probes the biased model gets 2 of the 17 disagreeing ones wrong (0.87 on the
    # 512 held-out faces of its training log): a partial shortcut, with accuracy gates passed.
    assert clean == 1.0 and biased < clean


def test_compare_flags_the_biased_model_as_the_readme_quotes(demo, control, tmp_path: Path) -> None:
    head = tmp_path / "biased.json"
    head.write_text(json.dumps(demo[1]))
    result = CliRunner().invoke(
        cli, ["compare", str(control[1]), str(head), "--policy", str(FAIRNESS)]
    )
    assert result.exit_code == 1, result.output
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert any("regression flip_loss[Mustache]" in line for line in failed), result.stdout
    # The README quotes this comparison: every failing change, with its figures as printed.
    readme = " ".join((Path(__file__).parents[2] / "README.md").read_text().split())
    number = r"([-+]?[0-9.]+(?:e-?[0-9]+)?)"
    for line in failed:
        found = re.search(rf"regression (\S+) = {number} \[{number}, {number}\]", line)
        assert found, line
        name, value, low, high = found[1], *(float(x) for x in found.groups()[1:])
        shown = "SDAR" if name == "sdar(s)" else name
        quoted = f"{value:.3f} [{low:.3f}, {high:.3f}]"
        assert shown in readme and quoted in readme, f"README does not quote {shown} {quoted}"


def test_the_shipped_baseline_is_the_controls_audit_under_the_same_policy(control) -> None:
    """The demo's baseline (scripts/make_demo_baseline.py) must match a fresh audit of the
    control: the same inputs and per probe the same flips. The moves are held to the rounding
    floors the regression gate allows between reports of other arithmetic (s and w per
    attribute), on every machine: signed steps take other paths at ties for some probes not
    only on other CPU kernels (the baseline was made on AVX512) but between two CPUs that both
    report AVX512 (seen: 5 of 15 moves of one probe, one or two steps apart)."""
    fresh = json.loads(control[1].read_text())
    kept = json.loads(
        (Path(__file__).parents[2] / "examples/models/eyeglasses_control.report.json").read_text()
    )
    assert kept["verdict"] == "pass" and kept["gallery"] == []
    for key in COMPARABLE:
        assert kept["provenance"][key] == fresh["provenance"][key], key
    a, b = kept["probes"], fresh["probes"]
    assert a["names"] == b["names"] and a["attributes"] == b["attributes"]
    assert a["flip_changed"] == b["flip_changed"]
    for row_a, row_b in zip(a["flip_loss"], b["flip_loss"], strict=True):
        assert row_a == pytest.approx(row_b, abs=1e-4)
    for figure, block in (("s", "sensitivity"), ("w", "weighted_sensitivity")):
        ka, fa = kept["figures"][block][figure], fresh["figures"][block][figure]
        assert ka.keys() == fa.keys()
        for name in ka:
            moved = abs(ka[name]["value"] - fa[name]["value"])
            assert moved <= FLOORS[figure], (figure, name, moved)

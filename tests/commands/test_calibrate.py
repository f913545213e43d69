"""`sia-audit calibrate`: ceilings from trusted models' reports, and its refusals."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from sia_audit.cli import cli
from sia_audit.errors import DataError
from sia_audit.gates.calibrate import calibrate
from sia_audit.policy import load_policy
from sia_audit.policy.models import Policy
from sia_audit.report_schema import ReportRecord

DATA = Path(__file__).parents[1] / "formats" / "data" / "report.json"
POLICY = """version: 1
gates:
  sensitivity: {max: 0.3, attributes: all, use_confidence: true}
  flip_rate: {max: 0.2, attributes: [Mustache, Bald], use_confidence: false}
  sdar: {max: 0.09, use_confidence: true}
"""


def est(value: float, low: float, high: float) -> dict[str, Any]:
    return {"value": value, "low": low, "high": high, "n": 8, "level": 0.95, "definition": "d"}


def report(flip_mustache: float, shift: float = 0.0) -> dict[str, Any]:
    """The fixed report with counterfactual flips, and every s moved up by `shift`."""
    d = copy.deepcopy(json.loads(DATA.read_text()))
    for e in d["figures"]["sensitivity"]["s"].values():
        e["value"] += shift
        e["low"] += shift
        e["high"] += shift
    names = list(d["figures"]["sensitivity"]["s"])
    rate = {a: est(0.01, 0.0, 0.03) for a in names}
    rate["Mustache"] = est(flip_mustache, flip_mustache - 0.05, flip_mustache + 0.05)
    d["figures"]["counterfactual_flips"] = {
        "n": 8, "attributes": names, "excluded": [], "rate": rate, "loss": rate,
    }  # fmt: skip
    return d


def test_each_ceiling_is_the_largest_trusted_figure_plus_its_margin() -> None:
    policy = Policy.model_validate(yaml.safe_load(POLICY))
    a, b = ReportRecord(report(0.05)), ReportRecord(report(0.08, shift=0.01))
    rows = {r.gate: r for r in calibrate(policy, [("a", a), ("b", b)], {"flip_rate": 0.02})}
    assert set(rows) == {"sensitivity", "flip_rate", "sdar"}
    flip = rows["flip_rate"]
    # use_confidence false: values, not low ends; only the listed attributes count.
    assert (flip.largest, flip.report, flip.attribute) == (0.08, "b", "Mustache")
    assert flip.threshold == pytest.approx(0.1)
    s = rows["sensitivity"]
    lows = [e["low"] + 0.01 for e in report(0)["figures"]["sensitivity"]["s"].values()]
    assert s.largest == pytest.approx(max(lows)) and s.report == "b" and s.margin == 0.11
    assert s.threshold >= s.largest + s.margin  # rounded up, never down
    assert rows["sdar"].attribute is None


def test_reports_of_another_setup_are_refused() -> None:
    policy = Policy.model_validate(yaml.safe_load(POLICY))
    other = report(0.05)
    other["provenance"]["generator_sha256"] = "0" * 64
    with pytest.raises(DataError, match="generator_sha256 differ"):
        calibrate(policy, [("a", ReportRecord(report(0.05))), ("b", ReportRecord(other))])


def test_the_command_writes_a_gates_fragment(tmp_path: Path) -> None:
    paths = []
    for i, flip in enumerate((0.05, 0.08)):
        paths.append(tmp_path / f"r{i}.json")
        paths[-1].write_text(json.dumps(report(flip)))
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY)
    out = tmp_path / "gates.yaml"
    result = CliRunner().invoke(
        cli, ["calibrate", *map(str, paths), "--policy", str(policy), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "flip_rate: {max: 0.13, attributes: [Mustache, Bald], use_confidence: false}" in text
    assert "largest value 0.0800" in text
    merged = tmp_path / "merged.yaml"
    merged.write_text("version: 1\n" + text)
    calibrated = load_policy(merged)  # the fragment is a valid gates section, `on: s` included
    assert calibrated.gates.sdar is not None and calibrated.gates.sdar.on == "s"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--margin", "flip_rate=x"], "write GATE=VALUE"),
        (["--margin", "typo=0.1"], "GATE one of"),
        (["--margin", "flip_rate=-0.1"], "VALUE >= 0"),
    ],
)
def test_bad_margins_are_one_line_exit_2(tmp_path: Path, args: list[str], words: str) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(report(0.05)))
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY)
    result = CliRunner().invoke(cli, ["calibrate", str(path), "--policy", str(policy), *args])
    assert result.exit_code == 2 and words in result.output


def test_a_policy_without_ceilings_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(report(0.05)))
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\ngates: {clean_accuracy: {min: 0.9}}\n")
    result = CliRunner().invoke(cli, ["calibrate", str(path), "--policy", str(policy)])
    assert result.exit_code == 2 and "no per-attribute or SDAR gate" in result.output

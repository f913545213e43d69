"""`sia-audit run` end to end on the shipped generator and the demo target, tiny settings."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from sia_audit.cli import cli

ROOT = Path(__file__).resolve().parents[2]
TARGET = str(ROOT / "examples" / "models" / "eyeglasses_control.pt")
BASE = """\
probes: {count: 6, seed: 3}
attack: {steps: 3, eta_a: 4/255, batch_size: 4}
bootstrap: {resamples: 50}
protected: [Mustache]
"""
LENIENT = BASE + "gates:\n  clean_accuracy: {min: 0.5}\n  sdar: {max: 1.0}\n"
STRICT = BASE + "gates:\n  sensitivity: {max: 0.0001, attributes: protected}\n"


def write(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def run(*args: str):
    return CliRunner().invoke(cli, ["run", *args, "--quiet"])


def test_passing_policy_exits_0_and_writes_reports(tmp_path: Path) -> None:
    out = tmp_path / "rep"
    result = run(TARGET, "--policy", str(write(tmp_path, LENIENT)), "--out", str(out))
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["schema_version"] == 1 and report["verdict"] == "pass"
    assert len(report["probes"]["delta"]) == 6 and report["probes"]["frozen"] == ["Eyeglasses"]
    assert report["provenance"]["generator"] == "builtin:synthfaces"
    assert len(report["provenance"]["target_sha256"]) == 64
    assert "PASSED" in (out / "summary.md").read_text()


def test_failing_gate_exits_1_and_still_writes_reports(tmp_path: Path) -> None:
    out = tmp_path / "rep"
    result = run(TARGET, "--policy", str(write(tmp_path, STRICT)), "--out", str(out))
    assert result.exit_code == 1, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["verdict"] == "fail"
    assert [g["status"] for g in report["gates"]] == ["fail"]
    assert "sensitivity s[Mustache]" in result.stderr


def test_two_runs_give_identical_figures(tmp_path: Path) -> None:
    policy = str(write(tmp_path, LENIENT))
    reports = []
    for name in ("a", "b"):
        assert run(TARGET, "--policy", policy, "--out", str(tmp_path / name)).exit_code == 0
        report = json.loads((tmp_path / name / "report.json").read_text())
        report.pop("timings")
        reports.append(report)
    assert reports[0] == reports[1]

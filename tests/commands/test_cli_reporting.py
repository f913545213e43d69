"""What run and compare print: every compared gate, a note for an unused --baseline, --threads."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sia_audit.cli import cli
from tests.commands.test_run import BASE, LENIENT, TARGET, write

REGRESSION = BASE + (
    "editability: {on_unmeasurable: skip}\n"  # what is printed, whatever G can draw
    "gates:\n  regression: {sdar_increase: 0.5, sensitivity_increase: 0.5,"
    " attributes: [Mustache]}\n"
)


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("base")
    policy = write(tmp, REGRESSION)
    args = ("run", TARGET, "--policy", str(policy), "--out", str(tmp / "rep"), "--quiet")
    result = invoke(*args, "--threads", "1", "--format", "json")
    assert result.exit_code == 0, result.output
    return tmp / "rep" / "report.json"


def test_compare_prints_every_gate_with_its_interval(report: Path, tmp_path: Path) -> None:
    policy = write(tmp_path, REGRESSION)
    result = invoke("compare", str(report), str(report), "--policy", str(policy))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()  # one stream: the gates, then the verdict
    assert any(line.startswith("PASS    regression sdar(s) = +0 [0, 0]") for line in lines), lines
    # One line per gate, passed ones included: the Mustache gate is printed whatever its status.
    assert sum("regression" in line for line in lines) == 2
    assert lines[-1].startswith("sia-audit: passed (2 passed); baseline") and not result.stderr
    assert any("regression s[Mustache]" in line for line in lines)
    # The baseline first, as on the command line.
    assert f"baseline {report}, head {report}" in result.stdout


def test_compare_out_writes_a_pull_request_comment(report: Path, tmp_path: Path) -> None:
    import json

    policy = write(tmp_path, REGRESSION)
    out = tmp_path / "pr"
    result = invoke("compare", str(report), str(report), "--policy", str(policy), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["comparison.json", "summary.md"]
    assert f"summary.md and comparison.json in {out}" in result.stdout.splitlines()[-1]
    data = json.loads((out / "comparison.json").read_text())
    assert data["verdict"] == "pass" and data["counts"] == "2 passed"
    assert [g["gate"] for g in data["gates"]] == ["regression s[Mustache]", "regression sdar(s)"]
    assert data["baseline"]["report_sha256"] == data["head"]["report_sha256"]
    summary = (out / "summary.md").read_text()
    assert summary.startswith("## sia-audit compare: PASSED\n")
    assert "| `regression sdar(s)` | PASS | 0 | [0, 0] | ≤ 0.5 |" in summary
    # A run's report folder is refused: its summary.md would be lost.
    again = invoke(
        "compare", str(report), str(report), "--policy", str(policy), "--out", str(report.parent)
    )
    assert again.exit_code == 2 and "holds a run's reports" in again.stderr


def test_run_counts_skipped_gates_apart(tmp_path: Path) -> None:
    """Not "passed (3 gates)" when one of them was skipped."""
    policy = write(tmp_path, LENIENT + "  regression: {sdar_increase: 0.5}\n")
    args = ("run", TARGET, "--policy", str(policy), "--out", str(tmp_path / "r"), "--quiet")
    result = invoke(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    assert (
        result.stdout.strip()
        .splitlines()[-1]
        .startswith("sia-audit: passed (2 passed, 1 skipped); reports in")
    )
    only_skips = write(tmp_path, BASE + "gates:\n  regression: {sdar_increase: 0.5}\n")
    args = ("run", TARGET, "--policy", str(only_skips), "--out", str(tmp_path / "s"), "--quiet")
    result = invoke(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    assert "sia-audit: passed, but no gate was checked (1 skipped)" in result.stdout


def test_an_unused_baseline_is_said(report: Path, tmp_path: Path) -> None:
    policy = write(tmp_path, LENIENT)
    out = tmp_path / "rep"
    result = invoke(
        "run", TARGET, "--policy", str(policy), "--out", str(out), "--quiet",
        "--baseline", str(report), "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"note: --baseline {report} was not used: the policy has no regression gates" in (
        result.stderr
    )


def test_threads_must_be_positive(tmp_path: Path) -> None:
    policy = write(tmp_path, LENIENT)
    result = invoke("run", TARGET, "--policy", str(policy), "--threads", "0")
    assert result.exit_code == 2 and "--threads" in result.output

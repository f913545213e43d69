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
    lines = result.stderr.splitlines()
    assert any(line.startswith("PASS    regression sdar(s) = +0 [0, 0]") for line in lines), lines
    # One line per gate, passed ones included: the Mustache gate is printed whatever its status.
    assert sum("regression" in line for line in lines) == 2
    assert any("regression s[Mustache]" in line for line in lines)
    # The baseline first, as on the command line.
    assert f"baseline {report}, head {report}" in result.stdout


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

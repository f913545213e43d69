"""`sia-audit run` writes every format from one report.json; --format picks some of them."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sia_audit.cli import cli
from sia_audit.errors import UsageError
from sia_audit.formats.registry import chosen_formats
from tests.formats import pdftools

ROOT = Path(__file__).resolve().parents[2]
TARGET = str(ROOT / "examples" / "models" / "eyeglasses_control.pt")
POLICY = """\
probes: {count: 4, seed: 3}
attack: {steps: 2, eta_a: 4/255, batch_size: 4, baselines: [pgd]}
bootstrap: {resamples: 20}
gates:
  clean_accuracy: {min: 0.5}
"""


def test_run_writes_all_four_reports_from_one_report_json(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    out = tmp_path / "rep"
    args = ["run", TARGET, "--policy", str(policy), "--out", str(out), "--quiet"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["report.html", "report.json", "report.pdf", "summary.md"]
    attached = pdftools.attachments(out / "report.pdf", tmp_path / "att")
    assert attached == {"report.json": (out / "report.json").read_bytes()}
    summary = (out / "summary.md").read_text()
    assert "[report.html](report.html)" in summary and "[report.pdf](report.pdf)" in summary
    assert 'id="gallery"' in (out / "report.html").read_text()


def test_unknown_format_fails_before_the_audit(tmp_path: Path) -> None:
    out = tmp_path / "rep"
    args = ["run", TARGET, "--policy", "missing.yaml", "--out", str(out), "--format", "png"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert (
        result.stderr.strip() == "sia-audit: error: --format png: unknown; use json, html, "
        "pdf, md or all"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("given", "names"),
    [
        ((), ["json", "html", "pdf", "md"]),
        (("all",), ["json", "html", "pdf", "md"]),
        (("md", "json"), ["json", "md"]),
        (("pdf,html",), ["html", "pdf"]),
        ((" md , md",), ["md"]),
    ],
)
def test_chosen_formats(given: tuple[str, ...], names: list[str]) -> None:
    assert [f.name for f in chosen_formats(given)] == names


def test_chosen_formats_refuses_unknown_names() -> None:
    with pytest.raises(UsageError, match="--format xml: unknown"):
        chosen_formats(("json,xml",))

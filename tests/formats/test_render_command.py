"""`sia-audit render REPORT.json`: re-renders HTML, PDF and Markdown from a saved report; bad
input is one line and exit 2; a failing render leaves the folder's previous reports alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sia_audit.cli import cli
from sia_audit.formats import registry as report_files
from sia_audit.formats.interface import Format
from tests.formats import pdftools
from tests.formats.conftest import DATA


def invoke(*args: str):
    return CliRunner().invoke(cli, ["render", *args])


def one_error_line(result) -> str:  # noqa: ANN001 - click Result
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sia-audit: error: "), result.stderr
    return lines[0]


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    """The fixed report saved compactly: a re-serialised copy would differ from these bytes."""
    path = tmp_path / "report.json"
    path.write_text(json.dumps(json.loads(DATA.read_text())), encoding="utf-8")
    return path


def test_render_writes_html_pdf_md_and_keeps_report_json(saved: Path, tmp_path: Path) -> None:
    before = saved.read_bytes()
    result = invoke(str(saved))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in saved.parent.iterdir()) == [
        "report.html",
        "report.json",
        "report.pdf",
        "summary.md",
    ]
    assert saved.read_bytes() == before
    attached = pdftools.attachments(saved.parent / "report.pdf", tmp_path / "att")
    assert attached == {"report.json": before}
    assert "[report.json](report.json)" in (saved.parent / "summary.md").read_text()


def test_format_md_renders_only_the_summary(saved: Path, tmp_path: Path) -> None:
    out = tmp_path / "elsewhere"
    assert invoke(str(saved), "--format", "md", "--out", str(out)).exit_code == 0
    assert [p.name for p in out.iterdir()] == ["summary.md"]
    assert "Full reports" not in (out / "summary.md").read_text()  # nothing beside it to link


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("not json {", "not JSON"),
        ("[]", "not a sia-audit report"),
        ('{"schema_version": 2}', "not a sia-audit report of schema 1"),
        ('{"schema_version": 1}', "damaged"),
        ('{"schema_version": 1, "provenance": {}, "gates": []}', "damaged"),
    ],
)
def test_damaged_or_foreign_json_is_one_line_and_writes_nothing(
    tmp_path: Path, content: str, says: str
) -> None:
    path = tmp_path / "report.json"
    path.write_text(content)
    assert says in one_error_line(invoke(str(path)))
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_nan_in_per_probe_values_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    """Not "nan" in the HTML with exit 0: the reader refuses NaN and infinities at load."""
    data: dict[str, Any] = json.loads(DATA.read_text())
    data["probes"]["loss_adversary"][0] = float("nan")
    path = tmp_path / "report.json"
    path.write_text(json.dumps(data))  # json writes NaN unless told not to
    assert "probes.loss_adversary[0] is nan" in one_error_line(invoke(str(path)))
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_a_gallery_image_that_is_not_base64_is_refused(tmp_path: Path) -> None:
    data: dict[str, Any] = json.loads(DATA.read_text())
    data["gallery"][0]["images"]["adversary"] = '"><img src=x onerror=alert(1)>'
    path = tmp_path / "report.json"
    path.write_text(json.dumps(data))
    assert "gallery image is not base64" in one_error_line(invoke(str(path)))


def test_missing_file_and_bad_formats_are_one_line(saved: Path) -> None:
    assert "cannot read" in one_error_line(invoke(str(saved.parent / "nope.json")))
    assert "render writes html, pdf and md" in one_error_line(
        invoke(str(saved), "--format", "json")
    )
    assert "--format docx: unknown" in one_error_line(invoke(str(saved), "--format", "docx"))


def test_a_failing_pdf_render_leaves_previous_reports(
    saved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = saved.parent
    for name in ("report.html", "report.pdf", "summary.md"):
        (folder / name).write_text(f"previous {name}")

    def broken(report) -> bytes:  # noqa: ANN001 - Report
        raise RuntimeError("PDF engine failed")

    monkeypatch.setitem(report_files.FORMATS, "pdf", Format("pdf", "report.pdf", broken))
    result = invoke(str(saved))
    assert result.exit_code == 3  # an unexpected failure: an internal error, one line
    assert "internal error: RuntimeError: PDF engine failed" in result.stderr
    for name in ("report.html", "report.pdf", "summary.md"):
        assert (folder / name).read_text() == f"previous {name}"
    assert sorted(p.name for p in folder.iterdir()) == [
        "report.html",
        "report.json",
        "report.pdf",
        "summary.md",
    ]

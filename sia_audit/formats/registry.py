"""The report formats by name, and the one place that renders and writes them (no torch)."""

from __future__ import annotations

from pathlib import Path

from sia_audit.errors import UsageError
from sia_audit.formats import html, json_report, markdown, pdf
from sia_audit.formats.interface import Format, Report, render_all
from sia_audit.fsutil import atomic_write_files

FORMATS = {
    f.name: f
    for f in (
        Format("json", "report.json", json_report.render),
        Format("html", "report.html", html.render),
        Format("pdf", "report.pdf", pdf.render),
        Format("md", "summary.md", markdown.render),
    )
}


def chosen_formats(names: tuple[str, ...]) -> tuple[Format, ...]:
    """--format values (repeatable, or comma-separated) in FORMATS order; none or "all": all."""
    wanted = {part.strip() for name in names for part in name.split(",") if part.strip()}
    unknown = sorted(wanted - set(FORMATS) - {"all"})
    if unknown:
        raise UsageError(f"--format {', '.join(unknown)}: unknown; use {', '.join(FORMATS)} or all")
    if not wanted or "all" in wanted:
        return tuple(FORMATS.values())
    return tuple(f for f in FORMATS.values() if f.name in wanted)


def write_reports(
    out: Path,
    outcome,  # noqa: ANN001 - RunOutcome
    formats: tuple[Format, ...] = tuple(FORMATS.values()),
) -> None:
    """The chosen formats into `out`: all rendered from one report.json first, then written
    together, so a failing render (say the PDF) leaves the folder's previous reports as they were.
    """
    report: Report = json_report.report_of(outcome, tuple(f.filename for f in formats))
    atomic_write_files(out, render_all(report, formats))

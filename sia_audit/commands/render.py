"""`sia-audit render REPORT.json`: re-render HTML, PDF and Markdown without re-running an audit."""

from __future__ import annotations

from pathlib import Path

import click

from sia_audit.commands.options import format_option
from sia_audit.errors import UsageError
from sia_audit.formats import json_report
from sia_audit.formats.interface import render_all
from sia_audit.formats.registry import FORMATS, chosen_formats
from sia_audit.fsutil import atomic_write_files, check_writable_folder


@click.command()
@click.argument("report_json", metavar="REPORT.json", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Output folder [default: the folder of REPORT.json].",
)
@format_option(
    "Formats to render (repeat, or comma-separate) [default: html, pdf and md].", "html|pdf|md"
)
def render(report_json: Path, out: Path | None, formats: tuple[str, ...]) -> None:
    """Render report.html, report.pdf and summary.md from a saved REPORT.json.

    REPORT.json is never rewritten (the PDF embeds it byte for byte). Exit 0 when the reports
    are written, 2 when REPORT.json cannot be read or is not a sia-audit report.
    """
    chosen = tuple(f for f in chosen_formats(formats) if f.name != "json")
    if not chosen:
        raise UsageError("render writes html, pdf and md from REPORT.json; choose some of them")
    out = report_json.parent if out is None else out
    check_writable_folder(out)
    written = tuple(f.filename for f in chosen)
    beside = (out / FORMATS["json"].filename).resolve() == report_json.resolve()
    linked = (FORMATS["json"].filename, *written) if beside else written
    report = json_report.load(report_json, linked)
    atomic_write_files(out, render_all(report, chosen))
    click.echo(f"sia-audit: rendered {', '.join(written)} in {out}")

"""report.html: one self-contained page (inline CSS, SVG charts, data: images, no network)."""

from __future__ import annotations

from sia_audit.formats import views
from sia_audit.formats.interface import Report
from sia_audit.formats.templating import html_environment


def render_html(view: views.ReportView, for_pdf: bool = False) -> str:
    """The page; `for_pdf` adds what only the archived PDF says (its attachment)."""
    template = html_environment().get_template("report.html.j2")
    return template.render(v=view, c=view.sensitivity.chart, for_pdf=for_pdf)


def render(report: Report) -> bytes:
    return render_html(views.build(report.data, report.files)).encode("utf-8")
